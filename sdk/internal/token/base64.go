package token

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// b64 is the reference decoder: strict (canonical) unpadded base64url.
var b64 = base64.RawURLEncoding.Strict()

// A base64url decoder for token segments, for speed: the payload is about
// 420 characters, and encoding/base64 (one lookup and one check per
// character) costs more than half as much as the HMAC over the whole
// token. This one looks up each character's 6 bits already shifted into
// place and checks eight characters at once. Anything unusual (a
// character outside the alphabet, the final partial group) is left to
// encoding/base64 from the last whole group on, so the result is always
// encoding/base64's: FuzzSegmentDecoder checks it.

// badChar marks a character outside the base64url alphabet.
const badChar = 1 << 31

// b64Shifted[i][c] is the 6-bit value of character c shifted to its place
// (i = 0..3) in a 24-bit group, or badChar.
var b64Shifted = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		for c := range t[i] {
			t[i][c] = badChar
		}
		for v, c := range []byte(alphabet) {
			t[i][c] = uint32(v) << (18 - 6*i)
		}
	}
	return t
}()

// decodeSegment decodes the base64url (unpadded, strict) src into dst and
// returns the length, or ok == false where encoding/base64 fails.
func decodeSegment(dst []byte, src string) (n int, ok bool) {
	t := &b64Shifted
	i := 0
	// Eight characters make six bytes; an 8-byte store writes them (the
	// two extra are overwritten next or lie beyond n).
	for ; i+16 <= len(src) && n+14 <= len(dst); i += 16 {
		s := src[i : i+16]
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		b := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		c := t[0][s[8]] | t[1][s[9]] | t[2][s[10]] | t[3][s[11]]
		d := t[0][s[12]] | t[1][s[13]] | t[2][s[14]] | t[3][s[15]]
		if (a|b|c|d)&badChar != 0 {
			break
		}
		out := dst[n : n+14]
		binary.BigEndian.PutUint64(out, uint64(a)<<40|uint64(b)<<16)
		binary.BigEndian.PutUint64(out[6:], uint64(c)<<40|uint64(d)<<16)
		n += 12
	}
	for ; i+8 <= len(src) && n+8 <= len(dst); i += 8 {
		s := src[i : i+8]
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		b := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		if (a|b)&badChar != 0 {
			break
		}
		binary.BigEndian.PutUint64(dst[n:], uint64(a)<<40|uint64(b)<<16)
		n += 6
	}
	// encoding/base64 skips CR and LF; a token segment has none.
	rest := src[i:]
	if strings.IndexByte(rest, '\n') >= 0 || strings.IndexByte(rest, '\r') >= 0 {
		return n, false
	}
	m, err := b64.Decode(dst[n:], []byte(rest))
	return n + m, err == nil
}
