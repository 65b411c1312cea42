package sdk_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The differential test runs every token through this SDK and through a
// reference built from golang-jwt v5 plus the same claim checks written
// independently. Both must accept or both reject, except where this SDK is
// deliberately stricter; each such case is named by stricterReason and has
// its own case in TestDeliberateDifferences.

// Deliberate differences: inputs golang-jwt accepts and this SDK rejects.
const (
	diffTooLong        = "token longer than sdk.MaxTokenSize"
	diffLineBreak      = "CR or LF inside the token (base64 decoders skip them)"
	diffNonCanonical   = "non-canonical base64 (non-zero unused bits): a second spelling of the same bytes"
	diffDuplicateClaim = "duplicate registered claim (encoding/json keeps the last)"
	diffDuplicateAlg   = "duplicate alg header parameter"
	diffClaimType      = "registered string claim that is not a string (null, number, array: aud arrays included)"
	diffTimeNotInt     = "time claim that is not a whole number within ±2^53"
	diffBadUTF8        = "invalid UTF-8 in a registered string claim (encoding/json replaces it)"
	diffDeepJSON       = "JSON nested deeper than 32 levels"
	diffCrit           = "crit header parameter, whatever it lists (RFC 7515 4.1.11: possession implements no JWS extension; Shopify's library refuses crit too, except [\"b64\"] with b64 true, which jose knows)"
)

var (
	refShop = regexp.MustCompile(`^(https://)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.myshopify\.com)$`)
	refIss  = regexp.MustCompile(`^https://([^/?#]*)`)
)

// referenceVerify verifies with golang-jwt (HS256 pinned, exp required,
// iat checked, 10 s leeway, audience) and then the Shopify claim checks.
// It returns the shop domain, sub and aud of an accepted token.
func referenceVerify(token string, now time.Time, secrets ...string) (shop, sub, aud string, err error) {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(10*time.Second),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(testClientID),
	)
	keys := jwt.VerificationKeySet{}
	for _, s := range secrets {
		keys.Keys = append(keys.Keys, []byte(s))
	}
	claims := jwt.MapClaims{}
	if _, err := p.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return keys, nil }); err != nil {
		return "", "", "", err
	}
	dest, ok := claims["dest"].(string)
	if !ok {
		return "", "", "", errors.New("dest missing")
	}
	m := refShop.FindStringSubmatch(dest)
	if m == nil {
		return "", "", "", errors.New("dest is not a shop")
	}
	if issClaim, present := claims["iss"]; present {
		iss, _ := issClaim.(string)
		im := refIss.FindStringSubmatch(iss)
		if im == nil || im[1] != m[2] {
			return "", "", "", errors.New("iss host differs from dest host")
		}
	}
	sub, _ = claims["sub"].(string)
	aud, _ = claims["aud"].(string)
	return m[2], sub, aud, nil
}

// stricterReason returns the deliberate difference that token shows, or ""
// if this SDK and the reference must agree on it.
func stricterReason(token string) string {
	if len(token) > sdk.MaxTokenSize {
		return diffTooLong
	}
	if strings.ContainsAny(token, "\r\n") {
		return diffLineBreak
	}
	segs := strings.Split(token, ".")
	if len(segs) != 3 {
		return ""
	}
	for _, s := range segs {
		if _, err := base64.RawURLEncoding.DecodeString(s); err == nil {
			if _, err := base64.RawURLEncoding.Strict().DecodeString(s); err != nil {
				return diffNonCanonical
			}
		}
	}
	header, err1 := base64.RawURLEncoding.DecodeString(segs[0])
	payload, err2 := base64.RawURLEncoding.DecodeString(segs[1])
	if err1 != nil || err2 != nil {
		return ""
	}
	if depth(header) > 32 || depth(payload) > 32 {
		return diffDeepJSON
	}
	if hasMember(header, "crit") {
		return diffCrit
	}
	if r := objectReason(header, map[string]string{"alg": ""}); r != "" {
		if r == diffDuplicateClaim {
			return diffDuplicateAlg
		}
		return r
	}
	return objectReason(payload, map[string]string{
		"iss": "string", "dest": "string", "aud": "string", "sub": "string", "jti": "string", "sid": "string",
		"exp": "time", "nbf": "time", "iat": "time",
	})
}

