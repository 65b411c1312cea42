package token

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// This file holds a small JSON decoder for the two objects of a token: the
// header and the claims. It exists for speed (no reflection, no
// allocation: strings are unescaped in place and returned as spans of the
// caller's buffer) and for strictness that encoding/json does not offer
// (duplicate claims, exact types). FuzzClaimsDecoder compares it with
// encoding/json on arbitrary input.

// maxDepth bounds nesting inside unknown claims.
const maxDepth = 32

// maxSafeInt is 2^53-1: the largest integer every JSON implementation
// represents exactly. Time claims outside ±maxSafeInt are rejected.
const maxSafeInt = 1<<53 - 1

// Span is a decoded string: buf[Start:End] after in-place unescaping.
type Span struct{ Start, End int32 }

// Bytes returns the span's bytes within buf, the buffer decoded into.
func (s Span) Bytes(buf []byte) []byte { return buf[s.Start:s.End] }

// Claim bits record, in Claims.Has, which claims a token carried.
const (
	HasIss uint16 = 1 << iota
	HasDest
	HasAud
	HasSub
	HasJti
	HasSid
	HasExp
	HasNbf
	HasIat
	// headerAlg stands for the header's alg, in errors.
	headerAlg uint16 = 1 << 15
)

// Claims are the registered and Shopify claims that verification reads.
// Others are skipped after being checked for well-formed JSON.
type Claims struct {
	Has                           uint16
	Iss, Dest, Aud, Sub, Jti, Sid Span
	Exp, Nbf, Iat                 int64
}

// jsonError describes why a segment is not acceptable JSON. The verifier
// wraps it into ErrMalformed; it never quotes input.
type jsonError struct {
	msg string
	// claim is the claim concerned, empty for syntax errors.
	claim string
}

func (e *jsonError) Error() string {
	if e.claim == "" {
		return e.msg
	}
	return "claim " + e.claim + ": " + e.msg
}

var (
	errSyntax     = &jsonError{msg: "invalid JSON"}
	errNotObject  = &jsonError{msg: "not a JSON object"}
	errTooDeep    = &jsonError{msg: "JSON nested too deeply"}
	errTrailing   = &jsonError{msg: "data after the JSON object"}
	errBadUTF8    = &jsonError{msg: "invalid UTF-8 in a string"}
	errDuplicateA = &jsonError{msg: "duplicate header parameter", claim: "alg"}
)

type decoder struct {
	buf []byte
	pos int
}

func (d *decoder) ws() {
	for d.pos < len(d.buf) {
		// Most JSON in tokens has no white space: one comparison ends it.
		if c := d.buf[d.pos]; c > ' ' || c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return
		}
		d.pos++
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *decoder) peek() byte {
	// Inlined fast path: no white space.
	if d.pos < len(d.buf) && d.buf[d.pos] > ' ' {
		return d.buf[d.pos]
	}
	return d.peekSlow()
}

func (d *decoder) peekSlow() byte {
	d.ws()
	if d.pos >= len(d.buf) {
		return 0
	}
	return d.buf[d.pos]
}

// str decodes the string at d.pos in place. With strict set, invalid UTF-8
// is an error (claims we read); without, it is kept as is (encoding/json
// would replace it, which matters only for claims we skip).
func (d *decoder) str(strict bool) (Span, error) {
	if d.peek() != '"' {
		return Span{}, errSyntax
	}
	return d.strAt(strict)
}

// strAt is str with d.pos already at the opening quote.
func (d *decoder) strAt(strict bool) (Span, error) {
	buf := d.buf
	start := d.pos + 1
	// Most strings have no escape: one scan.
	r := plainRun(buf, start)
	if r < len(buf) && buf[r] == '"' {
		d.pos = r + 1
		return Span{int32(start), int32(r)}, nil
	}
	w := r
	// Shopify escapes slashes: its URLs start https:\/\/, unescaped at
	// once by moving "https:" two places on (the span starts after the
	// two bytes freed) rather than the rest of the URL two places back.
	if r == start+6 && len(buf) >= start+10 && string(buf[start:start+10]) == `https:\/\/` {
		copy(buf[start+2:start+10], "https://")
		start += 2
		r, w = moveRun(buf, start+8, start+8)
	}
	// From here, r is at a character that ends a run of plain ones, and
	// the string so far is unescaped in buf[start:w].
	for {
		if r >= len(buf) {
			return Span{}, errSyntax
		}
		switch c := buf[r]; {
		case c == '"':
			d.pos = r + 1
			return Span{int32(start), int32(w)}, nil
		case c == '\\':
			var err error
			if r, w, err = unescape(buf, r, w); err != nil {
				return Span{}, err
			}
		case c < 0x20:
			return Span{}, errSyntax
		default: // c >= utf8.RuneSelf
			_, size := utf8.DecodeRune(buf[r:])
			if size == 1 && strict {
				return Span{}, errBadUTF8
			}
			copy(buf[w:], buf[r:r+size])
			w += size
			r += size
		}
		r, w = moveRun(buf, r, w)
	}
}

