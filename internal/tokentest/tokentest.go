// Package tokentest holds the fixtures of the sdk tests that live in two
// modules: the core's sdk tests and the test module's (test/sdk, which
// needs the OpenTelemetry SDK and golang-jwt). Test files cannot be shared
// across modules, so what both use is here: the app's secrets, the fixed
// clock, the minter, the generated token corpus and the assertion that an
// error is exactly one sentinel and leaks nothing.
//
// It imports only the standard library and the core module's own packages.
package tokentest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The app the tests verify tokens for.
const (
	Secret     = "shpss_0123456789abcdef0123456789abcdef"
	PrevSecret = "shpss_previous0000000000000000000000"
	ClientID   = "client-id-123"
	Shop       = "exampleshop.myshopify.com"
)

// HS256Header is the header Shopify signs its session tokens with.
const HS256Header = `{"alg":"HS256","typ":"JWT"}`

// Epoch is the fixed "now" of the tests.
var Epoch = time.Unix(1_800_000_000, 0)

// FixedClock returns a clock that always reads t.
func FixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// Minter mints tokens for the test app at Epoch.
func Minter() sdktest.Minter {
	return sdktest.Minter{Secret: Secret, ClientID: ClientID, Shop: Shop, UserID: "42", Now: FixedClock(Epoch)}
}

// B64 encodes s as a token segment.
func B64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// SignRaw signs header and payload verbatim with secret.
func SignRaw(t testing.TB, secret, header, payload string) string {
	t.Helper()
	tok, err := sdktest.SignRaw(secret, []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// PayloadJSON is a valid admin payload at Epoch with extra members
// appended verbatim.
func PayloadJSON(extra string) string {
	now := Epoch.Unix()
	p := fmt.Sprintf(`{"iss":"https:\/\/%s\/admin","dest":"https:\/\/%s","aud":"%s","sub":"42","exp":%d,"nbf":%d,"iat":%d,"jti":"0f3b","sid":"ab12"`,
		Shop, Shop, ClientID, now+60, now, now)
	return p + extra + "}"
}

// Parts splits a token of three segments.
func Parts(token string) (h, p, sig string) {
	s := strings.Split(token, ".")
	return s[0], s[1], s[2]
}

// SigOf is the signature segment of token.
func SigOf(token string) string { _, _, s := Parts(token); return s }

// FlipLowBits returns a base64url character that decodes to the same six
// bits but for its two lowest, which an unpadded 32-byte signature leaves
// unused: a second spelling of the same signature that a strict decoder
// refuses.
func FlipLowBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

// Sentinels are the verifier's errors a caller branches on.
var Sentinels = []error{
	sdk.ErrMalformed, sdk.ErrAlgorithm, sdk.ErrSignature, sdk.ErrExpired,
	sdk.ErrNotYetValid, sdk.ErrAudience, sdk.ErrIssuer, sdk.ErrKind, sdk.ErrNoKeys,
}

// CheckResult asserts that Verify returned a session and no error when
// want is nil, or a nil session and an error matching exactly want among
// the Sentinels, whose message holds neither the token nor a secret.
func CheckResult(t *testing.T, token string, s *sdk.Session, err, want error) {
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
	for _, other := range Sentinels {
		if other != want && errors.Is(err, other) {
			t.Fatalf("error %v also matches %v", err, other)
		}
	}
	AssertNoLeak(t, err.Error(), token)
}

// AssertNoLeak fails if msg contains a secret or any 16-character piece of
// token.
func AssertNoLeak(t *testing.T, msg, token string) {
	t.Helper()
	for _, secret := range []string{Secret, PrevSecret} {
		if strings.Contains(msg, secret) {
			t.Fatalf("message contains a secret: %q", msg)
		}
	}
	for i := 0; i+16 <= len(token); i++ {
		if strings.Contains(msg, token[i:i+16]) {
			t.Fatalf("message contains token fragment %q: %q", token[i:i+16], msg)
		}
	}
}

// EmptySource has no keys, as a source whose first load failed.
type EmptySource struct{}

// Keyring returns no keyring.
func (EmptySource) Keyring() *keysource.Keyring { return nil }
