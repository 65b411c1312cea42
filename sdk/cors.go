package sdk

import (
	"fmt"
	"net/http"
	"strings"
)

// WithAllowedOrigins lets browsers at the given origins call the wrapped
// handler (CORS). Each origin is "scheme://host[:port]", compared
// case-insensitively; a trailing "/" is ignored. "*" allows every origin:
// safe for bearer-token APIs (the token, not a cookie, authenticates), but
// it also lets any web page that holds a token call you.
//
// POS UI extensions call from https://extensions.shopifycdn.com and
// https://cdn.shopify.com (Shopify's "Communicate with a server" guide);
// allow both.
//
// With allowed origins, the middleware:
//   - answers a preflight (OPTIONS with Origin and
//     Access-Control-Request-Method) itself, without a token: 204 allowing
//     GET, POST, PUT, PATCH, DELETE and the headers Authorization,
//     Content-Type and the hint headers; 403 for an origin not allowed
//     (an error wrapping ErrOrigin, written by the error handler);
//   - adds Access-Control-Allow-Origin and Access-Control-Expose-Headers
//     (X-Shopify-Retry-Invalid-Session-Request, WWW-Authenticate) to every
//     other response to an allowed origin, including its own 401s, so the
//     client can read the retry header;
//   - adds Vary: Origin to every response.
//
// Without this option the middleware adds no CORS headers, and preflights
// need a token like any request (so browsers fail them): same-origin use.
func WithAllowedOrigins(origins ...string) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) {
		for _, o := range origins {
			o = normalizeOrigin(o)
			switch {
			case o == "":
			case o == "*":
				c.cors.any = true
			default:
				if c.cors.origins == nil {
					c.cors.origins = make(map[string]bool)
				}
				c.cors.origins[o] = normalizeOrigin(o) == o
			}
		}
	})
}

const (
	corsAllowMethods  = "GET, POST, PUT, PATCH, DELETE"
	corsExposeHeaders = HeaderRetryInvalidSession + ", WWW-Authenticate"
	corsMaxAge        = "600" // seconds; browsers cap it (Chromium: 7200)
)

var corsAllowHeaders = "Authorization, Content-Type, " + strings.Join(hintHeaders, ", ")

type corsPolicy struct {
	any bool
	// origins are the allowed origins, normalised; the value says whether
	// the origin is also normalizeOrigin's fixed point (it is unless the
	// option's argument ended in "//"), so that a request's Origin found
	// in the map as it is needs no normalising.
	origins map[string]bool
}

func (p *corsPolicy) enabled() bool { return p.any || len(p.origins) > 0 }

func normalizeOrigin(o string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
}

// allowed reports whether origin may call, and the value for
// Access-Control-Allow-Origin.
func (p *corsPolicy) allowed(origin string) (string, bool) {
	if origin == "" {
		return "", false
	}
	if p.any {
		return "*", true
	}
	if fixed, ok := p.origins[origin]; ok && fixed {
		return origin, true // as browsers send it: no need to normalise
	}
	if _, ok := p.origins[normalizeOrigin(origin)]; ok {
		return origin, true
	}
	return "", false
}

// errOriginNotAllowed is the rejection of a preflight from an origin not
// allowed.
var errOriginNotAllowed = fmt.Errorf("%w: preflight from an origin not allowed", ErrOrigin)

// handle adds CORS headers for r and reports whether r is a preflight,
// which it answers itself when the origin is allowed; for an origin not
// allowed it returns an error for the caller to answer. Request headers
// are read by their canonical keys, directly (see bearerToken).
func (p *corsPolicy) handle(w http.ResponseWriter, r *http.Request) (answered bool, err error) {
	if !p.enabled() {
		return false, nil
	}
	h := w.Header()
	origin := headerValue(r.Header, "Origin")
	allowOrigin, ok := p.allowed(origin)
	if r.Method == http.MethodOptions && origin != "" && headerValue(r.Header, "Access-Control-Request-Method") != "" {
		h.Add("Vary", "Origin")
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if !ok {
			return true, errOriginNotAllowed
		}
		h.Set("Access-Control-Allow-Origin", allowOrigin)
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
		return true, nil
	}
	if !ok {
		h["Vary"] = append(h["Vary"], "Origin")
		return false, nil
	}
	// Vary, Access-Control-Allow-Origin and Access-Control-Expose-Headers
	// as h.Add and h.Set would write them, in one allocation; each slice's
	// capacity ends at its value, so appending to one copies it.
	vals := &[3]string{"Origin", allowOrigin, corsExposeHeaders}
	if vary := h["Vary"]; len(vary) > 0 {
		h["Vary"] = append(vary, "Origin")
	} else {
		h["Vary"] = vals[0:1:1]
	}
	h["Access-Control-Allow-Origin"] = vals[1:2:2]
	h["Access-Control-Expose-Headers"] = vals[2:3:3]
	return false, nil
}

// headerValue is h.Get(key) for a canonical key, without canonicalising
// it again.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
