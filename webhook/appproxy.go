package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// AppProxyRequest is a verified app proxy request: Shopify forwarded a
// storefront request (https://shop/apps/your-prefix/...) to the app and
// signed its query.
type AppProxyRequest struct {
	// Shop is the shop's myshopify.com domain, from the signed shop
	// parameter.
	Shop string
	// LoggedInCustomerID is the storefront customer's ID, "" when no
	// customer is logged in.
	LoggedInCustomerID string
	// PathPrefix is the proxy's storefront path ("/apps/your-prefix").
	PathPrefix string
	// Timestamp is when Shopify signed the request.
	Timestamp time.Time
	// Params holds every signed parameter (signature and hmac removed),
	// with a repeated parameter's values in request order.
	Params url.Values
	// KeyID names the key whose HMAC matched.
	KeyID string
}

// VerifyAppProxy checks an app proxy request's query (r.URL.RawQuery):
// signature must be the lower-case hex HMAC-SHA256 of the other
// parameters sorted by key, each as key=value, a repeated key's values
// joined by ",", concatenated with nothing between them; timestamp must
// be within 90 seconds of now; shop must be a myshopify.com domain.
//
// Since 2026-08 Shopify refuses hmac, shop, signature and timestamp given
// more than once, and so does VerifyAppProxy (ErrDuplicateParam). Other
// errors wrap ErrQuery, ErrMissingParam, ErrTimestamp, ErrSignature or
// ErrNoKeys.
func (v *Verifier) VerifyAppProxy(rawQuery string) (*AppProxyRequest, error) {
	p, err := v.verifyAppProxy(rawQuery)
	v.tel.query(context.Background(), queryAppProxy, err)
	return p, err
}

func (v *Verifier) verifyAppProxy(rawQuery string) (*AppProxyRequest, error) {
	params, err := parseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	g := group(params)
	if err := g.refuseRepeated("hmac", "shop", "signature", "timestamp"); err != nil {
		return nil, err
	}
	ts, keyID, err := v.checkSigned(g, "signature", appProxyMessage, "app proxy signature")
	if err != nil {
		return nil, err
	}
	shop, err := shopParam(g)
	if err != nil {
		return nil, err
	}
	return &AppProxyRequest{
		Shop:               shop,
		LoggedInCustomerID: g.one("logged_in_customer_id"),
		PathPrefix:         g.one("path_prefix"),
		Timestamp:          ts,
		Params:             g.urlValues("signature", "hmac"),
		KeyID:              keyID,
	}, nil
}

type appProxyKey struct{}

// AppProxyFrom returns the app proxy request the AppProxy middleware
// verified.
func AppProxyFrom(ctx context.Context) (*AppProxyRequest, bool) {
	p, ok := ctx.Value(appProxyKey{}).(*AppProxyRequest)
	return p, ok && p != nil
}

// AppProxy verifies app proxy requests (VerifyAppProxy on the URL's
// query) and calls next with the request in the context (AppProxyFrom).
// It answers itself 400 (ErrQuery, ErrDuplicateParam), 401
// (ErrMissingParam, ErrTimestamp, ErrSignature) or 503 (ErrNoKeys), and
// reports each to WithOnError.
func (v *Verifier) AppProxy(next http.Handler) http.Handler {
	if next == nil {
		panic("webhook: AppProxy with a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := v.verifyAppProxy(r.URL.RawQuery)
		v.tel.query(r.Context(), queryAppProxy, err)
		if err != nil {
			status := http.StatusUnauthorized
			switch {
			case errors.Is(err, ErrQuery), errors.Is(err, ErrDuplicateParam):
				status = http.StatusBadRequest
			case errors.Is(err, ErrNoKeys):
				status = http.StatusServiceUnavailable
			}
			writeStatus(w, status, ErrorName(err))
			if v.cfg.onError != nil {
				v.cfg.onError(r, nil, status, err)
			}
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), appProxyKey{}, p)))
	})
}
