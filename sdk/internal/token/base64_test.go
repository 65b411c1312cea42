package token

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzSegmentDecoder: decodeSegment agrees with encoding/base64's strict
// RawURLEncoding on any input, except that it also refuses line breaks,
// which encoding/base64 skips.
func FuzzSegmentDecoder(f *testing.F) {
	for _, s := range []string{
		"", "A", "AA", "AAA", "AAAA", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
		base64.RawURLEncoding.EncodeToString([]byte(seedAdmin)),
		"eyJ\nhbGc", "eyJhbGc=", "eyJhbGci+/", "AB", "AE", "AAB", "AAE",
		strings.Repeat("_-", 40) + "A", "\xff\xfe\x00AAAAAAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		want, werr := b64.DecodeString(src)
		if werr == nil && strings.ContainsAny(src, "\r\n") {
			werr = errors.New("line break")
		}
		dst := make([]byte, len(src)) // room for the 8-byte stores
		n, ok := decodeSegment(dst, src)
		if ok != (werr == nil) {
			t.Fatalf("%q: ok %v, encoding/base64 error %v", src, ok, werr)
		}
		if ok && !bytes.Equal(dst[:n], want) {
			t.Fatalf("%q: decoded %x, encoding/base64 %x", src, dst[:n], want)
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
		dst := make([]byte, len(c.in)+8)
		if _, ok := decodeSegment(dst, c.in); ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.in, ok, c.ok)
		}
	}
}

// A destination too short for the decoded bytes is a refusal, never an
// overrun, at every length around the store widths.
func TestSegmentDecoderShortDestination(t *testing.T) {
	for n := 0; n <= 40; n++ {
		src := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n))
		for size := 0; size <= n; size++ {
			dst := make([]byte, size)
			got, ok := decodeSegment(dst, src)
			if ok != (size == n) || ok && !bytes.Equal(dst[:got], bytes.Repeat([]byte{0xa5}, n)) {
				t.Fatalf("%d bytes into %d: %d, %v", n, size, got, ok)
			}
		}
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
	b.Run("impl=encoding-base64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			b64.Decode(dst, []byte(src))
		}
	})
}
