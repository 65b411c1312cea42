// Package peers configures possession and the JWT libraries Go teams use
// (golang-jwt v5, jwx v3, go-jose v4) with the same checks, for the
// benchmarks, the instruction-count drivers and the end-to-end servers of
// this module. benchmarks.TestPeersCheckTheSameThings proves the checks
// equivalent.
package peers

import (
	"context"
	"errors"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// The app every peer verifies for. Sizes are Shopify's: a 32-hex client
// ID, a secret with Shopify's shpss_ prefix.
const (
	Secret      = "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"
	OtherSecret = "shpss_ffffffffffffffffffffffffffffffff" // forgeries are signed with it
	ClientID    = "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"
	Leeway      = 10 * time.Second
)

// A Peer verifies a token with one library, configured with the checks
// possession makes: HS256 only, exp required, exp/nbf/iat with 10 s
// leeway, aud equal to ClientID, dest a shop domain and iss (when
// present) on the same host. It returns the shop and the user.
type Peer struct {
	Name   string
	Verify func(token string) (shop, user string, err error)
}

// All returns every library, reading the time from now. cacheSize
// applies to possession only (0 disables its cache).
func All(now func() time.Time, cacheSize int) []Peer {
	return []Peer{
		Possession(now, cacheSize),
		GolangJWT(now),
		JWX(now),
		GoJose(now),
	}
}

// Possession is possession's sdk.Verifier with a cache of cacheSize
// sessions (0: no cache), named "possession" or "possession-nocache".
func Possession(now func() time.Time, cacheSize int) Peer {
	v, err := sdk.New(keysource.MustStatic(Secret),
		sdk.WithClientID(ClientID),
		sdk.WithLeeway(Leeway),
		sdk.WithClock(now),
		sdk.WithCacheSize(cacheSize))
	if err != nil {
		panic(err) // static configuration
	}
	ctx := context.Background()
	name := "possession"
	if cacheSize == 0 {
		name = "possession-nocache"
	}
	return Peer{Name: name, Verify: func(token string) (string, string, error) {
		s, err := v.Verify(ctx, token)
		if err != nil {
			return "", "", err
		}
		return s.Shop, s.UserID, nil
	}}
}

var errShop = errors.New("dest is not a shop domain, or iss host differs")

// shopHost is the dest/iss check the peers need, since none of them knows
// Shopify's claims: dest's host must be one label + ".myshopify.com", and
// iss, when present, must be on that host.
func shopHost(dest, iss string) (string, error) {
	host := func(v string) string {
		v = strings.TrimPrefix(v, "https://")
		if strings.Contains(v, "://") {
			return ""
		}
		h, _, _ := strings.Cut(v, "/")
		return h
	}
	d := host(dest)
	label, ok := strings.CutSuffix(d, ".myshopify.com")
	if !ok || label == "" || strings.ContainsAny(label, "./:") {
		return "", errShop
	}
	if iss != "" && host(iss) != d {
		return "", errShop
	}
	return d, nil
}

// shopifyClaims is golang-jwt's view of a session token.
type shopifyClaims struct {
	jwt.RegisteredClaims
	Dest string `json:"dest"`
	Sid  string `json:"sid"`
}

// GolangJWT is golang-jwt v5's Parser with the same checks.
func GolangJWT(now func() time.Time) Peer {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithAudience(ClientID),
		jwt.WithTimeFunc(now),
	)
	key := []byte(Secret)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return Peer{Name: "golang-jwt", Verify: func(token string) (string, string, error) {
		var c shopifyClaims
		if _, err := p.ParseWithClaims(token, &c, keyFunc); err != nil {
			return "", "", err
		}
		h, err := shopHost(c.Dest, c.Issuer)
		return h, c.Subject, err
	}}
}

// JWX is jwx v3's jwt.ParseString with the same checks.
func JWX(now func() time.Time) Peer {
	key, err := jwk.Import([]byte(Secret))
	if err != nil {
		panic(err)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(jwa.HS256(), key),
		jwxjwt.WithValidate(true),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(Leeway),
		jwxjwt.WithAudience(ClientID),
		jwxjwt.WithClock(jwxjwt.ClockFunc(now)),
	}
	return Peer{Name: "jwx", Verify: func(token string) (string, string, error) {
		t, err := jwxjwt.ParseString(token, opts...)
		if err != nil {
			return "", "", err
		}
		var dest string
		if err := t.Get("dest", &dest); err != nil {
			return "", "", err
		}
		iss, _ := t.Issuer()
		sub, _ := t.Subject()
		h, err := shopHost(dest, iss)
		return h, sub, err
	}}
}

var errNoExp = errors.New("no exp claim")

// GoJose is go-jose v4's jwt package with the same checks.
func GoJose(now func() time.Time) Peer {
	key := []byte(Secret)
	algs := []jose.SignatureAlgorithm{jose.HS256}
	return Peer{Name: "go-jose", Verify: func(token string) (string, string, error) {
		t, err := josejwt.ParseSigned(token, algs)
		if err != nil {
			return "", "", err
		}
		var c josejwt.Claims
		var extra struct {
			Dest string `json:"dest"`
		}
		if err := t.Claims(key, &c, &extra); err != nil {
			return "", "", err
		}
		if c.Expiry == nil {
			return "", "", errNoExp
		}
		if err := c.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{ClientID}, Time: now()}, Leeway); err != nil {
			return "", "", err
		}
		h, err := shopHost(extra.Dest, c.Issuer)
		return h, c.Subject, err
	}}
}
