package token

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The Claims decoder is compared with encoding/json: on any input both
// accept, they decode the same known claims; where they disagree, the
// input shows one of the decoder's deliberate strictnesses, each an
// explicit predicate below (with its own unit cases). Conversely, an
// input showing one of them must be rejected by the decoder.

var (
	stringClaims = []string{"iss", "dest", "aud", "sub", "jti", "sid"}
	timeClaims   = []string{"exp", "nbf", "iat"}
)

// member is one top-level member as encoding/json sees it: the key
// unescaped, the value raw.
type member struct {
	key string
	raw json.RawMessage
}

// refDecode decodes data with encoding/json. ok is false when
// encoding/json rejects data or it is not an object (encoding/json
// decodes null into a map without error: see predicate notObject).
func refDecode(data []byte) (members []member, isNull, ok bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, false, false
	}
	if m == nil {
		return nil, true, true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, false, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false, false
		}
		members = append(members, member{key: tok.(string), raw: raw})
	}
	return members, false, true
}

// deliberate names the deliberate difference data shows, given the names
// of the string and time Claims the decoder reads, or "".
func deliberate(data []byte, members []member, isNull bool, strs, times []string) string {
	if isNull {
		return "not an object (null)"
	}
	if tooDeep(data) {
		return "nesting deeper than maxDepth"
	}
	seen := map[string]int{}
	for _, m := range members {
		isStr, isTime := contains(strs, m.key), contains(times, m.key)
		if !isStr && !isTime {
			continue
		}
		if seen[m.key]++; seen[m.key] > 1 {
			return "duplicate known claim"
		}
		switch {
		case isStr && m.raw[0] != '"':
			return "known string claim of another type"
		case isStr && !utf8.Valid(m.raw):
			return "invalid UTF-8 in a known string claim"
		case isTime && !(m.raw[0] == '-' || m.raw[0] >= '0' && m.raw[0] <= '9'):
			return "time claim of another type"
		case isTime && bytes.ContainsAny(m.raw, ".eE"):
			return "time claim not an integer"
		case isTime && outOfRange(m.raw):
			return "time claim out of range"
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func outOfRange(raw []byte) bool {
	v, err := strconv.ParseInt(strings.TrimPrefix(string(raw), "-"), 10, 64)
	return err != nil || v > maxSafeInt
}

// tooDeep reports whether some value lies inside maxDepth or more
// containers below the top-level object (the decoder's bound): that is,
// whether a non-empty container opens at depth maxDepth+1 or more,
// counting the top-level object as depth 1.
func tooDeep(data []byte) bool {
	depth, inStr := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inStr && c == '\\':
			i++
		case inStr:
			inStr = c != '"'
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth && !emptyContainer(data, i) {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

func emptyContainer(data []byte, i int) bool {
	j := skipWS(data, i+1)
	return j < len(data) && (data[j] == ']' || data[j] == '}')
}

func skipWS(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// checkClaimsDecoder is the property, for ParseClaims.
func checkClaimsDecoder(t *testing.T, data []byte) {
	members, isNull, refOK := refDecode(data)
	buf := bytes.Clone(data)
	var c Claims
	err := ParseClaims(buf, &c)
	why := ""
	if refOK {
		why = deliberate(data, members, isNull, stringClaims, timeClaims)
	}
	switch {
	case !refOK && err == nil:
		t.Fatalf("decoder accepts what encoding/json rejects: %q", data)
	case !refOK:
		return
	case why != "" && err == nil:
		t.Fatalf("decoder accepts input with %s: %q", why, data)
	case why == "" && err != nil:
		t.Fatalf("decoder rejects (%v) what encoding/json accepts, and no deliberate difference explains it: %q", err, data)
	case err != nil:
		return
	}
	got := map[string]any{}
	for i, name := range stringClaims {
		if bit := uint16(1) << i; c.Has&bit != 0 {
			sp := [...]Span{c.Iss, c.Dest, c.Aud, c.Sub, c.Jti, c.Sid}[i]
			got[name] = string(sp.Bytes(buf))
		}
	}
	for i, name := range timeClaims {
		if bit := HasExp << i; c.Has&bit != 0 {
			got[name] = [...]int64{c.Exp, c.Nbf, c.Iat}[i]
		}
	}
	want := map[string]any{}
	for _, m := range members {
		switch {
		case contains(stringClaims, m.key):
			var s string
			if err := json.Unmarshal(m.raw, &s); err != nil {
				t.Fatalf("claim %s: %v", m.key, err)
			}
			want[m.key] = s
		case contains(timeClaims, m.key):
			v, err := strconv.ParseInt(string(m.raw), 10, 64)
			if err != nil {
				t.Fatalf("claim %s: %v", m.key, err)
			}
			want[m.key] = v
		}
	}
	if len(got) != len(want) {
		t.Fatalf("decoded Claims %v, encoding/json %v, input %q", got, want, data)
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("claim %s: decoded %q, encoding/json %q, input %q", k, got[k], w, data)
		}
	}
}

// checkHeaderDecoder is the property, for parseHeader: alg is its only
// known parameter; crit is reported when present, whatever its value.
func checkHeaderDecoder(t *testing.T, data []byte) {
	members, isNull, refOK := refDecode(data)
	buf := bytes.Clone(data)
	h, err := parseHeader(buf)
	alg := h.alg
	why := ""
	if refOK {
		why = deliberate(data, members, isNull, []string{"alg"}, nil)
	}
	switch {
	case !refOK && err == nil:
		t.Fatalf("header decoder accepts what encoding/json rejects: %q", data)
	case !refOK:
		return
	case why != "" && err == nil:
		t.Fatalf("header decoder accepts input with %s: %q", why, data)
	case why == "" && err != nil:
		t.Fatalf("header decoder rejects (%v) what encoding/json accepts: %q", err, data)
	case err != nil:
		return
	}
	want, has, crit := "", false, false
	for _, m := range members {
		switch m.key {
		case "alg":
			has = true
			if err := json.Unmarshal(m.raw, &want); err != nil {
				t.Fatal(err)
			}
		case "crit":
			crit = true
		}
	}
	if h.crit != crit {
		t.Fatalf("crit: decoded %v, encoding/json %v, input %q", h.crit, crit, data)
	}
	if has != (alg.Start >= 0) || has && string(alg.Bytes(buf)) != want {
		t.Fatalf("alg: decoded %v %q, encoding/json %v %q, input %q", alg.Start >= 0, alg.Bytes(buf), has, want, data)
	}
}

// Real-shaped claims, as Shopify writes them (escaped slashes).
const (
	seedAdmin    = `{"iss":"https:\/\/example.myshopify.com\/admin","dest":"https:\/\/example.myshopify.com","aud":"4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f","sub":"42","exp":1780000060,"nbf":1780000000,"iat":1780000000,"jti":"f799bdb3-31a4-4075-8727-3f47369c0ab2","sid":"da8e9304bc015a28c70613cd0e3f0f60224be976f80f5cf7d73e05858ea5772b","sig":"abc"}`
	seedCheckout = `{"dest":"example.myshopify.com","aud":"client","exp":1780000300,"nbf":1780000000,"iat":1780000000,"jti":"x","sub":"gid:\/\/shopify\/Customer\/1"}`
)

func FuzzClaimsDecoder(f *testing.F) {
	for _, s := range []string{
		seedAdmin, seedCheckout,
		`{"alg":"HS256","typ":"JWT"}`, `{"typ":"JWT","alg":"none"}`, `{"alg":"HS256","crit":["b64"],"b64":false}`,
		` { "exp" : 1 , "x" : [ {}, [], null, true, false, -0.5e+3, "\u00e9\ud83d\ude00" ] } `,
		`{"sub":"\u0041\n\t\"\\\/","aud":"\ud800","jti":"\ud83d\ude00"}`,
		`{"exp":1,"exp":2}`, `{"exp":"1"}`, `{"exp":null}`, `{"exp":1.0}`, `{"exp":1e3}`,
		`{"exp":9007199254740992}`, `{"exp":-9007199254740991}`, `{"exp":12345678,"nbf":123456789012345,"iat":1234567890123456}`,
		`{"exp":1780000060.5,"nbf":1780000000e0,"iat":17800000000000000000}`, `{"exp":01780000060}`, `{"exp":1780000060 }`,
		`{"iss":"https:\/\/","dest":"https:\/","aud":"https:\/\/\u0041\/b","sub":"https:\/\/x\"","x":"https:\/\/\/"}`,
		`{"iss":"http:\/\/a","dest":"https:\/\\","sub":"https:\/\/` + "\xff" + `"}`,
		`{"iss":1,"dest":"","aud":"a","sub":"b","jti":"c","sid":"d","exp":1,"nbf":2,"iat":3}`, `{"dest" :"x", "iss":"y"}`, "{\"sub\":\"\xff\"}", "{\"x\":\"\xff\"}",
		`{"EXP":"not a number","Sub":1}`, `{"\u0065xp":5}`, `null`, `[]`, `{}`, `{"a":1}x`,
		`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
		`{"a":` + strings.Repeat("[", maxDepth) + "0" + strings.Repeat("]", maxDepth) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkClaimsDecoder(t, data)
		checkHeaderDecoder(t, data)
	})
}

// TestClaimsDecoderDeliberateDifferences pins each deliberate difference:
// encoding/json accepts the input, the predicate names it, and the
// decoder rejects it.
func TestClaimsDecoderDeliberateDifferences(t *testing.T) {
	deep := func(n int, inner string) string {
		return `{"a":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
	}
	cases := []struct {
		name, in, want string
	}{
		{"duplicate exp", `{"exp":1,"exp":2}`, "duplicate known claim"},
		{"duplicate sub via escape", `{"sub":"a","s\u0075b":"b"}`, "duplicate known claim"},
		{"exp as string", `{"exp":"1780000060"}`, "time claim of another type"},
		{"exp null", `{"exp":null}`, "time claim of another type"},
		{"aud as array", `{"aud":["a"]}`, "known string claim of another type"},
		{"sub null", `{"sub":null}`, "known string claim of another type"},
		{"sub number", `{"sub":42}`, "known string claim of another type"},
		{"exp fraction", `{"exp":1780000060.5}`, "time claim not an integer"},
		{"exp 1.0", `{"exp":1.0}`, "time claim not an integer"},
		{"exp exponent", `{"exp":1e9}`, "time claim not an integer"},
		{"exp beyond 2^53", `{"exp":9007199254740992}`, "time claim out of range"},
		{"nbf below -2^53", `{"nbf":-9007199254740992}`, "time claim out of range"},
		{"iat beyond int64", `{"iat":99999999999999999999}`, "time claim out of range"},
		{"invalid UTF-8 in dest", "{\"dest\":\"a\xffb\"}", "invalid UTF-8 in a known string claim"},
		{"too deep: scalar", deep(maxDepth, "1"), "nesting deeper than maxDepth"},
		{"too deep: container", deep(maxDepth-1, "[{}]"), "nesting deeper than maxDepth"},
		{"too deep: object member", deep(maxDepth-1, `{"k":1}`), "nesting deeper than maxDepth"},
		{"null object", ` null `, "not an object (null)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			members, isNull, ok := refDecode([]byte(c.in))
			if !ok {
				t.Fatalf("encoding/json rejects %q", c.in)
			}
			if got := deliberate([]byte(c.in), members, isNull, stringClaims, timeClaims); got != c.want {
				t.Fatalf("predicate: %q, want %q", got, c.want)
			}
			var cl Claims
			if err := ParseClaims([]byte(c.in), &cl); err == nil {
				t.Fatal("decoder accepts it")
			}
			checkClaimsDecoder(t, []byte(c.in))
		})
	}
	// And where they agree, on the edge of each rule.
	for _, in := range []string{
		`{"exp":9007199254740991,"nbf":-9007199254740991,"iat":0}`,
		`{"EXP":"x","Sub":1,"AUD":null}`, // case variants are not known Claims
		"{\"x\":\"\xff\",\"y\":1.5e3,\"z\":[null,{\"exp\":\"nested is not a claim\"}]}",
		`{"aud":"\ud800"}`, // a lone surrogate escape is U+FFFD for both
		deep(maxDepth-1, "1"), deep(maxDepth-1, "[]"), deep(maxDepth-1, "{}"), deep(maxDepth, ""),
	} {
		members, isNull, ok := refDecode([]byte(in))
		if !ok {
			t.Fatalf("encoding/json rejects %q", in)
		}
		if got := deliberate([]byte(in), members, isNull, stringClaims, timeClaims); got != "" {
			t.Fatalf("%q: predicate %q", in, got)
		}
		var cl Claims
		if err := ParseClaims([]byte(in), &cl); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		checkClaimsDecoder(t, []byte(in))
	}
}

func TestHeaderDecoderDeliberateDifferences(t *testing.T) {
	for _, in := range []string{`{"alg":"HS256","alg":"HS256"}`, `{"alg":null}`, "{\"alg\":\"HS\xff\"}"} {
		if _, err := parseHeader([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
		checkHeaderDecoder(t, []byte(in))
	}
	for _, in := range []string{
		`{"typ":"JWT","ALG":"none","alg":"HS256"}`,
		`{"alg":"HS256","crit":["exp"]}`, `{"crit":null,"alg":"HS256"}`, `{"cr\u0069t":[],"alg":"HS256"}`,
		`{"CRIT":["b64"],"alg":"HS256"}`, `{"x":{"crit":["b64"]},"alg":"HS256"}`,
	} {
		checkHeaderDecoder(t, []byte(in))
	}
}

// TestEightDigits holds the 8-digit conversion to strconv at every digit
// and its neighbours.
func TestEightDigits(t *testing.T) {
	for _, in := range []string{"00000000", "12345678", "99999999", "17800000", "90071992", "0000000/", "1234567:", "/2345678", ":2345678", "1234 678", "12345678"[:7] + "\x00"} {
		w := binary.LittleEndian.Uint64([]byte(in))
		v, err := strconv.ParseUint(in, 10, 64)
		if EightDigits(w) != (err == nil) {
			t.Fatalf("%q: EightDigits %v, strconv %v", in, EightDigits(w), err)
		}
		if err == nil && uint64(EightDigitsValue(w)) != v {
			t.Fatalf("%q: %d, strconv %d", in, EightDigitsValue(w), v)
		}
	}
	for c := 0; c < 256; c++ {
		for pos := range 8 {
			b := []byte("55555555")
			b[pos] = byte(c)
			w := binary.LittleEndian.Uint64(b)
			if want := c >= '0' && c <= '9'; EightDigits(w) != want {
				t.Fatalf("%q: EightDigits %v", b, EightDigits(w))
			}
		}
	}
}

// BenchmarkClaimsDecoder: the decoder against a real-shaped payload.
func BenchmarkClaimsDecoder(b *testing.B) {
	src := []byte(seedAdmin)
	buf := make([]byte, len(src))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		copy(buf, src)
		var c Claims
		if err := ParseClaims(buf, &c); err != nil {
			b.Fatal(err)
		}
	}
}
