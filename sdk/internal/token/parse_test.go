package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/possession-dev/possession/internal/wording"
)

// refParse is the reference for Parse, written for clarity from the
// standard library: it returns the kind of error (0 for none) and, for a
// token it accepts, the signing input, payload and signature.
func refParse(tok string) (kind Kind, alg string, hasAlg bool, signingInput string, payload, sig []byte) {
	if l := strings.ToLower(tok); strings.HasPrefix(l, "bearer ") || strings.HasPrefix(l, "bearer\t") {
		return BearerPrefix, "", false, "", nil, nil
	}
	segs := strings.Split(tok, ".")
	if len(segs) != 3 || strings.ContainsAny(tok, "\r\n") || segs[0] == "" || segs[1] == "" {
		return Malformed, "", false, "", nil, nil
	}
	header, err1 := b64.DecodeString(segs[0])
	payload, err2 := b64.DecodeString(segs[1])
	sig, err3 := b64.DecodeString(segs[2])
	if err1 != nil || err2 != nil || err3 != nil || len(header) > MaxHeader {
		return Malformed, "", false, "", nil, nil
	}
	members, isNull, ok := refDecode(header)
	if !ok || deliberate(header, members, isNull, []string{"alg"}, nil) != "" {
		return Malformed, "", false, "", nil, nil
	}
	for _, m := range members {
		if m.key == "crit" {
			return Malformed, "", false, "", nil, nil
		}
	}
	for _, m := range members {
		if m.key == "alg" {
			hasAlg = true
			if err := json.Unmarshal(m.raw, &alg); err != nil {
				panic(err) // deliberate() rules out a non-string alg
			}
		}
	}
	if !hasAlg || alg != "HS256" {
		return Algorithm, alg, hasAlg, "", nil, nil
	}
	if len(sig) != sha256.Size {
		return Malformed, "", false, "", nil, nil
	}
	return 0, "", false, segs[0] + "." + segs[1], payload, sig
}

// parseMAC checks the signatures of checkParse's tokens: one for all of
// them, with two prefix slots, so that prefixes are remembered, used and
// replaced as the tokens come.
var parseMAC = newHMAC([]byte("secret"), 1)

// checkParse is the property: Parse agrees with refParse on the kind of
// error and, when it accepts, on what it returns; its message quotes no
// 8-character piece of the token. With an HMAC, Parse returns the same
// and VerifyToken agrees with crypto/hmac, three times: for a token long
// enough, its prefix is noted the first time, remembered (with its
// decoded payload bytes) the second and used the third.
func checkParse(t *testing.T, tok string) {
	t.Helper()
	err := checkParseWith(t, tok, nil)
	for range 3 {
		if errMAC := checkParseWith(t, tok, parseMAC); fmt.Sprint(errMAC) != fmt.Sprint(err) {
			t.Fatalf("%q: Parse without an HMAC says %v, with one %v", tok, err, errMAC)
		}
	}
}

