package sdk_test

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

// Shared fixtures of this package's tests (copies of the core sdk tests'
// own: tests in another module cannot share a _test.go file).
const (
	testSecret   = "shpss_0123456789abcdef0123456789abcdef"
	prevSecret   = "shpss_previous0000000000000000000000"
	testClientID = "client-id-123"
	testShop     = "exampleshop.myshopify.com"
)

var epoch = time.Unix(1_800_000_000, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func minter() sdktest.Minter {
	return sdktest.Minter{Secret: testSecret, ClientID: testClientID, Shop: testShop, UserID: "42", Now: fixedClock(epoch)}
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

// flipLowBits returns a base64url character that decodes to the same six
// bits but for its two lowest, which an unpadded 32-byte signature leaves
// unused: a second spelling of the same signature that a strict decoder
// refuses.
func flipLowBits(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i^1])
}

func parts(token string) (h, p, sig string) {
	s := strings.Split(token, ".")
	return s[0], s[1], s[2]
}

func sigOf(token string) string { _, _, s := parts(token); return s }

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
// token.
func assertNoLeak(t *testing.T, msg, token string) {
	t.Helper()
	for _, secret := range []string{testSecret, prevSecret} {
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

// payloadJSON is a valid admin payload at epoch with extra members
// appended verbatim.
func payloadJSON(extra string) string {
	now := epoch.Unix()
	p := fmt.Sprintf(`{"iss":"https:\/\/%s\/admin","dest":"https:\/\/%s","aud":"%s","sub":"42","exp":%d,"nbf":%d,"iat":%d,"jti":"0f3b","sid":"ab12"`,
		testShop, testShop, testClientID, now+60, now, now)
	return p + extra + "}"
}

// emptySource has no keys, as a source whose first load failed.
type emptySource struct{}

func (emptySource) Keyring() *keysource.Keyring { return nil }
