package sdk_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/internal/wording"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

const (
	testSecret   = "shpss_0123456789abcdef0123456789abcdef"
	prevSecret   = "shpss_previous0000000000000000000000"
	testClientID = "client-id-123"
	testShop     = "exampleshop.myshopify.com"
)

// epoch is the fixed "now" of these tests.
var epoch = time.Unix(1_800_000_000, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func minter() sdktest.Minter {
	return sdktest.Minter{Secret: testSecret, ClientID: testClientID, Shop: testShop, UserID: "42", Now: fixedClock(epoch)}
}

func newVerifier(t testing.TB, src keysource.Source, opts ...sdk.Option) *sdk.Verifier {
	t.Helper()
	opts = append([]sdk.Option{sdk.WithClientID(testClientID), sdk.WithClock(fixedClock(epoch))}, opts...)
	v, err := sdk.New(src, opts...)
	if err != nil {
		t.Fatalf("sdk.New: %v", err)
	}
	return v
}

var sentinels = []error{
	sdk.ErrMalformed, sdk.ErrAlgorithm, sdk.ErrSignature, sdk.ErrExpired,
	sdk.ErrNotYetValid, sdk.ErrAudience, sdk.ErrIssuer, sdk.ErrKind, sdk.ErrNoKeys,
}

// checkResult asserts that Verify returned a session and no error when
// want is nil, or a nil session and an error matching exactly want among
// the sentinels, whose message holds neither the token nor a secret.
func checkResult(t *testing.T, token string, s *sdk.Session, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil || s == nil {
			t.Fatalf("want a session, got %v, %v", s, err)
		}
		return
	}
	if s != nil {
		t.Fatalf("want nil session with error, got %+v", s)
	}
	if !errors.Is(err, want) {
		t.Fatalf("want %v, got %v", want, err)
	}
	for _, other := range sentinels {
		if other != want && errors.Is(err, other) {
			t.Fatalf("error %v also matches %v", err, other)
		}
	}
	assertNoLeak(t, err.Error(), token)
}