func checkParseWith(t *testing.T, tok string, mac *HMAC) error {
	t.Helper()
	wantKind, wantAlg, wantHasAlg, wantInput, wantPayload, wantSig := refParse(tok)
	// Exactly as large as Parse needs: an overrun would panic.
	buf := make([]byte, max(MaxHeader, b64.DecodedLen(len(tok))))
	var got Token
	err := Parse(&got, tok, buf, mac)
	if err == nil && mac != nil {
		sum := refMAC([]byte("secret"), []byte(wantInput))
		if want := bytes.Equal(sum[:], wantSig); mac.VerifyToken(&got) != want {
			t.Fatalf("%q: VerifyToken says %v, crypto/hmac %v", tok, !want, want)
		}
	}
	if err == nil {
		if wantKind != 0 {
			t.Fatalf("%q: Parse accepts, the reference says kind %d", tok, wantKind)
		}
		if got.SigningInput != wantInput || !bytes.Equal(got.Payload, wantPayload) || !bytes.Equal(got.Sig[:], wantSig) {
			t.Fatalf("%q: Parse gives (%q, %x, %x), the reference (%q, %x, %x)", tok, got.SigningInput, got.Payload, got.Sig, wantInput, wantPayload, wantSig)
		}
		return nil
	}
	e := err.(*Error)
	if e.Kind != wantKind {
		t.Fatalf("%q: Parse error %q of kind %d, the reference says kind %d", tok, err, e.Kind, wantKind)
	}
	if e.Kind == Algorithm && e.HasAlg != wantHasAlg {
		t.Fatalf("%q: alg present %v, the reference %v (%q)", tok, e.HasAlg, wantHasAlg, wantAlg)
	}
	// No 8-byte piece of the token in the message, unless it is this
	// package's own wording ("the token" is both a message's words and a
	// fuzzed token's).
	msg := err.Error()
	for i := 0; i+8 <= len(tok); i++ {
		if strings.Contains(msg, tok[i:i+8]) && !strings.Contains(wording.Source(t, "."), tok[i:i+8]) {
			t.Fatalf("%q: message %q quotes the token", tok, msg)
		}
	}
	return err
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signed returns a token of header and payload JSON with a real HS256
// signature.
func signed(header, payload string) string {
	in := enc(header) + "." + enc(payload)
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// parseSeeds are real-shaped tokens and their near misses.
func parseSeeds() []string {
	std := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	h, rest, _ := strings.Cut(std, ".")
	p, sig, _ := strings.Cut(rest, ".")
	return []string{
		std,
		signed(`{"typ":"JWT","alg":"HS256"}`, seedCheckout),
		signed(`{"alg":"HS256","kid":"k"}`, seedAdmin),
		signed(` { "alg" : "HS256" } `, `{}`),
		signed(`{"alg":"none"}`, seedAdmin),
		enc(`{"alg":"none","typ":"JWT"}`) + "." + p + ".",
		signed(`{"alg":"HS256","crit":["b64"],"b64":false}`, seedAdmin),
		signed(`{"alg":"HS256","alg":"none"}`, seedAdmin),
		signed(`{"alg":["HS256"]}`, seedAdmin),
		signed(`{"typ":"JWT"}`, seedAdmin),
		signed(`["HS256"]`, seedAdmin),
		h + "." + p + "." + sig[:42],
		h + "." + p + "." + sig + "=",
		h + "." + p + ".",
		h + "." + p[:20] + "." + p[21:] + "." + sig,
		h + "." + p + "." + sig[:20] + "." + sig[21:],
		h + "." + p[:20] + "\n" + p[20:] + "." + sig,
		h + "." + p + "." + sig[:20] + "\r" + sig[21:],
		h + "." + p,
		h + ".." + sig,
		"." + p + "." + sig,
		"Bearer " + std, "bearer\t" + std, "Bearerx.y.z",
		"", ".", "..", "...", "a.b.c", "e$J." + p + "." + sig,
		strings.Repeat("A", MaxHeader*4/3+4) + "." + p + "." + sig,
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds() {
		f.Add(s)
	}
	f.Fuzz(checkParse)
}

func TestParseSeeds(t *testing.T) {
	for _, s := range parseSeeds() {
		checkParse(t, s)
	}
}

// TestParseErrors: each way a token's form can fail, with its kind and
// message.
func TestParseErrors(t *testing.T) {
	std := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	h, rest, _ := strings.Cut(std, ".")
	p, sig, _ := strings.Cut(rest, ".")
	cases := []struct {
		name, token string
		kind        Kind
		msg         string
	}{
		{"no dot", "abc", Malformed, "want three dot-separated segments"},
		{"two segments", h + "." + p, Malformed, "want three dot-separated segments"},
		{"four segments, standard header", h + "." + p + ".x." + sig, Malformed, "more than three segments"},
		{"dot in the signature", h + "." + p + "." + sig[:20] + "." + sig[21:], Malformed, "more than three segments"},
		{"four segments, alg none", enc(`{"alg":"none"}`) + "." + p + ".x.", Malformed, "more than three segments"},
		{"line break in the payload", h + "." + p[:9] + "\n" + p[9:] + "." + sig, Malformed, "line break"},
		{"line break in the header", "eyJ\nhbGc." + p + "." + sig, Malformed, "line break"},
		{"empty header", "." + p + "." + sig, Malformed, "empty header or payload"},
		{"empty payload", h + ".." + sig, Malformed, "empty header or payload"},
		{"header not base64", "e$J." + p + "." + sig, Malformed, "header is not base64url"},
		{"header too long", strings.Repeat("A", 4100) + "." + p + "." + sig, Malformed, "header segment is 4100 characters, limit is 4096"},
		{"header not an object", enc("HS256") + "." + p + "." + sig, Malformed, "header: not a JSON object"},
		{"header not JSON", enc(`{"alg":`) + "." + p + "." + sig, Malformed, "header: invalid JSON"},
		{"header crit", signed(`{"alg":"HS256","crit":["b64"]}`, "{}"), Malformed, "crit"},
		{"payload not base64", h + ".e$J." + sig, Malformed, "payload is not base64url"},
		{"signature not base64", h + "." + p + "." + strings.Repeat("$", 43), Malformed, "signature is not base64url"},
		{"signature short", h + "." + p + "." + sig[:40], Malformed, "signature segment is 40 characters, HS256 needs 43"},
		{"signature empty", h + "." + p + ".", Malformed, "signature segment is 0 characters"},
		{"alg none", enc(`{"alg":"none"}`) + "." + p + ".", Algorithm, ""},
		{"no alg", enc(`{"typ":"JWT"}`) + "." + p + "." + sig, Algorithm, ""},
		{"bearer", "Bearer " + std, BearerPrefix, "Bearer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tk Token
			err := Parse(&tk, c.token, make([]byte, 8192), nil)
			e, ok := err.(*Error)
			if !ok || e.Kind != c.kind || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Parse: %v; want kind %d with %q", err, c.kind, c.msg)
			}
			checkParse(t, c.token)
		})
	}
}

// TestParseBufferTooSmall: a buffer smaller than the payload is an error,
// never an overrun.
func TestParseBufferTooSmall(t *testing.T) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	var tk Token
	if err := Parse(&tk, tok, make([]byte, 100), nil); err == nil || err.(*Error).Kind != Malformed {
		t.Fatalf("Parse with a 100-byte buffer: %v", err)
	}
	long := signed(`{"alg":"HS256","x":"`+strings.Repeat("x", 200)+`"}`, "{}")
	if err := Parse(&tk, long, make([]byte, 100), nil); err != errHeaderSize {
		t.Fatalf("Parse of a 200-byte header with a 100-byte buffer: %v", err)
	}
}

