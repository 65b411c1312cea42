package benchmarks

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

// A peer verifies a token with one library, configured with the checks
// possession makes: HS256 only, exp required, exp/nbf/iat with 10 s
// leeway, aud equal to the client ID, dest a shop domain and iss (when
// present) on the same host. It returns the shop and the user.
type peer struct {
	name   string
	verify func(token string) (shop, user string, err error)
}

// peers returns every library, reading the time from now. cacheSize
// applies to possession only (0 disables its cache).
func peers(now func() time.Time, cacheSize int) []peer {
	return []peer{
		possessionPeer(now, cacheSize),
		golangJWTPeer(now),
		jwxPeer(now),
		goJosePeer(now),
	}
}

func possessionPeer(now func() time.Time, cacheSize int) peer {
	v, err := sdk.New(keysource.MustStatic(secret),
		sdk.WithClientID(clientID),
		sdk.WithLeeway(leeway),
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
	return peer{name: name, verify: func(token string) (string, string, error) {
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

func golangJWTPeer(now func() time.Time) peer {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithAudience(clientID),
		jwt.WithTimeFunc(now),
	)
	key := []byte(secret)
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	return peer{name: "golang-jwt", verify: func(token string) (string, string, error) {
		var c shopifyClaims
		if _, err := p.ParseWithClaims(token, &c, keyFunc); err != nil {
			return "", "", err
		}
		h, err := shopHost(c.Dest, c.Issuer)
		return h, c.Subject, err
	}}
}

func jwxPeer(now func() time.Time) peer {
	key, err := jwk.Import([]byte(secret))
	if err != nil {
		panic(err)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(jwa.HS256(), key),
		jwxjwt.WithValidate(true),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(leeway),
		jwxjwt.WithAudience(clientID),
		jwxjwt.WithClock(jwxjwt.ClockFunc(now)),
	}
	return peer{name: "jwx", verify: func(token string) (string, string, error) {
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

func goJosePeer(now func() time.Time) peer {
	key := []byte(secret)
	algs := []jose.SignatureAlgorithm{jose.HS256}
	return peer{name: "go-jose", verify: func(token string) (string, string, error) {
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
		if err := c.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{clientID}, Time: now()}, leeway); err != nil {
			return "", "", err
		}
		h, err := shopHost(extra.Dest, c.Issuer)
		return h, c.Subject, err
	}}
}
