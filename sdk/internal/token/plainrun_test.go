package token

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// plainRunByte is plainRun's definition, a byte at a time.
func plainRunByte(buf []byte, i int) int {
	for ; i < len(buf); i++ {
		if c := buf[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// checkPlainRun holds plainRun's variants (words, and 32 bytes at a time
// where the CPU has AVX2) on buf from i to plainRunByte.
func checkPlainRun(t *testing.T, buf []byte, i int) {
	t.Helper()
	want := plainRunByte(buf, i)
	if got := plainRunWords(buf, i); got != want {
		t.Fatalf("plainRunWords(%q, %d) = %d, want %d", buf, i, got, want)
	}
	if got := plainRun(buf, i); got != want {
		t.Fatalf("plainRun(%q, %d) = %d, want %d", buf, i, got, want)
	}
	if haveAVX2 && len(buf)-i >= 32 {
		if got := i + plainRunAVX2(&buf[i], len(buf)-i); got != want {
			t.Fatalf("plainRunAVX2(%q[%d:]) = %d, want %d", buf, i, got-i, want-i)
		}
	}
}

// TestPlainRunEveryByte: each of the 256 byte values at each place of
// buffers of 0 to 69 plain bytes and around 96, 128 and 160 (for the
// AVX2 scan: whole blocks, and an overlapping last block), from starts at
// and around word and block ends; and two specials, so that the first one
// counts.
func TestPlainRunEveryByte(t *testing.T) {
	plain := []byte(strings.Repeat("https:/shop-7.myshopify.com/admin?0123456789", 4)[:160])
	sizes := []int{95, 96, 97, 127, 128, 129, 159, 160}
	for n := range 70 {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		buf := make([]byte, n)
		for at := range n {
			for c := range 256 {
				copy(buf, plain)
				buf[at] = byte(c)
				for _, i := range []int{0, 7, 31, 32, 63, 64, 127, 128, at, at + 1} {
					if i <= n {
						checkPlainRun(t, buf, i)
					}
				}
				if at+1 < n {
					buf[n-1] = '"'
					checkPlainRun(t, buf, 0)
					checkPlainRun(t, buf, at+1)
				}
			}
		}
		copy(buf, plain)
		for i := 0; i <= n; i++ {
			checkPlainRun(t, buf, i)
		}
	}
}

// FuzzPlainRun: plainRun's variants agree with plainRunByte on any input
// and start.
func FuzzPlainRun(f *testing.F) {
	f.Add([]byte(`{"iss":"https:\/\/shop.myshopify.com\/admin","dest":"x"}`), uint8(8))
	f.Add([]byte(strings.Repeat("a", 40)+"\x80"+strings.Repeat("b", 40)), uint8(3))
	f.Add([]byte(strings.Repeat("z", 63)+"\\"), uint8(31))
	f.Fuzz(func(t *testing.T, buf []byte, start uint8) {
		i := min(int(start), len(buf))
		checkPlainRun(t, buf, i)
	})
}