// assertNoLeak fails if msg contains a secret or any 16-character piece of
// token that is not the verifier's own wording (a fuzzed token may quote
// a message: "not a session token" is 16 characters of both).
func assertNoLeak(t *testing.T, msg, token string) {
	t.Helper()
	for _, secret := range []string{testSecret, prevSecret} {
		if strings.Contains(msg, secret) {
			t.Fatalf("message contains a secret: %q", msg)
		}
	}
	for i := 0; i+16 <= len(token); i++ {
		if strings.Contains(msg, token[i:i+16]) && !strings.Contains(wording.Source(t, ".", "internal/token"), token[i:i+16]) {
			t.Fatalf("message contains token fragment %q: %q", token[i:i+16], msg)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func signRaw(t testing.TB, secret, header, payload string) string {
	t.Helper()
	tok, err := sdktest.SignRaw(secret, []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// payloadJSON is a valid admin payload at epoch with extra members
// appended verbatim.
func payloadJSON(extra string) string {
	now := epoch.Unix()
	p := fmt.Sprintf(`{"iss":"https:\/\/%s\/admin","dest":"https:\/\/%s","aud":"%s","sub":"42","exp":%d,"nbf":%d,"iat":%d,"jti":"0f3b","sid":"ab12"`,
		testShop, testShop, testClientID, now+60, now, now)
	return p + extra + "}"
}

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

func TestVerifyValidTokens(t *testing.T) {
	// Checkout tokens too: the default refusal of them is tested in
	// TestBuyerTokensDoNotOpenStaffEndpoints.
	v := newVerifier(t, keysource.MustStatic(testSecret), sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
	m := minter()
	m.EscapeSlashes = true
	tests := []struct {
		name  string
		token string
		check func(t *testing.T, s *sdk.Session)
	}{
		{"admin token, escaped slashes", m.Admin(), func(t *testing.T, s *sdk.Session) {
			if s.Kind != sdk.KindAdmin || s.Shop != testShop || s.UserID != "42" || s.ClientID != testClientID {
				t.Errorf("session %+v", s)
			}
			if len(s.SessionID) != 64 || s.TokenID == "" || s.KeyID != "static:current" {
				t.Errorf("session ids %+v", s)
			}
			if !s.ExpiresAt.Equal(epoch.Add(60*time.Second)) || !s.NotBefore.Equal(epoch) || !s.IssuedAt.Equal(epoch) {
				t.Errorf("times %v %v %v", s.IssuedAt, s.NotBefore, s.ExpiresAt)
			}
		}},
		{"real shape: no sig claim, nbf == iat", m.Admin(sdktest.Delete("sig")), nil},
		{"with sig claim", m.Admin(sdktest.Set("sig", "abc")), nil},
		{"unknown claims ignored", m.Admin(sdktest.Set("x", map[string]any{"a": []any{1, "b", nil, true}})), nil},
		{"no iss", m.Admin(sdktest.Delete("iss")), nil},
		{"no nbf, no iat", m.Admin(sdktest.Delete("nbf"), sdktest.Delete("iat")), func(t *testing.T, s *sdk.Session) {
			if !s.NotBefore.IsZero() || !s.IssuedAt.IsZero() {
				t.Errorf("want zero nbf/iat, got %v %v", s.NotBefore, s.IssuedAt)
			}
		}},
		{"checkout token", m.Checkout(), func(t *testing.T, s *sdk.Session) {
			if s.Kind != sdk.KindCheckout || s.Shop != testShop || s.UserID != "" || s.SessionID != "" {
				t.Errorf("session %+v", s)
			}
		}},
		{"checkout token with customer", m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/123")), func(t *testing.T, s *sdk.Session) {
			if s.UserID != "gid://shopify/Customer/123" {
				t.Errorf("sub %q", s.UserID)
			}
		}},
		{"checkout token with /checkouts iss", m.Checkout(sdktest.Set("iss", "https://"+testShop+"/checkouts")), nil},
		{"unicode escapes in claims", signRaw(t, testSecret, hs256Header, payloadJSON(`,"note":"caf\u00e9 \ud83d\ude00"`)), nil},
		{"escaped sub", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"sub":"42"`, `"sub":"\u0034\u0032"`, 1)), func(t *testing.T, s *sdk.Session) {
			if s.UserID != "42" {
				t.Errorf("sub %q", s.UserID)
			}
		}},
		{"header with kid and other order", signRaw(t, testSecret, `{"typ":"JWT","kid":"x","alg":"HS256"}`, payloadJSON("")), nil},
		{"header with CRIT (not crit)", signRaw(t, testSecret, `{"alg":"HS256","CRIT":["b64"],"x":{"crit":1}}`, payloadJSON("")), nil},
		{"whitespace in JSON", signRaw(t, testSecret, " {\n\"alg\" : \"HS256\" } ", " "+payloadJSON("")+"\n"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := v.Verify(context.Background(), tt.token)
			checkResult(t, tt.token, s, err, nil)
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret), sdk.WithCacheSize(0))
	m := minter()
	valid := m.Admin()
	h, p, sig := parts(valid)
	tests := []struct {
		name  string
		token string
		want  error
	}{
		// Shape and size.
		{"empty", "", sdk.ErrMalformed},
		{"one segment", "abc", sdk.ErrMalformed},
		{"two segments", h + "." + p, sdk.ErrMalformed},
		{"four segments", valid + ".x", sdk.ErrMalformed},
		{"empty header", "." + p + "." + sig, sdk.ErrMalformed},
		{"empty payload", h + ".." + sig, sdk.ErrMalformed},
		{"too long", valid + strings.Repeat("A", sdk.MaxTokenSize), sdk.ErrMalformed},
		{"1 MB header", strings.Repeat("e", 1<<20) + "." + p + "." + sig, sdk.ErrMalformed},
		{"header not base64", "e$J." + p + "." + sig, sdk.ErrMalformed},
		{"payload not base64", h + ".e$J." + sig, sdk.ErrMalformed},
		{"payload with newline", h + "." + p[:10] + "\n" + p[10:] + "." + sig, sdk.ErrMalformed},
		{"header not JSON", signRaw(t, testSecret, `HS256`, payloadJSON("")), sdk.ErrMalformed},
		{"header array", signRaw(t, testSecret, `["HS256"]`, payloadJSON("")), sdk.ErrMalformed},
		{"payload not JSON", signRaw(t, testSecret, hs256Header, `{"exp":`), sdk.ErrMalformed},
		{"payload array", signRaw(t, testSecret, hs256Header, `[1]`), sdk.ErrMalformed},
		{"payload trailing data", signRaw(t, testSecret, hs256Header, payloadJSON("")+"x"), sdk.ErrMalformed},
		{"payload trailing comma", signRaw(t, testSecret, hs256Header, strings.TrimSuffix(payloadJSON(""), "}")+",}"), sdk.ErrMalformed},
		{"duplicate exp", signRaw(t, testSecret, hs256Header, payloadJSON(fmt.Sprintf(`,"exp":%d`, epoch.Unix()+60))), sdk.ErrMalformed},
		{"duplicate aud", signRaw(t, testSecret, hs256Header, payloadJSON(`,"aud":"other"`)), sdk.ErrMalformed},
		{"duplicate dest via escape", signRaw(t, testSecret, hs256Header, payloadJSON(`,"d\u0065st":"https://evil.myshopify.com"`)), sdk.ErrMalformed},
		{"exp string", m.Admin(sdktest.Set("exp", "1800000060")), sdk.ErrMalformed},
		{"exp fractional", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"exp":1800000060`, `"exp":1800000060.5`, 1)), sdk.ErrMalformed},
		{"exp exponent", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"exp":1800000060`, `"exp":1.80000006e9`, 1)), sdk.ErrMalformed},
		{"exp huge", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"exp":1800000060`, `"exp":99999999999999999999`, 1)), sdk.ErrMalformed},
		{"exp null", m.Admin(sdktest.Set("exp", nil)), sdk.ErrMalformed},
		{"aud array", m.Admin(sdktest.Set("aud", []string{testClientID})), sdk.ErrMalformed},
		{"sub number", m.Admin(sdktest.Set("sub", 42)), sdk.ErrMalformed},
		{"dest object", m.Admin(sdktest.Set("dest", map[string]any{})), sdk.ErrMalformed},
		{"missing exp", m.Admin(sdktest.Delete("exp")), sdk.ErrMalformed},
		{"invalid UTF-8 in sub", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"sub":"42"`, "\"sub\":\"4\xff\"", 1)), sdk.ErrMalformed},
		{"control char in string", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"sub":"42"`, "\"sub\":\"4\x01\"", 1)), sdk.ErrMalformed},
		{"bad escape", signRaw(t, testSecret, hs256Header, strings.Replace(payloadJSON(""), `"sub":"42"`, `"sub":"\x"`, 1)), sdk.ErrMalformed},
		{"deep nesting", signRaw(t, testSecret, hs256Header, payloadJSON(`,"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100))), sdk.ErrMalformed},

		// Algorithm, checked before the signature.
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + p + ".", sdk.ErrAlgorithm},
		{"alg none with signature", b64(`{"alg":"none"}`) + "." + p + "." + sig, sdk.ErrAlgorithm},
		{"alg None", signRaw(t, testSecret, `{"alg":"None"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg HS384", signRaw(t, testSecret, `{"alg":"HS384","typ":"JWT"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg HS512", signRaw(t, testSecret, `{"alg":"HS512","typ":"JWT"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg RS256", signRaw(t, testSecret, `{"alg":"RS256","typ":"JWT"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg hs256 lower case", signRaw(t, testSecret, `{"alg":"hs256"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg missing", signRaw(t, testSecret, `{"typ":"JWT"}`, payloadJSON("")), sdk.ErrAlgorithm},
		{"alg number", signRaw(t, testSecret, `{"alg":256}`, payloadJSON("")), sdk.ErrMalformed},
		{"alg duplicate", signRaw(t, testSecret, `{"alg":"HS256","alg":"none"}`, payloadJSON("")), sdk.ErrMalformed},
		{"alg none, payload not base64", b64(`{"alg":"none"}`) + ".e$J.", sdk.ErrMalformed},
		{"alg none, four segments", b64(`{"alg":"none"}`) + "." + p + ".x.", sdk.ErrMalformed},
		{"alg none, signature not base64", b64(`{"alg":"none"}`) + "." + p + ".$", sdk.ErrMalformed},

		// crit (RFC 7515, 4.1.11): no extension is understood, so any
		// crit is refused, whatever it lists (issue 10, finding 8).
		{"crit b64", signRaw(t, testSecret, `{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":true}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit exp", signRaw(t, testSecret, `{"alg":"HS256","crit":["exp"],"exp":1}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit empty", signRaw(t, testSecret, `{"crit":[],"alg":"HS256"}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit null", signRaw(t, testSecret, `{"alg":"HS256","crit":null}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit string", signRaw(t, testSecret, `{"alg":"HS256","crit":"x"}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit escaped", signRaw(t, testSecret, `{"alg":"HS256","c\u0072it":["x"]}`, payloadJSON("")), sdk.ErrMalformed},
		{"crit with alg none", b64(`{"alg":"none","crit":["x"]}`) + "." + p + ".", sdk.ErrMalformed},

		// The signature segment's shape (issue 10, finding 9a): strict
		// base64url, like every segment, and 32 bytes for HS256.
		{"empty signature", h + "." + p + ".", sdk.ErrMalformed},
		{"truncated signature", h + "." + p + "." + sig[:42], sdk.ErrMalformed},
		{"signature of 31 bytes", h + "." + p + "." + sig[:40] + "AA", sdk.ErrMalformed},
		{"signature of 33 bytes", h + "." + p + "." + b64(strings.Repeat("x", 33)), sdk.ErrMalformed},
		{"signature of 64 bytes", h + "." + p + "." + b64(strings.Repeat("x", 64)), sdk.ErrMalformed},
		{"padded signature", h + "." + p + "." + sig + "=", sdk.ErrMalformed},
		{"signature not base64", h + "." + p + "." + strings.Repeat("$", 43), sdk.ErrMalformed},
		{"signature not base64, other length", h + "." + p + "." + strings.Repeat("$", 10), sdk.ErrMalformed},
		{"signature non-canonical last char", h + "." + p + "." + sig[:42] + flipLowBits(sig[42]), sdk.ErrMalformed},
		{"signature in standard base64", h + "." + p + "." + strings.NewReplacer("-", "+", "_", "/").Replace(sig[:42]) + "+", sdk.ErrMalformed},

		// Signature.
		{"wrong secret", sdktest.Minter{Secret: "other", ClientID: testClientID, Shop: testShop, Now: fixedClock(epoch)}.Admin(), sdk.ErrSignature},
		{"tampered payload", h + "." + b64(strings.Replace(payloadJSON(""), `"sub":"42"`, `"sub":"1"`, 1)) + "." + sig, sdk.ErrSignature},
		{"signature of other token", h + "." + p + "." + sigOf(m.Admin(sdktest.Set("sub", "7"))), sdk.ErrSignature},

		// Time.
		{"expired", m.Admin(sdktest.At(epoch.Add(-10 * time.Minute))), sdk.ErrExpired},
		{"not yet valid", m.Admin(sdktest.At(epoch.Add(10 * time.Minute))), sdk.ErrNotYetValid},
		{"iat in the future", m.Admin(sdktest.Delete("nbf"), sdktest.Set("iat", epoch.Unix()+11)), sdk.ErrNotYetValid},
		{"negative exp", m.Admin(sdktest.Set("exp", -1)), sdk.ErrExpired},

		// Audience.
		{"other app", m.Admin(sdktest.Set("aud", "other-client")), sdk.ErrAudience},
		{"missing aud", m.Admin(sdktest.Delete("aud")), sdk.ErrAudience},
		{"aud case differs", m.Admin(sdktest.Set("aud", strings.ToUpper(testClientID))), sdk.ErrAudience},

		// Issuer and destination.
		{"missing dest", m.Admin(sdktest.Delete("dest")), sdk.ErrIssuer},
		{"dest not a shop", m.Admin(sdktest.Set("dest", "https://evil.example.com"), sdktest.Set("iss", "https://evil.example.com/admin")), sdk.ErrIssuer},
		{"dest two labels", m.Admin(sdktest.Set("dest", "https://a.b.myshopify.com"), sdktest.Set("iss", "https://a.b.myshopify.com/admin")), sdk.ErrIssuer},
		{"dest bare suffix", m.Admin(sdktest.Set("dest", "https://myshopify.com"), sdktest.Delete("iss")), sdk.ErrIssuer},
		{"dest suffix lookalike", m.Admin(sdktest.Set("dest", "https://shop.myshopify.com.evil.com"), sdktest.Delete("iss")), sdk.ErrIssuer},
		{"dest http", m.Admin(sdktest.Set("dest", "http://"+testShop), sdktest.Delete("iss")), sdk.ErrIssuer},
		{"dest other scheme", m.Admin(sdktest.Set("dest", "ftp://"+testShop), sdktest.Delete("iss")), sdk.ErrIssuer},
		{"dest with path", m.Admin(sdktest.Set("dest", "https://"+testShop+"/x")), sdk.ErrIssuer},
		{"dest with port", m.Admin(sdktest.Set("dest", "https://"+testShop+":443")), sdk.ErrIssuer},
		{"dest with userinfo", m.Admin(sdktest.Set("dest", "https://evil@"+testShop)), sdk.ErrIssuer},
		{"dest upper case", m.Admin(sdktest.Set("dest", "https://ExampleShop.myshopify.com")), sdk.ErrIssuer},
		{"dest empty", m.Admin(sdktest.Set("dest", "")), sdk.ErrIssuer},
		{"iss other shop", m.Admin(sdktest.Set("iss", "https://other.myshopify.com/admin")), sdk.ErrIssuer},
		{"iss empty", m.Admin(sdktest.Set("iss", "")), sdk.ErrIssuer},
		{"iss http", m.Admin(sdktest.Set("iss", "http://"+testShop+"/admin")), sdk.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := v.Verify(context.Background(), tt.token)
			checkResult(t, tt.token, s, err, tt.want)
		})
	}
}

func parts(token string) (h, p, sig string) {
	s := strings.Split(token, ".")
	return s[0], s[1], s[2]
}

func sigOf(token string) string { _, _, s := parts(token); return s }

// flipLowBits returns a base64url character that decodes to the same six
// bits but for its two lowest, which an unpadded 32-byte signature leaves
// unused: a second spelling of the same signature that a strict decoder
// refuses.
func flipLowBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// TestTimeBoundaries checks the exact boundaries of the doc: valid iff
// now < exp + leeway and now >= nbf - leeway (and iat - leeway), at the
// boundary and one second either side, for the default and another leeway.
func TestTimeBoundaries(t *testing.T) {
	m := minter() // iat = nbf = epoch, exp = epoch + 60
	token := m.Admin()
	iatOnly := m.Admin(sdktest.Delete("nbf"))
	exp := epoch.Add(60 * time.Second)
	for _, leeway := range []time.Duration{10 * time.Second, 0, 30 * time.Second} {
		tests := []struct {
			name  string
			token string
			now   time.Time
			want  error
		}{
			{"exp+leeway-1s", token, exp.Add(leeway - time.Second), nil},
			{"exp+leeway-1ns", token, exp.Add(leeway - time.Nanosecond), nil},
			{"exp+leeway", token, exp.Add(leeway), sdk.ErrExpired},
			{"exp+leeway+1s", token, exp.Add(leeway + time.Second), sdk.ErrExpired},
			{"nbf-leeway-1s", token, epoch.Add(-leeway - time.Second), sdk.ErrNotYetValid},
			{"nbf-leeway-1ns", token, epoch.Add(-leeway - time.Nanosecond), sdk.ErrNotYetValid},
			{"nbf-leeway", token, epoch.Add(-leeway), nil},
			{"nbf-leeway+1s", token, epoch.Add(-leeway + time.Second), nil},
			{"iat-leeway-1s", iatOnly, epoch.Add(-leeway - time.Second), sdk.ErrNotYetValid},
			{"iat-leeway", iatOnly, epoch.Add(-leeway), nil},
			{"iat-leeway+1s", iatOnly, epoch.Add(-leeway + time.Second), nil},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("leeway=%v/%s", leeway, tt.name), func(t *testing.T) {
				v, err := sdk.New(keysource.MustStatic(testSecret), sdk.WithClientID(testClientID),
					sdk.WithLeeway(leeway), sdk.WithClock(fixedClock(tt.now)), sdk.WithCacheSize(0))
				if err != nil {
					t.Fatal(err)
				}
				s, err := v.Verify(context.Background(), tt.token)
				checkResult(t, tt.token, s, err, tt.want)
			})
		}
	}
}

// TestClockErrorMessages checks that clock errors say by how much and with
// which leeway, so that a developer can tell skew from stale tokens.
func TestClockErrorMessages(t *testing.T) {
	m := minter()
	v := newVerifier(t, keysource.MustStatic(testSecret))
	_, err := v.Verify(context.Background(), m.Admin(sdktest.At(epoch.Add(-135*time.Second))))
	if want := "exp was 75s ago (leeway 10s)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("expired: got %v, want it to contain %q", err, want)
	}
	_, err = v.Verify(context.Background(), m.Admin(sdktest.At(epoch.Add(42*time.Second))))
	if want := "nbf is 42s in the future (leeway 10s)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("not yet valid: got %v, want it to contain %q", err, want)
	}
}

// TestClockErrorsTyped: clock failures are *ExpiredError and
// *NotYetValidError (errors.As), carrying the times and the leeway, and
// still match their sentinels.
func TestClockErrorsTyped(t *testing.T) {
	m := minter() // iat = nbf = epoch, exp = epoch + 60
	v := newVerifier(t, keysource.MustStatic(testSecret), sdk.WithLeeway(5*time.Second))

	tok := m.Admin(sdktest.At(epoch.Add(-135 * time.Second))) // exp = epoch - 75 s
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrExpired)
	var expired *sdk.ExpiredError
	if !errors.As(err, &expired) {
		t.Fatalf("errors.As(%v, *ExpiredError) = false", err)
	}
	if !expired.ExpiresAt.Equal(epoch.Add(-75*time.Second)) || !expired.Now.Equal(epoch) || expired.Leeway != 5*time.Second {
		t.Errorf("ExpiredError %+v, want exp %v, now %v, leeway 5s", expired, epoch.Add(-75*time.Second), epoch)
	}
	if got := expired.Now.Sub(expired.ExpiresAt); got != 75*time.Second {
		t.Errorf("expired by %v, want 75s", got)
	}
	if want := "sdk: token expired: exp was 75s ago (leeway 5s)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	var nyv *sdk.NotYetValidError
	if errors.As(err, &nyv) {
		t.Errorf("an expired token's error is also a NotYetValidError")
	}

	for _, tc := range []struct {
		name  string
		token string
		claim string
		from  time.Time
	}{
		{"nbf", m.Admin(sdktest.At(epoch.Add(42 * time.Second))), "nbf", epoch.Add(42 * time.Second)},
		{"iat", m.Admin(sdktest.Delete("nbf"), sdktest.Set("iat", epoch.Add(30*time.Second).Unix())), "iat", epoch.Add(30 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := v.Verify(context.Background(), tc.token)
			checkResult(t, tc.token, s, err, sdk.ErrNotYetValid)
			var e *sdk.NotYetValidError
			if !errors.As(err, &e) {
				t.Fatalf("errors.As(%v, *NotYetValidError) = false", err)
			}
			if e.Claim != tc.claim || !e.ValidFrom.Equal(tc.from) || !e.Now.Equal(epoch) || e.Leeway != 5*time.Second {
				t.Errorf("NotYetValidError %+v, want %s at %v, now %v, leeway 5s", e, tc.claim, tc.from, epoch)
			}
			if errors.As(err, new(*sdk.ExpiredError)) {
				t.Errorf("a not-yet-valid token's error is also an ExpiredError")
			}
		})
	}
}

func TestRotation(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret, prevSecret))
	old := minter()
	old.Secret = prevSecret

	t.Run("previous secret verifies with its key ID", func(t *testing.T) {
		s, err := v.Verify(context.Background(), old.Admin())
		checkResult(t, "", s, err, nil)
		if s.KeyID != "static:previous" {
			t.Errorf("KeyID %q, want static:previous", s.KeyID)
		}
	})
	t.Run("current secret verifies with its key ID", func(t *testing.T) {
		s, err := v.Verify(context.Background(), minter().Admin())
		checkResult(t, "", s, err, nil)
		if s.KeyID != "static:current" {
			t.Errorf("KeyID %q, want static:current", s.KeyID)
		}
	})
	t.Run("expired token signed with current secret stays expired", func(t *testing.T) {
		tok := minter().Admin(sdktest.At(epoch.Add(-time.Hour)))
		s, err := v.Verify(context.Background(), tok)
		checkResult(t, tok, s, err, sdk.ErrExpired)
	})
	t.Run("expired token signed with previous secret stays expired", func(t *testing.T) {
		tok := old.Admin(sdktest.At(epoch.Add(-time.Hour)))
		s, err := v.Verify(context.Background(), tok)
		checkResult(t, tok, s, err, sdk.ErrExpired)
	})
	t.Run("neither secret", func(t *testing.T) {
		other := minter()
		other.Secret = "third"
		tok := other.Admin()
		s, err := v.Verify(context.Background(), tok)
		checkResult(t, tok, s, err, sdk.ErrSignature)
	})
}

// keyClientSource serves two apps' keys, each bound to its client ID.
type keyClientSource struct{ ring *keysource.Keyring }

func (s keyClientSource) Keyring() *keysource.Keyring { return s.ring }

func TestKeysBoundToClients(t *testing.T) {
	ring, err := keysource.NewKeyring(epoch,
		keysource.Key{ID: "app-a", ClientID: "client-a", Secret: keysource.NewSecret("secret-a")},
		keysource.Key{ID: "app-b", ClientID: "client-b", Secret: keysource.NewSecret("secret-b")},
	)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sdk.New(keyClientSource{ring}, sdk.WithClientID("client-a", "client-b"), sdk.WithClock(fixedClock(epoch)))
	if err != nil {
		t.Fatal(err)
	}
	a := sdktest.Minter{Secret: "secret-a", ClientID: "client-a", Shop: testShop, Now: fixedClock(epoch)}
	b := sdktest.Minter{Secret: "secret-b", ClientID: "client-b", Shop: testShop, Now: fixedClock(epoch)}
	tests := []struct {
		name, token, keyID string
		want               error
	}{
		{"app a", a.Admin(), "app-a", nil},
		{"app b", b.Admin(), "app-b", nil},
		{"a's key claiming b", a.Admin(sdktest.Set("aud", "client-b")), "", sdk.ErrAudience},
		{"b's key claiming a", b.Admin(sdktest.Set("aud", "client-a")), "", sdk.ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := v.Verify(context.Background(), tt.token)
			checkResult(t, tt.token, s, err, tt.want)
			if s != nil && s.KeyID != tt.keyID {
				t.Errorf("KeyID %q, want %q", s.KeyID, tt.keyID)
			}
		})
	}
}

