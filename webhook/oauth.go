package webhook

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/url"
	"time"
)

// OAuthCallback is a verified OAuth callback: Shopify redirected the
// merchant back to the app's redirect URL after they approved the
// install, with a signed query.
type OAuthCallback struct {
	// Shop is the shop's myshopify.com domain.
	Shop string
	// Code is the authorization code to exchange for an access token.
	Code string
	// Host is the base64 host parameter Shopify adds ("" if absent).
	Host string
	// State is the callback's state, equal to the one the caller issued.
	State string
	// Timestamp is when Shopify signed the callback.
	Timestamp time.Time
	// Params holds every parameter but hmac and signature.
	Params url.Values
	// KeyID names the key whose HMAC matched.
	KeyID string
}

// VerifyOAuthCallback checks an OAuth callback's query (r.URL.RawQuery)
// and its state: hmac must be the lower-case hex HMAC-SHA256 of the other
// parameters (without hmac and signature) sorted by key, each as
// key=value form-urlencoded with spaces as %20, joined by "&"; timestamp
// must be within 90 seconds of now; state must equal wantState, the value
// the app issued when it sent the merchant to Shopify (from the user's
// signed cookie or session), compared in constant time; shop must be a
// myshopify.com domain and code present.
//
// No parameter may appear twice (ErrDuplicateParam): Shopify sends each
// once, and a repeated one would be signed differently from the value the
// app reads. Other errors wrap ErrQuery, ErrMissingParam, ErrTimestamp,
// ErrSignature, ErrState or ErrNoKeys.
func (v *Verifier) VerifyOAuthCallback(rawQuery, wantState string) (*OAuthCallback, error) {
	c, err := v.verifyOAuthCallback(rawQuery, wantState)
	v.tel.query(context.Background(), queryOAuth, err)
	return c, err
}

func (v *Verifier) verifyOAuthCallback(rawQuery, wantState string) (*OAuthCallback, error) {
	if wantState == "" {
		return nil, fmt.Errorf("%w: no state to compare with: pass the state the app issued", ErrState)
	}
	params, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	g := group(params)
	for _, k := range g.keys {
		if err := g.refuseRepeated(k); err != nil {
			return nil, err
		}
	}
	ts, keyID, err := v.checkSigned(g, "hmac", oauthMessage, "OAuth hmac")
	if err != nil {
		return nil, err
	}
	state := g.one("state")
	if state == "" {
		return nil, fmt.Errorf("%w: state", ErrMissingParam)
	}
	if subtle.ConstantTimeCompare([]byte(state), []byte(wantState)) != 1 {
		return nil, fmt.Errorf("%w: the callback's state is not the one issued", ErrState)
	}
	shop, err := shopParam(g)
	if err != nil {
		return nil, err
	}
	code := g.one("code")
	if code == "" {
		return nil, fmt.Errorf("%w: code", ErrMissingParam)
	}
	return &OAuthCallback{
		Shop:      shop,
		Code:      code,
		Host:      g.one("host"),
		State:     state,
		Timestamp: ts,
		Params:    g.urlValues("hmac", "signature"),
		KeyID:     keyID,
	}, nil
}
