package token

import (
	"encoding/base64"
	"encoding/binary"
	"unsafe"
)

// b64 is the reference decoder: strict (canonical) unpadded base64url.
var b64 = base64.RawURLEncoding.Strict()

// A base64url decoder for token segments, for speed: the payload is about
// 530 characters, and encoding/base64 (one lookup, one check and a shift
// per character, then a byte swap per group) costs half as much as the
// HMAC over the whole token. This one looks each character up in a table
// of its bits already in place in the group's little-endian bytes, so
// that four lookups OR-ed together are three decoded bytes ready to
// store, and checks the alphabet once for the whole segment (a character
// outside it sets a bit that survives the ORs). The result is
// encoding/base64's strict RawURLEncoding (FuzzSegmentDecoder checks it),
// except that line breaks, which encoding/base64 skips, are refused.

// badChar marks a character outside the base64url alphabet.
const badChar = 1 << 31

// b64LE[k][c] is the 6-bit value of character c at place k (0..3) of a
// 4-character group, as its bits fall in the group's 3 bytes read as a
// little-endian number; or badChar.
var b64LE = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for k := range t {
		for c := range t[k] {
			t[k][c] = badChar
		}
		for v, c := range []byte(alphabet) {
			be := uint32(v) << (18 - 6*k) // in the big-endian 24-bit group
			t[k][c] = be>>16 | be&0xff00 | (be&0xff)<<16
		}
	}
	return t
}()

// b64Tables points at b64LE: read through a variable, the table's address
// sits in a register and each of the four lookups is one instruction.
var b64Tables = &b64LE

// decodeSegment decodes the strict unpadded base64url src into dst and
// returns the length, or ok == false where encoding/base64 fails, where
// src has a line break, and where dst is shorter than
// b64.DecodedLen(len(src)).
func decodeSegment(dst []byte, src string) (int, bool) {
	return decodeSegmentWith(dst, src, haveAVX2)
}

// decodeSegmentWith is decodeSegment, with decodeAVX2 for the 32-character
// groups that leave room for its stores where simd (tests run both).
func decodeSegmentWith(dst []byte, src string, simd bool) (int, bool) {
	if b64.DecodedLen(len(src)) > len(dst) {
		return 0, false
	}
	in := unsafe.Pointer(unsafe.StringData(src))
	out := unsafe.Pointer(unsafe.SliceData(dst))
	var bad uint32
	i, n := 0, 0 // characters read, bytes written
	if simd && len(src) >= 32 && len(dst) >= 32 {
		// Each group stores 32 bytes, 8 past its 24.
		groups := min(len(src)/32, (len(dst)-8)/24)
		if decodeAVX2((*byte)(out), (*byte)(in), groups) {
			bad = badChar
		}
		i, n = groups*32, groups*24
	}
	t := b64Tables
	// 16 characters make 12 bytes. The loop reads and writes through
	// pointers, without bounds checks: i+16*blocks <= len(src), and
	// n+12*blocks <= b64.DecodedLen(len(src)) <= len(dst), checked above.
	// The offsets are added inside the loop, so that no pointer is formed
	// one past the end of src or dst (checkptr, under -race, refuses one).
	blocks := (len(src) - i) / 16
	for k := range blocks {
		s := (*[16]byte)(unsafe.Add(in, i+16*k))
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		b := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		c := t[0][s[8]] | t[1][s[9]] | t[2][s[10]] | t[3][s[11]]
		d := t[0][s[12]] | t[1][s[13]] | t[2][s[14]] | t[3][s[15]]
		bad |= a | b | c | d
		o := (*[12]byte)(unsafe.Add(out, n+12*k))
		binary.LittleEndian.PutUint64(o[0:8], uint64(a)|uint64(b)<<24|uint64(c)<<48)
		binary.LittleEndian.PutUint32(o[8:12], c>>16|d<<8)
	}
	i, n = i+blocks*16, n+blocks*12
	for ; i+4 <= len(src); i += 4 {
		s := src[i : i+4]
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		bad |= a
		if n+4 <= len(dst) {
			binary.LittleEndian.PutUint32(dst[n:], a)
		} else {
			dst[n], dst[n+1], dst[n+2] = byte(a), byte(a>>8), byte(a>>16)
		}
		n += 3
	}
	// The last, partial group: its unused low bits must be zero (strict).
	switch s := src[i:]; len(s) {
	case 1:
		return n, false
	case 2:
		a := t[0][s[0]] | t[1][s[1]]
		if a&0xff00 != 0 { // a second byte would hold the unused bits
			return n, false
		}
		bad |= a
		dst[n] = byte(a)
		n++
	case 3:
		a := t[0][s[0]] | t[1][s[1]] | t[2][s[2]]
		if a&0xff0000 != 0 { // a third byte would hold the unused bits
			return n, false
		}
		bad |= a
		dst[n], dst[n+1] = byte(a), byte(a>>8)
		n += 2
	}
	return n, bad&badChar == 0
}