func TestWithoutAudienceCheck(t *testing.T) {
	v, err := sdk.New(keysource.MustStatic(testSecret), sdk.WithoutAudienceCheck(), sdk.WithClock(fixedClock(epoch)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{minter().Admin(sdktest.Set("aud", "any-app")), minter().Admin(sdktest.Delete("aud"))} {
		s, err := v.Verify(context.Background(), tok)
		checkResult(t, tok, s, err, nil)
	}
}

func TestShopDomainSuffixes(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret), sdk.WithShopDomainSuffixes(".myshopify.com", ".shopify-dev.io"))
	m := minter()
	tok0 := m.Admin()
	s0, err := v.Verify(context.Background(), tok0)
	checkResult(t, tok0, s0, err, nil)
	m.Shop = "dev-shop.shopify-dev.io"
	tok := m.Admin()
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, nil)
	if s.Shop != "dev-shop.shopify-dev.io" {
		t.Errorf("shop %q", s.Shop)
	}
	m.Shop = "dev-shop.example.io"
	tok = m.Admin()
	s, err = v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrIssuer)
}

func TestNoKeys(t *testing.T) {
	v := newVerifier(t, emptySource{}) // a source whose first load failed holds no keys
	tok := minter().Admin()
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrNoKeys)
}

// TestErrNoKeysIsOneValue: sdk.ErrNoKeys and keysource.ErrNoKeys are the
// same error, so either name matches a Verify error and a key source's
// error alike.
func TestErrNoKeysIsOneValue(t *testing.T) {
	_, verifyErr := newVerifier(t, emptySource{}).Verify(context.Background(), minter().Admin())
	_, sourceErr := keysource.Static()
	_, ringErr := keysource.NewKeyring(epoch)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Verify without keys", verifyErr},
		{"keysource.Static()", sourceErr},
		{"keysource.NewKeyring()", ringErr},
	} {
		if !errors.Is(tc.err, sdk.ErrNoKeys) || !errors.Is(tc.err, keysource.ErrNoKeys) {
			t.Errorf("%s: %v: errors.Is(err, sdk.ErrNoKeys) = %v, errors.Is(err, keysource.ErrNoKeys) = %v, want both true",
				tc.name, tc.err, errors.Is(tc.err, sdk.ErrNoKeys), errors.Is(tc.err, keysource.ErrNoKeys))
		}
	}
	if sdk.ErrorName(sourceErr) != "no_keys" {
		t.Errorf("ErrorName(%v) = %q, want no_keys", sourceErr, sdk.ErrorName(sourceErr))
	}
}

