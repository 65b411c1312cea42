package sdktest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

var now = time.Unix(1_800_000_000, 0)

// TestSignRawKnownAnswer signs RFC 7515's example (appendix A.1, HS256)
// and compares with the RFC's token: a check that shares no code with
// the verifier. (The test module's test/sdktest has golang-jwt verify
// minted tokens and read the same claims that the tests here assert on.)
func TestSignRawKnownAnswer(t *testing.T) {
	key, err := base64.RawURLEncoding.DecodeString("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
	if err != nil {
		t.Fatal(err)
	}
	header := "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"
	payload := "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
	const want = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9" +
		".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ" +
		".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	got, err := sdktest.SignRaw(string(key), []byte(header), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("SignRaw(RFC 7515 A.1) =\n%s\nwant\n%s", got, want)
	}
}

// decode returns a minted token's header and claims, after checking that
// re-signing them with secret reproduces the token (so the claims are
// exactly what was signed).
func decode(t *testing.T, secret, token string) (header string, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments, want 3", len(parts))
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := sdktest.SignRaw(secret, h, p); again != token {
		t.Fatalf("token is not signed with %q", secret)
	}
	if err := json.Unmarshal(p, &claims); err != nil {
		t.Fatal(err)
	}
	return string(h), claims
}

func TestAdminShape(t *testing.T) {
	m := sdktest.Minter{Secret: "s", ClientID: "c", Shop: "a.myshopify.com", UserID: "7", Now: func() time.Time { return now }}
	h, c := decode(t, "s", m.Admin())
	if h != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header %s", h)
	}
	if c["iss"] != "https://a.myshopify.com/admin" || c["dest"] != "https://a.myshopify.com" || c["aud"] != "c" || c["sub"] != "7" {
		t.Errorf("claims %v", c)
	}
	if c["exp"].(float64) != float64(now.Unix()+60) || c["nbf"] != c["iat"] || len(c["sid"].(string)) != 64 || len(c["jti"].(string)) != 36 {
		t.Errorf("claims %v", c)
	}
}

func TestCheckoutShape(t *testing.T) {
	m := sdktest.Minter{Now: func() time.Time { return now }}
	_, c := decode(t, sdktest.DefaultSecret, m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/1")))
	if c["dest"] != "example.myshopify.com" || c["iss"] != nil || c["sid"] != nil || c["sub"] != "gid://shopify/Customer/1" ||
		c["exp"].(float64) != float64(now.Unix()+300) {
		t.Errorf("claims %v", c)
	}
}

func TestChangesAndEscaping(t *testing.T) {
	m := sdktest.Minter{Now: func() time.Time { return now }, EscapeSlashes: true}
	tok := m.Admin(sdktest.Delete("sid"), sdktest.At(now.Add(-time.Hour)))
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !strings.Contains(string(payload), `https:\/\/example.myshopify.com`) {
		t.Errorf("slashes not escaped: %s", payload)
	}
	_, claims := decode(t, sdktest.DefaultSecret, tok)
	if claims["sid"] != nil || claims["iat"].(float64) != float64(now.Add(-time.Hour).Unix()) || claims["exp"].(float64) != float64(now.Add(-time.Hour).Unix()+60) {
		t.Errorf("changes not applied: %v", claims)
	}
	if a, b := m.Admin(), m.Admin(); a == b {
		t.Error("identical tokens")
	}
}