func BenchmarkParse(b *testing.B) {
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(tok)))
	var tk Token
	for b.Loop() {
		if err := Parse(&tk, tok, buf, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStaticErrors: each error without content knows its number.
func TestStaticErrors(t *testing.T) {
	for n := 1; n < NumStatic; n++ {
		if e := StaticError(n); e.Static() != n || e.Kind == 0 {
			t.Errorf("static error %d: number %d, kind %d", n, e.Static(), e.Kind)
		}
	}
}

// TestParseReusesDecodedPrefix: the third token of a prefix (the second
// remembered it) is decoded from the remembered bytes, and gives the same
// payload; a token of another shop, or with another header, is decoded
// whole.
func TestParseReusesDecodedPrefix(t *testing.T) {
	m := newHMAC([]byte("secret"), prefixBits)
	tok := signed(`{"alg":"HS256","typ":"JWT"}`, seedAdmin)
	want, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	for i := range 3 {
		var tk Token
		buf := make([]byte, 4096)
		if err := Parse(&tk, tok, buf, m); err != nil {
			t.Fatal(err)
		}
		reused := tk.prefix.entry != nil && tk.prefix.entry.hasDecoded
		if reused != (i == 2) {
			t.Fatalf("parse %d: decoded prefix reused: %v", i+1, reused)
		}
		if !bytes.Equal(tk.Payload, want) || !m.VerifyToken(&tk) {
			t.Fatalf("parse %d: payload %q, want %q (or its signature refused)", i+1, tk.Payload, want)
		}
	}
	other := signed(`{"alg":"HS256","kid":"k"}`, seedAdmin)
	for range 3 {
		var tk Token
		if err := Parse(&tk, other, make([]byte, 4096), m); err != nil || !m.VerifyToken(&tk) {
			t.Fatal(err)
		}
		if tk.prefix.entry != nil && tk.prefix.entry.hasDecoded {
			t.Fatal("a token with another header reused decoded bytes")
		}
	}
}
