package token

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// SigLen is the length of an HS256 signature segment: 32 bytes in
// unpadded base64url.
const SigLen = 43

// MaxHeader bounds the decoded header, whatever the token's size limit:
// a header is a few dozen bytes.
const MaxHeader = 3072

// Token is a compact JWS taken apart by Parse.
type Token struct {
	// SigningInput is the header and payload segments with the dot
	// between them, the bytes the signature signs: a view of the token.
	SigningInput string
	// Payload is the decoded payload, within the buffer given to Parse.
	Payload []byte
	// Sig is the decoded signature.
	Sig [sha256.Size]byte

	// What HMAC.VerifyToken reuses: the HMAC Parse was given, the prefix
	// it looked up, whether the header is the standard one.
	parsedBy *HMAC
	prefix   prefixRef
	standard bool
}

// Kind classifies an Error.
type Kind uint8

const (
	// Malformed: not three segments, a segment that is not strict
	// base64url, a header that is not a JSON object or has crit, a
	// signature that is not 32 bytes long.
	Malformed Kind = iota + 1
	// BearerPrefix: the token starts with "Bearer " (an Authorization
	// header's value); malformed too.
	BearerPrefix
	// Algorithm: the header's alg is missing or not HS256.
	Algorithm
)

// Error says why Parse refused a token. Nothing in it is token content:
// an alg other than HS256 is not kept (an attacker's text, and a copy
// would cost an allocation per refused token).
type Error struct {
	Kind Kind
	// HasAlg: the header has an alg (when Kind is Algorithm).
	HasAlg bool
	// static numbers the errors without content (1 to NumStatic-1), which
	// callers may wrap once for all (see Static).
	static int
	msg    string
	err    error // a *jsonError, for a header that is not acceptable JSON
}

func (e *Error) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// Unwrap returns the JSON error of a header, or nil.
func (e *Error) Unwrap() error { return e.err }

// Static returns e's number among the errors without content, or 0: a
// caller that wraps errors can wrap those once, in an array of
// NumStatic, so that a flood of garbage tokens costs no allocation.
func (e *Error) Static() int { return e.static }

// StaticError returns static error number n (1 <= n < NumStatic).
func StaticError(n int) *Error { return &statics[n] }

// The errors without content.
const (
	nBearerPrefix = iota + 1
	nSegments
	nMoreSegments
	nLineBreak
	nEmptySegment
	nHeaderEncoding
	nPayloadEncoding
	nPayloadSize
	nHeaderSize
	nSigEncoding
	nCrit
	nNoAlg
	nNotHS256
	// NumStatic is one more than the number of errors without content.
	NumStatic
)

var statics = [NumStatic]Error{
	nBearerPrefix:    {static: nBearerPrefix, Kind: BearerPrefix, msg: `the token starts with "Bearer "`},
	nSegments:        {static: nSegments, Kind: Malformed, msg: "not a JWT (want three dot-separated segments)"},
	nMoreSegments:    {static: nMoreSegments, Kind: Malformed, msg: "not a JWT (more than three segments)"},
	nLineBreak:       {static: nLineBreak, Kind: Malformed, msg: "line break inside the token"},
	nEmptySegment:    {static: nEmptySegment, Kind: Malformed, msg: "empty header or payload segment"},
	nHeaderEncoding:  {static: nHeaderEncoding, Kind: Malformed, msg: "header is not base64url"},
	nPayloadEncoding: {static: nPayloadEncoding, Kind: Malformed, msg: "payload is not base64url"},
	nPayloadSize:     {static: nPayloadSize, Kind: Malformed, msg: "payload is longer than the decode buffer"},
	nHeaderSize:      {static: nHeaderSize, Kind: Malformed, msg: "header is longer than the decode buffer"},
	nSigEncoding:     {static: nSigEncoding, Kind: Malformed, msg: "signature is not base64url"},
	nCrit:            {static: nCrit, Kind: Malformed, msg: "header has crit: no JWS extension is supported"},
	nNoAlg:           {static: nNoAlg, Kind: Algorithm},
	nNotHS256:        {static: nNotHS256, Kind: Algorithm, HasAlg: true},
}

var (
	errBearerPrefix   = &statics[nBearerPrefix]
	errSegments       = &statics[nSegments]
	errMoreSegments   = &statics[nMoreSegments]
	errLineBreak      = &statics[nLineBreak]
	errEmptySegment   = &statics[nEmptySegment]
	errHeaderEncoding = &statics[nHeaderEncoding]
	errPayloadEncoded = &statics[nPayloadEncoding]
	errPayloadSize    = &statics[nPayloadSize]
	errHeaderSize     = &statics[nHeaderSize]
	errSigEncoding    = &statics[nSigEncoding]
	errCrit           = &statics[nCrit]
	errNoAlg          = &statics[nNoAlg]
	errNotHS256       = &statics[nNotHS256]
)