// TestShopDomainSuffixesAdd: the option adds suffixes; .myshopify.com
// (every real shop) stays allowed.
func TestShopDomainSuffixesAdd(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret),
		sdk.WithShopDomainSuffixes(".shopify-dev.io"), sdk.WithShopDomainSuffixes(".example.test"))
	for _, tc := range []struct {
		shop string
		want error
	}{
		{"real-shop.myshopify.com", nil},
		{"dev-shop.shopify-dev.io", nil},
		{"test-shop.example.test", nil},
		{"other.example.io", sdk.ErrIssuer},
	} {
		m := minter()
		m.Shop = tc.shop
		tok := m.Admin()
		s, err := v.Verify(context.Background(), tok)
		checkResult(t, tok, s, err, tc.want)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		src  keysource.Source
		opts []sdk.Option
		msg  string
	}{
		{"no client ID", keysource.MustStatic(testSecret), nil, "no client ID"},
		{"empty client ID", keysource.MustStatic(testSecret), []sdk.Option{sdk.WithClientID("")}, "empty client ID"},
		{"negative leeway", keysource.MustStatic(testSecret), []sdk.Option{sdk.WithoutAudienceCheck(), sdk.WithLeeway(-time.Second)}, "leeway"},
		{"huge leeway", keysource.MustStatic(testSecret), []sdk.Option{sdk.WithoutAudienceCheck(), sdk.WithLeeway(time.Hour)}, "leeway"},
		{"negative cache", keysource.MustStatic(testSecret), []sdk.Option{sdk.WithoutAudienceCheck(), sdk.WithCacheSize(-1)}, "cache"},
		{"bad suffix", keysource.MustStatic(testSecret), []sdk.Option{sdk.WithoutAudienceCheck(), sdk.WithShopDomainSuffixes("myshopify.com")}, "suffix"},
		{"nil source", nil, []sdk.Option{sdk.WithoutAudienceCheck()}, "nil key source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := sdk.New(tt.src, tt.opts...)
			if err == nil || v != nil {
				t.Fatalf("want an error, got %v, %v", v, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestCachedSessionRechecksExpiry verifies that a cached session is not
// served past exp + leeway.
func TestCachedSessionRechecksExpiry(t *testing.T) {
	now := epoch
	v, err := sdk.New(keysource.MustStatic(testSecret), sdk.WithClientID(testClientID), sdk.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	tok := minter().Admin()
	first, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, first, err, nil)
	second, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, second, err, nil)
	if first != second {
		t.Errorf("second verification did not come from the cache")
	}
	now = epoch.Add(70 * time.Second) // exp + leeway
	s, err := v.Verify(context.Background(), tok)
	checkResult(t, tok, s, err, sdk.ErrExpired)
}

func TestVerifierStringHidesKeys(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret))
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		if out := fmt.Sprintf(format, v); strings.Contains(out, testSecret) {
			t.Errorf("%s of verifier shows the secret: %s", format, out)
		}
	}
}

