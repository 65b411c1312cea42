// Package sdktest mints Shopify-shaped session tokens for tests: your
// handlers' tests, and this module's own. Tokens are signed with the
// standard library's crypto/hmac, sharing no code with the verifier under
// test (and this module's test suite checks that golang-jwt, an
// independent implementation, accepts them).
//
// Never use it to mint tokens outside tests and development tools: a
// token it mints is as good as one from Shopify to a verifier that shares
// the secret.
package sdktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"time"
)

// DefaultSecret is the secret a Minter signs with when its Secret is
// empty: shaped as a Shopify client secret ("shpss_" and 32 characters),
// so that keysource's sources accept it.
const DefaultSecret = "shpss_sdktest0000000000000000000000000"

// Minter mints tokens for one app and shop. The zero value mints for
// client "test-client-id", shop "example.myshopify.com", user "42", at
// time.Now, with secret DefaultSecret.
type Minter struct {
	Secret   string
	ClientID string
	// Shop is the shop's domain, without scheme.
	Shop string
	// UserID is sub for admin/POS tokens.
	UserID string
	// Now is the clock; iat and nbf are Now, exp is Now + 60 s (admin/POS)
	// or + 5 min (checkout), as Shopify issues them.
	Now func() time.Time
	// EscapeSlashes writes "/" as "\/" in the claims JSON, as Shopify's
	// tokens do.
	EscapeSlashes bool
}

// Claim changes a token's claims before signing: set, override or delete.
type Claim func(map[string]any)

// Set sets claim name to value (any JSON-encodable value, including wrong
// types for negative tests).
func Set(name string, value any) Claim {
	return func(c map[string]any) { c[name] = value }
}

// Delete removes claim name.
func Delete(name string) Claim {
	return func(c map[string]any) { delete(c, name) }
}

// At shifts iat, nbf and exp so that the token is issued at t.
func At(t time.Time) Claim {
	return func(c map[string]any) {
		iat, _ := c["iat"].(int64)
		d := t.Unix() - iat
		for _, k := range []string{"iat", "nbf", "exp"} {
			if v, ok := c[k].(int64); ok {
				c[k] = v + d
			}
		}
	}
}

func (m Minter) defaults() Minter {
	if m.Secret == "" {
		m.Secret = DefaultSecret
	}
	if m.ClientID == "" {
		m.ClientID = "test-client-id"
	}
	if m.Shop == "" {
		m.Shop = "example.myshopify.com"
	}
	if m.UserID == "" {
		m.UserID = "42"
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	return m
}

// AdminClaims returns the claims of an admin/POS token, as
// api.session.getSessionToken() returns in POS.
func (m Minter) AdminClaims() map[string]any {
	m = m.defaults()
	now := m.Now().Unix()
	return map[string]any{
		"iss":  "https://" + m.Shop + "/admin",
		"dest": "https://" + m.Shop,
		"aud":  m.ClientID,
		"sub":  m.UserID,
		"exp":  now + 60,
		"nbf":  now,
		"iat":  now,
		"jti":  randomUUID(),
		"sid":  randomHex(32),
	}
}

// CheckoutClaims returns the claims of a checkout / customer-account
// extension token: dest without scheme, no iss, no sid, no sub, 5 min
// lifetime. Add a customer with Set("sub", "gid://shopify/Customer/1").
func (m Minter) CheckoutClaims() map[string]any {
	m = m.defaults()
	now := m.Now().Unix()
	return map[string]any{
		"dest": m.Shop,
		"aud":  m.ClientID,
		"exp":  now + 300,
		"nbf":  now,
		"iat":  now,
		"jti":  randomUUID(),
	}
}

// Admin mints an admin/POS token with the given claim changes.
func (m Minter) Admin(changes ...Claim) string {
	return m.mint(m.AdminClaims(), changes)
}

// Checkout mints a checkout-extension token with the given claim changes.
func (m Minter) Checkout(changes ...Claim) string {
	return m.mint(m.CheckoutClaims(), changes)
}

func (m Minter) mint(claims map[string]any, changes []Claim) string {
	claims = maps.Clone(claims)
	for _, ch := range changes {
		ch(claims)
	}
	tok, err := Sign(m.defaults().Secret, claims, m.EscapeSlashes)
	if err != nil {
		panic(fmt.Sprintf("sdktest: %v", err)) // only for unencodable test claims
	}
	return tok
}

// Sign encodes claims under the header {"alg":"HS256","typ":"JWT"} and
// signs them with HMAC-SHA256 (HS256) using secret's raw bytes.
func Sign(secret string, claims map[string]any, escapeSlashes bool) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("sdktest: encode claims: %w", err)
	}
	if escapeSlashes {
		// "/" appears only inside strings in JSON, so this is exact.
		payload = bytes.ReplaceAll(payload, []byte("/"), []byte(`\/`))
	}
	return SignRaw(secret, []byte(`{"alg":"HS256","typ":"JWT"}`), payload)
}

// SignRaw signs arbitrary header and payload bytes, for tests of malformed
// or hostile tokens.
func SignRaw(secret string, header, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signingInput))
	return signingInput + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