// Parse takes a compact JWS apart in one pass, top to bottom: the three
// segments, the header (HS256 only, no crit), the payload's and the
// signature's encodings, the signature's length. It decodes a header other
// than the standard one, then the payload, into buf (a segment that does
// not fit is malformed). It reads no claim and checks no signature.
//
// Given mac, the HMAC that will check the signature (or nil), Parse looks
// up the token's prefix among those mac remembers (mac.VerifyToken then
// reuses it): for a prefix remembered with its decoded payload bytes (a
// token of the same shop verified before), it copies them rather than
// decoding the payload's first 152 characters again. They were decoded
// from the same characters, the prefix being compared whole.
//
// A token with a standard header and a 43-character signature (every
// token Shopify issues) is split without looking for dots: the header is
// compared whole, the signature's dot is at a fixed place, and any other
// dot lies inside the payload or the signature, whose decoding refuses
// it. Errors are reported in the order of the segments, except that an
// alg error waits until the payload's and the signature's encodings are
// known to be sound (a token with garbage in them is malformed, whatever
// its alg), and that the signature's length is checked once alg is known
// to be HS256 (an alg none token has an empty signature).
func Parse(t *Token, token string, buf []byte, mac *HMAC) error {
	*t = Token{}
	// Segments: the header ends at the first dot, the signature starts
	// after the last (any dot between lies in the payload, refused with
	// the payload).
	n := len(token)
	dot1 := len(headerHS256JWT) // == len(headerJWTHS256)
	standard := n > dot1 && token[dot1] == '.' && (token[:dot1] == headerHS256JWT || token[:dot1] == headerJWTHS256)
	if !standard {
		if hasBearerPrefix(token) {
			// Never valid base64url; say what to do instead of what is wrong.
			return errBearerPrefix
		}
		if dot1 = strings.IndexByte(token, '.'); dot1 < 0 {
			return errSegments
		}
	}
	dot2 := n - SigLen - 1
	if dot2 <= dot1 || token[dot2] != '.' {
		if dot2 = strings.LastIndexByte(token, '.'); dot2 == dot1 {
			return errSegments
		}
	}
	hseg, pseg, sseg := token[:dot1], token[dot1+1:dot2], token[dot2+1:]
	if hseg == "" || pseg == "" {
		return errEmptySegment
	}

	// Header, decoded into buf (the payload overwrites it) unless it is
	// the standard one.
	var algErr *Error
	if !standard {
		var err *Error
		if algErr, err = checkHeader(hseg, buf); err != nil {
			return err
		}
	}

	// Payload.
	want := b64.DecodedLen(len(pseg))
	if want > len(buf) {
		return errPayloadSize
	}
	doneChars, doneBytes := 0, 0 // of the payload, decoded already
	if mac != nil {
		t.parsedBy, t.standard = mac, standard
		t.prefix = mac.lookup(token[:dot2])
		if e := t.prefix.entry; standard && e != nil && e.hasDecoded {
			doneBytes = copy(buf, e.decoded[:])
			doneChars = decodedPrefixChars
		}
	}
	if m, ok := decodeSegment(buf[doneBytes:], pseg[doneChars:]); !ok || doneBytes+m != want {
		return segmentError(pseg, errPayloadEncoded)
	}

	// Signature: strict base64url, and 32 bytes long once alg is known
	// to be HS256.
	sigOK := len(sseg) == SigLen
	if sigOK {
		if m, ok := decodeSegment(t.Sig[:], sseg); !ok || m != len(t.Sig) {
			return segmentError(sseg, errSigEncoding)
		}
	} else if !validSegment(sseg) {
		return segmentError(sseg, errSigEncoding)
	}

	if algErr != nil {
		return algErr
	}
	if !sigOK {
		return &Error{Kind: Malformed, msg: fmt.Sprintf("signature segment is %d characters, HS256 needs %d", len(sseg), SigLen)}
	}
	t.SigningInput = token[:dot2]
	t.Payload = buf[:want]
	return nil
}

// checkHeader decodes and reads a header other than the standard one. It
// returns a malformed header's error, or else the alg error (if any) that
// Parse reports once the rest of the token's shape is known.
func checkHeader(seg string, buf []byte) (algErr, err *Error) {
	want := b64.DecodedLen(len(seg))
	if want > MaxHeader {
		return nil, &Error{Kind: Malformed, msg: fmt.Sprintf("header segment is %d characters, limit is %d", len(seg), b64.EncodedLen(MaxHeader))}
	}
	if want > len(buf) {
		return nil, errHeaderSize
	}
	m, ok := decodeSegment(buf, seg)
	if !ok || m != want {
		return nil, segmentError(seg, errHeaderEncoding)
	}
	h, jerr := parseHeader(buf[:m])
	switch {
	case jerr != nil:
		return nil, &Error{Kind: Malformed, msg: "header", err: jerr}
	case h.crit:
		return nil, errCrit
	case h.alg.Start < 0:
		return errNoAlg, nil
	case string(h.alg.Bytes(buf)) != "HS256":
		return errNotHS256, nil
	}
	return nil, nil
}

// segmentError explains why seg did not decode: a dot means the token has
// more than three segments, a line break is refused as such (base64
// decoders skip them), anything else is bad encoding.
func segmentError(seg string, bad *Error) *Error {
	switch {
	case strings.IndexByte(seg, '.') >= 0:
		return errMoreSegments
	case strings.IndexByte(seg, '\n') >= 0 || strings.IndexByte(seg, '\r') >= 0:
		return errLineBreak
	}
	return bad
}

// validSegment reports whether seg is strict unpadded base64url, without
// keeping the bytes: it decodes in chunks of whole 4-character groups,
// which is the same as decoding the whole (only the last group may be
// partial).
func validSegment(seg string) bool {
	var scratch [48 + 16]byte
	for len(seg) > 64 {
		if n, ok := decodeSegment(scratch[:], seg[:64]); !ok || n != 48 {
			return false
		}
		seg = seg[64:]
	}
	n, ok := decodeSegment(scratch[:], seg)
	return ok && n == b64.DecodedLen(len(seg))
}

// hasBearerPrefix reports whether token starts with "Bearer" and a space
// or tab, in any case: an Authorization header's value passed as a token.
func hasBearerPrefix(token string) bool {
	const scheme = "bearer"
	return len(token) > len(scheme) && strings.EqualFold(token[:len(scheme)], scheme) &&
		(token[len(scheme)] == ' ' || token[len(scheme)] == '\t')
}