func TestErrorName(t *testing.T) {
	names := map[error]string{
		sdk.ErrMalformed: "malformed", sdk.ErrAlgorithm: "algorithm", sdk.ErrSignature: "signature",
		sdk.ErrExpired: "expired", sdk.ErrNotYetValid: "not_yet_valid", sdk.ErrAudience: "audience",
		sdk.ErrIssuer: "issuer", sdk.ErrNoKeys: "no_keys", nil: "", errors.New("x"): "other",
	}
	for err, want := range names {
		if got := sdk.ErrorName(fmt.Errorf("wrapped: %w", err)); err != nil && got != want {
			t.Errorf("ErrorName(%v) = %q, want %q", err, got, want)
		}
	}
	if sdk.ErrorName(nil) != "" {
		t.Errorf("ErrorName(nil) not empty")
	}
}

// TestVerifyBearerHeaderValue: passing the Authorization header's value
// instead of the token is ErrMalformed with a message that says what to do.
func TestVerifyBearerHeaderValue(t *testing.T) {
	v := newVerifier(t, keysource.MustStatic(testSecret))
	tok := minter().Admin()
	for _, value := range []string{"Bearer " + tok, "bearer\t" + tok, "BEARER  " + tok, "Bearer x"} {
		s, err := v.Verify(context.Background(), value)
		checkResult(t, value, s, err, sdk.ErrMalformed)
		if !strings.Contains(err.Error(), `starts with "Bearer "`) || !strings.Contains(err.Error(), "sdk.TokenFromRequest") {
			t.Errorf("Verify(%.10q...) error %q does not say to pass the token alone", value, err)
		}
	}
	// A token that merely starts with the letters is not mistaken for one.
	s, err := v.Verify(context.Background(), "Bearerx.y.z")
	checkResult(t, "Bearerx.y.z", s, err, sdk.ErrMalformed)
	if strings.Contains(err.Error(), "Bearer") {
		t.Errorf("error %q blames a Bearer prefix", err)
	}
}

