package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// HeaderRetryInvalidSession is the response header that tells a Shopify
// client (App Bridge, the POS extension client) to fetch a fresh session
// token and retry the request once. The middleware sets it to "1" on every
// 401 caused by an invalid token.
const HeaderRetryInvalidSession = "X-Shopify-Retry-Invalid-Session-Request"

// MiddlewareOption configures Middleware.
type MiddlewareOption interface{ applyMiddleware(*middlewareConfig) }

type middlewareOptionFunc func(*middlewareConfig)

func (f middlewareOptionFunc) applyMiddleware(c *middlewareConfig) { f(c) }

type middlewareConfig struct {
	cors     corsPolicy
	onReject func(r *http.Request, status int, err error)
}

// WithOnReject calls fn for every request the middleware rejects, after
// the response is written, with the HTTP status and an error wrapping one
// of the Err* sentinels (branch with errors.Is, name with ErrorName). Use
// it to log or count rejections: the error never contains the token.
func WithOnReject(fn func(r *http.Request, status int, err error)) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.onReject = fn })
}

type sessionKey struct{}

// SessionFrom returns the session Middleware verified for this request.
// The session is shared: treat it as read-only.
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// Middleware verifies the request's bearer token and calls next with the
// session in the request context (read it with SessionFrom). It answers
// itself, without calling next, when:
//
//   - there is no bearer token: 401, WWW-Authenticate: Bearer;
//   - the Authorization header is malformed ("Bearer" without a token,
//     more than one token, several Authorization headers): 400,
//     WWW-Authenticate: Bearer error="invalid_request";
//   - the token is invalid (any Verify error but ErrNoKeys): 401,
//     WWW-Authenticate: Bearer error="invalid_token" and
//     X-Shopify-Retry-Invalid-Session-Request: 1, so the client retries
//     once with a fresh token;
//   - the key source has no keys (ErrNoKeys): 503, the server's fault;
//   - a client hint header is malformed or contradicts the token: 400.
//
// Error bodies are JSON, {"error":"expired","message":"..."}, where error
// is ErrorName of the cause; they never echo the token.
//
// Client hints (HeaderShopID and friends) are read after the token is
// verified, stored in Session.Hints (on a copy: the verified session may
// be shared through the cache), and put on the request's current span as
// client-reported attributes.
//
// With WithAllowedOrigins, the middleware also answers CORS preflight
// requests without a token and adds CORS headers to its responses; see
// WithAllowedOrigins.
func (v *Verifier) Middleware(next http.Handler, opts ...MiddlewareOption) http.Handler {
	var cfg middlewareConfig
	for _, o := range opts {
		if o != nil {
			o.applyMiddleware(&cfg)
		}
	}
	return &middleware{v: v, next: next, cfg: cfg}
}

type middleware struct {
	v    *Verifier
	next http.Handler
	cfg  middlewareConfig
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.cfg.cors.handle(w, r) {
		return // preflight answered
	}
	token, err := bearerToken(r.Header)
	if err != nil {
		m.reject(w, r, err)
		return
	}
	s, err := m.v.Verify(r.Context(), token)
	if err != nil {
		m.reject(w, r, err)
		return
	}
	hints, err := parseHints(r.Header, s)
	if err != nil {
		m.reject(w, r, err)
		return
	}
	ctx := r.Context()
	if !hints.IsZero() {
		cp := *s // s may be the cache's shared copy
		cp.Hints = hints
		s = &cp
		m.v.setHintAttributes(ctx, hints)
	}
	m.next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, sessionKey{}, s)))
}

// errMalformedAuthorization marks ErrNoToken cases that are a malformed
// header (400) rather than an absent token (401).
var errMalformedAuthorization = errors.New("malformed Authorization header")

// bearerToken extracts the one token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive and surrounding or repeated
// whitespace is tolerated (RFC 9110 auth-scheme, RFC 6750 section 2.1).
func bearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", fmt.Errorf("%w: no Authorization header", ErrNoToken)
	case 1:
	default:
		return "", fmt.Errorf("%w: %w: %d Authorization headers, want one", ErrNoToken, errMalformedAuthorization, len(values))
	}
	fields := strings.FieldsFunc(values[0], isHeaderSpace)
	if len(fields) == 0 {
		return "", fmt.Errorf("%w: empty Authorization header", ErrNoToken)
	}
	if !strings.EqualFold(fields[0], "Bearer") {
		return "", fmt.Errorf("%w: Authorization scheme is not Bearer", ErrNoToken)
	}
	switch len(fields) {
	case 1:
		return "", fmt.Errorf("%w: %w: Bearer without a token", ErrNoToken, errMalformedAuthorization)
	case 2:
		return fields[1], nil
	}
	return "", fmt.Errorf("%w: %w: %d values after Bearer, want exactly one token", ErrNoToken, errMalformedAuthorization, len(fields)-1)
}

// isHeaderSpace reports whether r is HTTP whitespace (SP or HTAB). Other
// Unicode spaces are not separators in an HTTP header.
func isHeaderSpace(r rune) bool { return r == ' ' || r == '\t' }

// reject writes the error response for err and reports it.
func (m *middleware) reject(w http.ResponseWriter, r *http.Request, err error) {
	h := w.Header()
	status := http.StatusInternalServerError
	message := "the session token could not be verified"
	switch {
	case errors.Is(err, ErrNoToken) && errors.Is(err, errMalformedAuthorization):
		status = http.StatusBadRequest
		message = `the Authorization header must be "Bearer <session token>" with exactly one token`
		h.Set("WWW-Authenticate", `Bearer error="invalid_request"`)
	case errors.Is(err, ErrNoToken):
		status = http.StatusUnauthorized
		message = "no session token: send Authorization: Bearer <token from getSessionToken()>; POS returns no token to users without permission for this app"
		h.Set("WWW-Authenticate", "Bearer")
	case errors.Is(err, ErrHint):
		status = http.StatusBadRequest
		message = hintMessage(err)
	case errors.Is(err, ErrNoKeys):
		status = http.StatusServiceUnavailable
		message = "the server has no keys to verify session tokens; try again later"
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrAlgorithm), errors.Is(err, ErrSignature),
		errors.Is(err, ErrExpired), errors.Is(err, ErrNotYetValid), errors.Is(err, ErrAudience),
		errors.Is(err, ErrIssuer):
		status = http.StatusUnauthorized
		message = invalidTokenMessage(err)
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		h.Set(HeaderRetryInvalidSession, "1")
	}
	writeJSONError(w, status, ErrorName(err), message)
	if m.cfg.onReject != nil {
		m.cfg.onReject(r, status, err)
	}
}

// invalidTokenMessage explains a Verify error without its details (which
// are for the server's logs, through WithOnReject).
func invalidTokenMessage(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "the session token has expired; fetch a fresh one and retry"
	case errors.Is(err, ErrNotYetValid):
		return "the session token is not valid yet; check the server's clock"
	case errors.Is(err, ErrSignature):
		return "the session token's signature does not match this app's secret"
	case errors.Is(err, ErrAudience):
		return "the session token was issued for another app"
	case errors.Is(err, ErrIssuer):
		return "the session token's issuer or destination is not an allowed shop"
	case errors.Is(err, ErrAlgorithm):
		return "the session token is not signed with HS256"
	}
	return "the session token is malformed"
}

func writeJSONError(w http.ResponseWriter, status int, name, message string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(errorBody{Error: name, Message: message})
}

// errorBody is the JSON body of every response the middleware writes
// itself. Both fields are fixed strings of this package.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}
