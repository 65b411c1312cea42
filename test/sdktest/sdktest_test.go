// Package sdktest_test checks sdktest's tokens with golang-jwt, an
// implementation independent of both the minter and the verifier. (The
// core module's own tests check them against RFC 7515's test vector.)
package sdktest_test

import (
	"encoding/base64"
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

func TestAdminShape(t *testing.T) {
	m := sdktest.Minter{Secret: "s", ClientID: "c", Shop: "a.myshopify.com", UserID: "7", Now: func() time.Time { return now }}
	c := parse(t, "s", m.Admin())
	if c["iss"] != "https://a.myshopify.com/admin" || c["dest"] != "https://a.myshopify.com" || c["aud"] != "c" || c["sub"] != "7" {
		t.Errorf("claims %v", c)
	}
	if c["exp"].(float64) != float64(now.Unix()+60) || c["nbf"] != c["iat"] || len(c["sid"].(string)) != 64 || len(c["jti"].(string)) != 36 {
		t.Errorf("claims %v", c)
	}
}

func TestCheckoutShape(t *testing.T) {
	m := sdktest.Minter{Now: func() time.Time { return now }}
	c := parse(t, sdktest.DefaultSecret, m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/1")))
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
	claims := jwt.MapClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Fatal(err)
	}
	if claims["sid"] != nil || claims["iat"].(float64) != float64(now.Add(-time.Hour).Unix()) || claims["exp"].(float64) != float64(now.Add(-time.Hour).Unix()+60) {
		t.Errorf("changes not applied: %v", claims)
	}
	// Two mints differ (fresh jti and sid), as Shopify's do.
	if a, b := m.Admin(), m.Admin(); a == b {
		t.Error("identical tokens")
	}
}