// TestMaxTokenSize: the size limit is MaxTokenSize by default and
// WithMaxTokenSize changes it both ways; a large limit does not let a
// long header overrun the header's decode buffer.
func TestMaxTokenSize(t *testing.T) {
	m := minter()
	padded := func(n int) string { // a valid token of n-2 to n bytes
		t.Helper()
		var tok string
		base := len(m.Admin(sdktest.Set("pad", "")))
		for pad := max(0, (n-base)*3/4-8); ; pad++ {
			next := m.Admin(sdktest.Set("pad", strings.Repeat("x", pad)))
			if len(next) > n {
				break
			}
			tok = next
		}
		if len(tok) < n-2 {
			t.Fatalf("padded token of %d bytes, want %d-%d", len(tok), n-2, n)
		}
		return tok
	}
	atDefault, overDefault := padded(sdk.MaxTokenSize), padded(sdk.MaxTokenSize+4)
	big := padded(9000)
	longHeader := signRaw(t, testSecret, `{"alg":"HS256","typ":"JWT","x":"`+strings.Repeat("h", 6000)+`"}`, payloadJSON(""))

	tests := []struct {
		name  string
		opts  []sdk.Option
		token string
		want  error
	}{
		{"default: at the limit", nil, atDefault, nil},
		{"default: over the limit", nil, overDefault, sdk.ErrMalformed},
		{"default: 9000 bytes", nil, big, sdk.ErrMalformed},
		{"raised: 9000 bytes", []sdk.Option{sdk.WithMaxTokenSize(10_000)}, big, nil},
		{"raised: long header", []sdk.Option{sdk.WithMaxTokenSize(10_000)}, longHeader, sdk.ErrMalformed},
		{"lowered: a real token", []sdk.Option{sdk.WithMaxTokenSize(100)}, m.Admin(), sdk.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cache := range []int{0, 10} {
				v := newVerifier(t, keysource.MustStatic(testSecret), append(tt.opts, sdk.WithCacheSize(cache))...)
				for range 2 { // twice: the second may come from the cache
					s, err := v.Verify(context.Background(), tt.token)
					checkResult(t, tt.token, s, err, tt.want)
				}
			}
		})
	}
	_, err := newVerifier(t, keysource.MustStatic(testSecret), sdk.WithMaxTokenSize(100)).Verify(context.Background(), m.Admin())
	if !strings.Contains(err.Error(), "limit is 100") {
		t.Errorf("error %q does not give the configured limit", err)
	}
}

// TestNewBoundsSizes: sizes too large to allocate, or nonsensical, are
// errors from New, never a crash.
func TestNewBoundsSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sdk.Option
		ok   bool
	}{
		{"cache at the limit", sdk.WithCacheSize(1 << 20), true},
		{"cache over the limit", sdk.WithCacheSize(1<<20 + 1), false},
		{"cache of MaxInt", sdk.WithCacheSize(math.MaxInt), false},
		{"token size at the limit", sdk.WithMaxTokenSize(64 << 10), true},
		{"token size over the limit", sdk.WithMaxTokenSize(64<<10 + 1), false},
		{"token size zero", sdk.WithMaxTokenSize(0), false},
		{"token size negative", sdk.WithMaxTokenSize(-1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := sdk.New(keysource.MustStatic(testSecret), sdk.WithClientID(testClientID), tc.opt)
			if tc.ok != (err == nil) || (v == nil) == (err == nil) {
				t.Fatalf("New = %v, %v; want ok = %v", v, err, tc.ok)
			}
		})
	}
}