// moveRun finds the run of plain characters at r and moves it back to w
// (a no-op while w == r, before the first escape), returning the
// positions after it.
func moveRun(buf []byte, r, w int) (int, int) {
	e := plainRun(buf, r)
	if w != r {
		copy(buf[w:], buf[r:e])
	}
	return e, w + e - r
}

// unescape decodes the escape at buf[r] ('\\') into buf[w:], returning
// the positions after both.
func unescape(buf []byte, r, w int) (int, int, error) {
	if r+1 >= len(buf) {
		return r, w, errSyntax
	}
	esc := buf[r+1]
	r += 2
	var b byte
	switch esc {
	case '"', '\\', '/':
		b = esc
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		ru, ok := hex4(buf, r)
		if !ok {
			return r, w, errSyntax
		}
		r += 4
		if utf16IsSurrogate(ru) {
			lo, ok := rune(-1), false
			if r+6 <= len(buf) && buf[r] == '\\' && buf[r+1] == 'u' {
				lo, ok = hex4(buf, r+2)
			}
			if ru < 0xDC00 && ok && lo >= 0xDC00 && lo < 0xE000 {
				ru = 0x10000 + (ru-0xD800)<<10 + (lo - 0xDC00)
				r += 6
			} else {
				ru = utf8.RuneError
			}
		}
		// A 6-byte escape encodes at most 3 bytes, a 12-byte pair 4: w
		// stays behind r.
		return r, w + utf8.EncodeRune(buf[w:], ru), nil
	default:
		return r, w, errSyntax
	}
	buf[w] = b
	return r, w + 1, nil
}

// plainRun returns the index of the first byte at or after i that ends a
// run of plain string characters (printable ASCII other than '"' and
// '\\'), or len(buf): string claims are mostly long runs of plain
// characters (sid, jti, sig, URLs). It tests 32 bytes at a time with
// plainRunAVX2 where the CPU has AVX2 and 32 bytes are left, eight at a
// time otherwise (plainRunWords).
func plainRun(buf []byte, i int) int {
	if haveAVX2 && len(buf)-i >= 32 {
		return i + plainRunAVX2((*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(buf)), i)), len(buf)-i)
	}
	return plainRunWords(buf, i)
}

