package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

// decoders are decodeSegment's variants this machine runs: in Go only,
// and with decodeAVX2 where the CPU has AVX2.
func decoders() []bool {
	if haveAVX2 {
		return []bool{false, true}
	}
	return []bool{false}
}

// FuzzSegmentDecoder: decodeSegment agrees with encoding/base64's strict
// RawURLEncoding on any input, except that it also refuses line breaks,
// which encoding/base64 skips; with and without decodeAVX2.
func FuzzSegmentDecoder(f *testing.F) {
	for _, s := range []string{
		"", "A", "AA", "AAA", "AAAA", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
		base64.RawURLEncoding.EncodeToString([]byte(seedAdmin)),
		"eyJ\nhbGc", "eyJhbGc=", "eyJhbGci+/", "AB", "AE", "AAB", "AAE",
		strings.Repeat("_-", 40) + "A", "\xff\xfe\x00AAAAAAAA",
		strings.Repeat("A", 31) + "\x80" + strings.Repeat("A", 32), strings.Repeat("zZ09-_aA", 12),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		want, werr := b64.DecodeString(src)
		if werr == nil && strings.ContainsAny(src, "\r\n") {
			werr = errors.New("line break")
		}
		for _, simd := range decoders() {
			// Exactly the decoded length (the stores must fit it), and
			// the room a caller's buffer has.
			for _, size := range []int{len(want), len(src)} {
				dst := make([]byte, size)
				n, ok := decodeSegmentWith(dst, src, simd)
				if ok != (werr == nil) {
					t.Fatalf("%q (avx2 %v, %d bytes): ok %v, encoding/base64 error %v", src, simd, size, ok, werr)
				}
				if ok && !bytes.Equal(dst[:n], want) {
					t.Fatalf("%q (avx2 %v, %d bytes): decoded %x, encoding/base64 %x", src, simd, size, dst[:n], want)
				}
			}
		}
	})
}

func TestSegmentDecoderEdges(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", true},
		{"AB", false}, // non-zero trailing bits: strict rejects
		{"AA", true},  // one byte
		{"A", false},  // impossible length
		{"AAAA=", false},
		{"AAAAAAA\x00", false},
		{"AAAAAAAAAAAAAAAAAAAAAAAA\nAAAAAAAA", false}, // a line break, which encoding/base64 skips
		{"AAAAAAAAAAAAAAA.", false},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xff", false},
	} {
		for _, simd := range decoders() {
			dst := make([]byte, len(c.in)+8)
			if _, ok := decodeSegmentWith(dst, c.in, simd); ok != c.ok {
				t.Errorf("%q (avx2 %v): ok %v, want %v", c.in, simd, ok, c.ok)
			}
		}
	}
}

// A destination too short for the decoded bytes is a refusal, never an
// overrun, at every length around the store widths.
func TestSegmentDecoderShortDestination(t *testing.T) {
	for _, simd := range decoders() {
		for n := 0; n <= 100; n++ {
			src := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n))
			for size := 0; size <= n; size++ {
				// The bytes after dst are guarded: a store past it would
				// change them.
				buf := bytes.Repeat([]byte{0x5a}, size+32)
				dst := buf[:size:size]
				got, ok := decodeSegmentWith(dst, src, simd)
				if ok != (size == n) || ok && !bytes.Equal(dst[:got], bytes.Repeat([]byte{0xa5}, n)) {
					t.Fatalf("avx2 %v: %d bytes into %d: %d, %v", simd, n, size, got, ok)
				}
				if !bytes.Equal(buf[size:], bytes.Repeat([]byte{0x5a}, 32)) {
					t.Fatalf("avx2 %v: %d bytes into %d: wrote past the destination", simd, n, size)
				}
			}
		}
	}
}

// TestAVX2EveryCharacter: each of the 256 byte values at each of a
// block's 32 places, among valid characters, is refused by decodeAVX2
// exactly when it is not base64url, and otherwise decodes as
// encoding/base64 decodes it; with all 64 characters at every place too.
func TestAVX2EveryCharacter(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	check := func(block []byte) {
		t.Helper()
		var dst [32]byte
		bad := decodeAVX2(&dst[0], &block[0], 1)
		want, err := b64.DecodeString(string(block))
		if bytes.ContainsAny(block, "\r\n") {
			err = errors.New("line break") // encoding/base64 skips them
		}
		if bad != (err != nil) {
			t.Fatalf("%q: bad %v, encoding/base64 error %v", block, bad, err)
		}
		if !bad && !bytes.Equal(dst[:24], want) {
			t.Fatalf("%q: decoded %x, encoding/base64 %x", block, dst[:24], want)
		}
	}
	block := []byte(alphabet[7:39])
	for at := range block {
		for c := range 256 {
			b := slices.Clone(block)
			b[at] = byte(c)
			check(b)
		}
	}
	for shift := range alphabet {
		b := make([]byte, 32)
		for i := range b {
			b[i] = alphabet[(shift+i)%len(alphabet)]
		}
		check(b)
	}
}

func BenchmarkSegmentDecoder(b *testing.B) {
	src := base64.RawURLEncoding.EncodeToString([]byte(seedAdmin))
	dst := make([]byte, len(src))
	b.Run("impl=possession", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			decodeSegment(dst, src)
		}
	})
	b.Run("impl=possession-go", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			decodeSegmentWith(dst, src, false)
		}
	})
	b.Run("impl=encoding-base64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			b64.Decode(dst, []byte(src))
		}
	})
}
