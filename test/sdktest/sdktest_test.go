// Package sdktest_test checks sdktest's tokens with golang-jwt, an
// implementation independent of both the minter and the verifier: it
// verifies them and reads the claims their payload holds. The core
// module's own tests (sdk/sdktest) check SignRaw against RFC 7515's test
// vector and assert the claims' shape on that payload.
package sdktest_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/possession-dev/possession/sdk/sdktest"
)

var now = time.Unix(1_800_000_000, 0)

func parse(t *testing.T, secret, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now })).ParseWithClaims(token, claims,
		func(*jwt.Token) (any, error) { return []byte(secret), nil })
	if err != nil {
		t.Fatalf("golang-jwt rejects the minted token: %v", err)
	}
	return claims
}

// TestGolangJWTAcceptsMinted: golang-jwt verifies minted admin and
// checkout tokens at now with the secret they were minted with, and reads
// exactly the claims of their payload.
func TestGolangJWTAcceptsMinted(t *testing.T) {
	clock := func() time.Time { return now }
	tests := []struct {
		name, secret, token string
	}{
		{"admin", "s", sdktest.Minter{Secret: "s", ClientID: "c", Shop: "a.myshopify.com", UserID: "7", Now: clock}.Admin()},
		{"checkout", sdktest.DefaultSecret, sdktest.Minter{Now: clock}.Checkout(sdktest.Set("sub", "gid://shopify/Customer/1"))},
		{"escaped slashes, a claim deleted", sdktest.DefaultSecret, sdktest.Minter{Now: clock, EscapeSlashes: true}.Admin(sdktest.Delete("sid"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parse(t, tt.secret, tt.token)
			payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tt.token, ".")[1])
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(payload, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(map[string]any(got), want) {
				t.Errorf("golang-jwt reads %v, the payload holds %v", got, want)
			}
		})
	}
}