// objectReason walks the top-level members of a JSON object and reports a
// deliberate difference among the given registered names ("" kind: only
// duplicates matter).
func objectReason(data []byte, kinds map[string]string) string {
	var members []struct {
		key string
		raw json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return ""
		}
		members = append(members, struct {
			key string
			raw json.RawMessage
		}{k.(string), raw})
	}
	if _, err := dec.Token(); err != nil {
		return ""
	}
	if _, err := dec.Token(); err != io.EOF {
		return "" // trailing data: both reject
	}
	seen := map[string]bool{}
	for _, m := range members {
		_, registered := kinds[m.key]
		if !registered {
			continue
		}
		if seen[m.key] {
			return diffDuplicateClaim
		}
		seen[m.key] = true
	}
	for _, m := range members {
		switch kinds[m.key] {
		case "string":
			if m.raw[0] != '"' {
				return diffClaimType
			}
			if !utf8.Valid(m.raw) {
				return diffBadUTF8
			}
		case "time":
			var n json.Number
			if json.Unmarshal(m.raw, &n) != nil {
				continue // not a number: both reject
			}
			i, err := n.Int64()
			if err != nil || i > 1<<53-1 || i < -(1<<53-1) {
				return diffTimeNotInt
			}
		}
	}
	return ""
}