// plainRunWords is plainRun eight bytes at a time.
func plainRunWords(buf []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	// Words are read through a pointer, without bounds checks: i+8 <=
	// len(buf) each time.
	p := unsafe.Pointer(unsafe.SliceData(buf))
	for ; i+8 <= len(buf); i += 8 {
		x := binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(p, i))[:])
		q := x ^ ('"' * ones)
		bs := x ^ ('\\' * ones)
		// The high bit of a byte of special is set if that byte of x is
		// '"', '\\', < 0x20 or >= 0x80 (or, after a true hit, possibly
		// a later byte: only "any" is exact, which is all we need).
		special := ((q - ones) | (bs - ones) | (x - 0x20*ones) | x) & highs
		if special != 0 {
			// The lowest flagged byte is exact (borrows only carry
			// upwards from a true hit).
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(buf); i++ {
		if c := buf[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

func utf16IsSurrogate(r rune) bool { return r >= 0xD800 && r < 0xE000 }

func hex4(buf []byte, i int) (rune, bool) {
	if i+4 > len(buf) {
		return 0, false
	}
	var r rune
	for _, c := range buf[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number scans a JSON number and reports whether it was an integer
// (no fraction, no exponent) and, if so, its value when within ±maxSafeInt.
func (d *decoder) number() (v int64, integer, inRange bool, err error) {
	buf := d.buf
	i := d.pos
	neg := false
	if i < len(buf) && buf[i] == '-' {
		neg = true
		i++
	}
	if i >= len(buf) || buf[i] < '0' || buf[i] > '9' {
		return 0, false, false, errSyntax
	}
	inRange = true
	if buf[i] == '0' {
		i++
	} else {
		for ; i < len(buf); i++ {
			digit := buf[i] - '0'
			if digit > 9 {
				break
			}
			if v <= maxSafeInt {
				v = v*10 + int64(digit)
			}
		}
		if v > maxSafeInt {
			inRange = false
		}
	}
	integer = true
	if i < len(buf) && buf[i] == '.' {
		integer = false
		i++
		if i >= len(buf) || buf[i] < '0' || buf[i] > '9' {
			return 0, false, false, errSyntax
		}
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		integer = false
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if i >= len(buf) || buf[i] < '0' || buf[i] > '9' {
			return 0, false, false, errSyntax
		}
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
	}
	d.pos = i
	if neg {
		v = -v
	}
	return v, integer, inRange, nil
}

func (d *decoder) literal(lit string) error {
	if len(d.buf)-d.pos < len(lit) || string(d.buf[d.pos:d.pos+len(lit)]) != lit {
		return errSyntax
	}
	d.pos += len(lit)
	return nil
}

// skip checks and skips any JSON value.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch d.peek() {
	case '"':
		_, err := d.str(false)
		return err
	case '{':
		d.pos++
		if d.peek() == '}' {
			d.pos++
			return nil
		}
		for {
			if _, err := d.str(false); err != nil {
				return err
			}
			if d.peek() != ':' {
				return errSyntax
			}
			d.pos++
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.pos++
			case '}':
				d.pos++
				return nil
			default:
				return errSyntax
			}
		}
	case '[':
		d.pos++
		if d.peek() == ']' {
			d.pos++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return errSyntax
			}
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		_, _, _, err := d.number()
		return err
	}
}

// member advances to the i-th member of the top-level object (i counts
// from 0), returning its key with the decoder positioned at its value, or
// ok == false after the closing brace. The caller must consume the value
// before asking for the next member.
func (d *decoder) member(i int) (key []byte, ok bool, err error) {
	if i == 0 {
		if d.peek() != '{' {
			return nil, false, errNotObject
		}
		d.pos++
	}
	c := d.peek()
	if c == '}' {
		d.pos++
		// Only white space may follow (peek's 0 would also match a NUL).
		if d.ws(); d.pos != len(d.buf) {
			return nil, false, errTrailing
		}
		return nil, false, nil
	}
	if i > 0 {
		if c != ',' {
			return nil, false, errSyntax
		}
		d.pos++
	}
	key, err = d.key()
	if err != nil {
		return nil, false, err
	}
	if d.peek() != ':' {
		return nil, false, errSyntax
	}
	d.pos++
	d.ws()
	return key, true, nil
}

// key decodes an object key at d.pos. Keys are short and plain: a byte
// loop finds their end sooner than str's scanning; anything else goes to
// str.
func (d *decoder) key() ([]byte, error) {
	buf := d.buf
	if d.pos < len(buf) && buf[d.pos] == '"' {
		start := d.pos + 1
		for i := start; i < len(buf) && i < start+16; i++ {
			c := buf[i]
			if c == '"' {
				d.pos = i + 1
				return buf[start:i], nil
			}
			if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
		}
	}
	k, err := d.str(false)
	if err != nil {
		return nil, err
	}
	return k.Bytes(buf), nil
}

// stringClaim decodes a string member, or reports a wrong type.
func (d *decoder) stringClaim(bit uint16) (Span, error) {
	if d.peek() != '"' {
		if d.skip(1) != nil {
			return Span{}, errSyntax
		}
		return Span{}, &jsonError{msg: "must be a string", claim: claimName(bit)}
	}
	return d.strAt(true)
}

// ParseClaims fills c from the claims JSON in buf, unescaping strings in
// place. The common case (Shopify's keys in Shopify's order, string
// values right after the colon) is handled inline; anything else by the
// general decoder, from where the fast path stopped.
func ParseClaims(buf []byte, c *Claims) error {
	d := decoder{buf: buf}
	for i := 0; ; i++ {
		var bit uint16
		fast := false
		if p := d.pos; i < len(shopifyOrder) && p+9 <= len(buf) {
			if k := &shopifyOrder[i]; buf[p] == k.open && binary.LittleEndian.Uint64(buf[p+1:])&k.mask == k.key {
				d.pos, bit, fast = p+k.size, k.bit, true
			}
		}
		if !fast {
			var ok bool
			var err error
			if bit, ok, err = d.claimKey(i); err != nil || !ok {
				return err
			}
		}
		if bit == 0 {
			if err := d.skip(1); err != nil {
				return err
			}
			continue
		}
		if c.Has&bit != 0 {
			return &jsonError{msg: "duplicate claim", claim: claimName(bit)}
		}
		c.Has |= bit
		if bit&(HasExp|HasNbf|HasIat) != 0 {
			v, err := d.timeClaim(bit)
			if err != nil {
				return err
			}
			switch bit {
			case HasExp:
				c.Exp = v
			case HasNbf:
				c.Nbf = v
			default:
				c.Iat = v
			}
			continue
		}
		var sp Span
		var err error
		if d.pos < len(buf) && buf[d.pos] == '"' {
			sp, err = d.strAt(true)
		} else {
			sp, err = d.stringClaim(bit)
		}
		if err != nil {
			return err
		}
		switch bit {
		case HasIss:
			c.Iss = sp
		case HasDest:
			c.Dest = sp
		case HasAud:
			c.Aud = sp
		case HasSub:
			c.Sub = sp
		case HasJti:
			c.Jti = sp
		default:
			c.Sid = sp
		}
	}
}

// The keys of the claims ParseClaims reads, written plainly with their
// quotes and colon, as little-endian numbers: "iss": is 6 bytes, "dest":
// 7, so one 8-byte load recognises any of them.
const (
	keyIss  = '"' | 'i'<<8 | 's'<<16 | 's'<<24 | '"'<<32 | ':'<<40
	keyAud  = '"' | 'a'<<8 | 'u'<<16 | 'd'<<24 | '"'<<32 | ':'<<40
	keySub  = '"' | 's'<<8 | 'u'<<16 | 'b'<<24 | '"'<<32 | ':'<<40
	keyJti  = '"' | 'j'<<8 | 't'<<16 | 'i'<<24 | '"'<<32 | ':'<<40
	keySid  = '"' | 's'<<8 | 'i'<<16 | 'd'<<24 | '"'<<32 | ':'<<40
	keyExp  = '"' | 'e'<<8 | 'x'<<16 | 'p'<<24 | '"'<<32 | ':'<<40
	keyNbf  = '"' | 'n'<<8 | 'b'<<16 | 'f'<<24 | '"'<<32 | ':'<<40
	keyIat  = '"' | 'i'<<8 | 'a'<<16 | 't'<<24 | '"'<<32 | ':'<<40
	keyDest = '"' | 'd'<<8 | 'e'<<16 | 's'<<24 | 't'<<32 | '"'<<40 | ':'<<48
	keySig  = '"' | 's'<<8 | 'i'<<16 | 'g'<<24 | '"'<<32 | ':'<<40
	mask6   = 1<<48 - 1
	mask7   = 1<<56 - 1
)

// shopifyOrder is the order of the claims in the tokens Shopify issues:
// the i-th member is first compared with the i-th key here (one
// comparison, which the branch predictor learns), then with all of them.
// sig is one ParseClaims skips (bit 0).
var shopifyOrder = [...]struct {
	open      byte // '{' or ','
	key, mask uint64
	bit       uint16
	size      int // of the brace or comma, the quoted key and the colon
}{
	{'{', keyIss, mask6, HasIss, 7}, {',', keyDest, mask7, HasDest, 8}, {',', keyAud, mask6, HasAud, 7},
	{',', keySub, mask6, HasSub, 7}, {',', keyExp, mask6, HasExp, 7}, {',', keyNbf, mask6, HasNbf, 7},
	{',', keyIat, mask6, HasIat, 7}, {',', keyJti, mask6, HasJti, 7}, {',', keySid, mask6, HasSid, 7},
	{',', keySig, mask6, 0, 7},
}

// claimKey is member for ParseClaims, for members out of Shopify's order:
// it returns the bit of the claim whose value follows, or 0 for a member
// ParseClaims skips. A known key right after the brace or comma is still
// recognised in one 8-byte load; anything else (white space, escapes,
// other keys, the end) goes through member.
func (d *decoder) claimKey(i int) (bit uint16, ok bool, err error) {
	buf, p := d.buf, d.pos
	open := byte(',')
	if i == 0 {
		open = '{'
	}
	if p+9 <= len(buf) && buf[p] == open {
		w := binary.LittleEndian.Uint64(buf[p+1:])
		if w&mask7 == keyDest {
			d.pos = p + 8
			return HasDest, true, nil
		}
		switch w & mask6 {
		case keyIss:
			bit = HasIss
		case keyAud:
			bit = HasAud
		case keySub:
			bit = HasSub
		case keyJti:
			bit = HasJti
		case keySid:
			bit = HasSid
		case keyExp:
			bit = HasExp
		case keyNbf:
			bit = HasNbf
		case keyIat:
			bit = HasIat
		}
		if bit != 0 {
			d.pos = p + 7
			return bit, true, nil
		}
	}
	key, ok, err := d.member(i)
	if err != nil || !ok {
		return 0, ok, err
	}
	switch string(key) {
	case "iss":
		return HasIss, true, nil
	case "dest":
		return HasDest, true, nil
	case "aud":
		return HasAud, true, nil
	case "sub":
		return HasSub, true, nil
	case "jti":
		return HasJti, true, nil
	case "sid":
		return HasSid, true, nil
	case "exp":
		return HasExp, true, nil
	case "nbf":
		return HasNbf, true, nil
	case "iat":
		return HasIat, true, nil
	}
	return 0, true, nil
}

// timeClaim decodes a NumericDate: whole seconds within ±2^53.
func (d *decoder) timeClaim(bit uint16) (int64, error) {
	// Fast path: a positive integer of 8 to 15 digits (every time claim
	// from 1973 to the year 33,000), the first eight converted at once,
	// followed by neither a digit nor a fraction or exponent.
	buf, p := d.buf, d.pos
	if p+16 < len(buf) && buf[p] != '0' {
		if w := binary.LittleEndian.Uint64(buf[p:]); EightDigits(w) {
			v := int64(EightDigitsValue(w))
			q := p + 8
			for ; q < p+15 && buf[q]-'0' <= 9; q++ {
				v = v*10 + int64(buf[q]-'0')
			}
			if c := buf[q]; c-'0' > 9 && c != '.' && c != 'e' && c != 'E' {
				d.pos = q
				return v, nil
			}
		}
	}
	c0 := d.peek()
	if c0 != '-' && (c0 < '0' || c0 > '9') {
		if d.skip(1) != nil {
			return 0, errSyntax
		}
		return 0, &jsonError{msg: "must be a number of seconds", claim: claimName(bit)}
	}
	v, integer, inRange, err := d.number()
	switch {
	case err != nil:
		return 0, err
	case !integer:
		return 0, &jsonError{msg: "must be a whole number of seconds", claim: claimName(bit)}
	case !inRange:
		return 0, &jsonError{msg: "out of range", claim: claimName(bit)}
	}
	return v, nil
}

// EightDigits reports whether each byte of w is an ASCII digit (the
// claims' times here, and the sdk's ID hints).
func EightDigits(w uint64) bool {
	const ones = 0x0101010101010101
	// The high nibble of each byte is 3, and adding 6 to each byte (which
	// then carries into no other) keeps it 3: 0x30 to 0x39.
	return w&(0xf0*ones) == 0x30*ones && (w+6*ones)&(0xf0*ones) == 0x30*ones
}

// EightDigitsValue is the number that the eight ASCII digits of w spell,
// the first in its lowest byte: pairs, then quadruples, then the whole,
// each step one multiplication.
func EightDigitsValue(w uint64) uint32 {
	w = (w & 0x0f0f0f0f0f0f0f0f) * (10<<8 + 1) >> 8
	w = (w & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	return uint32((w & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32)
}

func claimName(bit uint16) string {
	switch bit {
	case HasIss:
		return "iss"
	case HasDest:
		return "dest"
	case HasAud:
		return "aud"
	case HasSub:
		return "sub"
	case HasJti:
		return "jti"
	case HasSid:
		return "sid"
	case HasExp:
		return "exp"
	case HasNbf:
		return "nbf"
	case HasIat:
		return "iat"
	case headerAlg:
		return "alg"
	}
	return ""
}