// hasMember reports whether data is a JSON object with a top-level member
// named name.
func hasMember(data []byte, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// depth returns the deepest nesting of arrays and objects in data.
func depth(data []byte) int {
	d, max := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// compare runs token through both and reports a disagreement.
func compare(t *testing.T, v *sdk.Verifier, token string, now time.Time) {
	t.Helper()
	s, err := v.Verify(context.Background(), token)
	if (s == nil) == (err == nil) {
		t.Fatalf("Verify returned session %v and error %v", s, err)
	}
	shop, sub, aud, refErr := referenceVerify(token, now, testSecret, prevSecret)
	switch {
	case err == nil && refErr == nil:
		if s.Shop != shop || s.UserID != sub || s.ClientID != aud {
			t.Fatalf("both accept, but sessions differ: sdk (%q %q %q), reference (%q %q %q)\ntoken %q",
				s.Shop, s.UserID, s.ClientID, shop, sub, aud, token)
		}
	case err != nil && refErr != nil:
	case err == nil:
		t.Fatalf("sdk accepts what the reference rejects (%v)\ntoken %q", refErr, token)
	default:
		if reason := stricterReason(token); reason == "" {
			t.Fatalf("sdk rejects (%v) what the reference accepts, and no deliberate difference explains it\ntoken %q", err, token)
		}
	}
}

func diffVerifier(t testing.TB) *sdk.Verifier {
	// Both kinds: the reference tells no kind from another.
	v, err := sdk.New(keysource.MustStatic(testSecret, prevSecret), sdk.WithClientID(testClientID),
		sdk.WithClock(fixedClock(epoch)), sdk.WithCacheSize(0), sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDifferentialCorpus(t *testing.T) {
	v := diffVerifier(t)
	accepted := 0
	for _, tok := range generatedTokens(t, 3000) {
		compare(t, v, tok, epoch)
		if _, err := v.Verify(context.Background(), tok); err == nil {
			accepted++
		}
	}
	// The corpus must exercise both sides, or the comparison proves little.
	if accepted < 300 || accepted > 2700 {
		t.Fatalf("corpus accepted %d of 3000 tokens; want a mix", accepted)
	}
}

// TestDeliberateDifferences pins each difference: the reference accepts
// the token, this SDK rejects it with the given sentinel, and
// stricterReason names it.
func TestDeliberateDifferences(t *testing.T) {
	v := diffVerifier(t)
	m := minter()
	valid := m.Admin()
	h, p, sig := parts(valid)
	payload := func(extra string) string { return payloadJSON(extra) }
	tests := []struct {
		reason string
		token  string
		want   error
	}{
		{diffTooLong, signRaw(t, testSecret, hdr256, payload(`,"pad":"`+strings.Repeat("x", sdk.MaxTokenSize)+`"`)), sdk.ErrMalformed},
		{diffLineBreak, h + "." + p + "." + sig[:7] + "\r\n" + sig[7:], sdk.ErrMalformed},
		{diffNonCanonical, h + "." + p + "." + sig[:42] + flipLowBits(sig[42]), sdk.ErrMalformed},
		{diffCrit, signRaw(t, testSecret, `{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":true}`, payload("")), sdk.ErrMalformed},
		{diffCrit, signRaw(t, testSecret, `{"alg":"HS256","crit":["exp"],"exp":1}`, payload("")), sdk.ErrMalformed},
		{diffCrit, signRaw(t, testSecret, `{"crit":[],"alg":"HS256"}`, payload("")), sdk.ErrMalformed},
		{diffDuplicateClaim, signRaw(t, testSecret, hdr256, payload(fmt.Sprintf(`,"exp":%d`, epoch.Unix()+30))), sdk.ErrMalformed},
		{diffDuplicateAlg, signRaw(t, testSecret, `{"alg":"none","alg":"HS256"}`, payload("")), sdk.ErrMalformed},
		{diffClaimType, m.Admin(sdktest.Set("sub", 42)), sdk.ErrMalformed},
		{diffClaimType, m.Admin(sdktest.Set("jti", nil)), sdk.ErrMalformed},
		{diffClaimType, m.Admin(sdktest.Set("aud", []string{testClientID})), sdk.ErrMalformed},
		{diffTimeNotInt, m.Admin(sdktest.Set("exp", float64(epoch.Unix())+60.5)), sdk.ErrMalformed},
		{diffTimeNotInt, m.Admin(sdktest.Set("exp", 1e16)), sdk.ErrMalformed},
		{diffBadUTF8, signRaw(t, testSecret, hdr256, strings.Replace(payload(""), `"sub":"42"`, "\"sub\":\"42\xff\"", 1)), sdk.ErrMalformed},
		{diffDeepJSON, signRaw(t, testSecret, hdr256, payload(`,"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40))), sdk.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			if _, _, _, err := referenceVerify(tt.token, epoch, testSecret); err != nil {
				t.Fatalf("reference rejects (%v): not a difference", err)
			}
			s, err := v.Verify(context.Background(), tt.token)
			checkResult(t, tt.token, s, err, tt.want)
			if got := stricterReason(tt.token); got != tt.reason {
				t.Fatalf("stricterReason = %q, want %q", got, tt.reason)
			}
		})
	}
}

// FuzzDifferential signs fuzzed header and payload JSON (or takes a raw
// token) and requires agreement with the reference.
func FuzzDifferential(f *testing.F) {
	for i, tok := range generatedTokens(f, 60) {
		h, p, _ := strings.Cut(tok, ".")
		p, _, _ = strings.Cut(p, ".")
		hb, _ := base64.RawURLEncoding.DecodeString(h)
		pb, _ := base64.RawURLEncoding.DecodeString(p)
		f.Add(string(hb), string(pb), uint8(i), int16(i-30), false)
		f.Add(tok, "", uint8(i), int16(0), true)
	}
	v := diffVerifier(f)
	f.Fuzz(func(t *testing.T, header, payload string, key uint8, skew int16, raw bool) {
		now := epoch.Add(time.Duration(skew) * time.Second)
		vv := v
		if skew != 0 {
			var err error
			vv, err = sdk.New(keysource.MustStatic(testSecret, prevSecret), sdk.WithClientID(testClientID),
				sdk.WithClock(fixedClock(now)), sdk.WithCacheSize(0), sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
			if err != nil {
				t.Fatal(err)
			}
		}
		token := header
		if !raw {
			secret := []string{testSecret, prevSecret, "wrong"}[int(key)%3]
			var err error
			if token, err = sdktest.SignRaw(secret, []byte(header), []byte(payload)); err != nil {
				t.Skip()
			}
		}
		compare(t, vv, token, now)
	})
}
