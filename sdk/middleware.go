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
	cors         corsPolicy
	onReject     func(r *http.Request, status int, err error)
	onError      func(w http.ResponseWriter, r *http.Request, status int, err error)
	idTokenQuery bool
}

func newMiddlewareConfig(opts []MiddlewareOption) middlewareConfig {
	var cfg middlewareConfig
	for _, o := range opts {
		if o != nil {
			o.applyMiddleware(&cfg)
		}
	}
	return cfg
}

// WithOnReject calls fn for every request the middleware rejects, after
// the response is written, with the HTTP status sent and an error
// wrapping one of the Err* sentinels (branch with errors.Is, name with
// ErrorName). Use it to log or count rejections: the error never contains
// the token. To shape the response itself, use WithErrorHandler.
func WithOnReject(fn func(r *http.Request, status int, err error)) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.onReject = fn })
}

// WithErrorHandler lets fn write the response to every request the
// middleware rejects (default: DefaultErrorHandler, a small JSON body).
// fn gets the status the middleware chose (400, 401, 403 or 503; see
// Middleware) and an error wrapping one of the Err* sentinels; it may
// send another status or body. The protocol headers are already on
// w.Header() when fn runs: WWW-Authenticate, the
// X-Shopify-Retry-Invalid-Session-Request header that makes Shopify's
// clients fetch a fresh token and retry, and the CORS headers; keep them
// unless you mean to change the protocol. A CORS preflight from an origin
// not allowed (403) reaches fn with an error wrapping ErrOrigin.
// WithOnReject, if set, still runs after fn.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, status int, err error)) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.onError = fn })
}

// WithIDTokenQuery also accepts the session token from the id_token query
// parameter, where Shopify puts it when it loads an embedded admin app's
// page (GET /?embedded=1&host=...&id_token=...&shop=...), for requests
// without an Authorization header (which wins when both are present).
// Off by default: a token in a URL reaches access logs and the browser's
// history, so accept it only on the routes that need it.
func WithIDTokenQuery() MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.idTokenQuery = true })
}

type sessionKey struct{}

// SessionFrom returns the session Middleware verified for this request
// (or ContextWithSession stored). The session is shared: treat it as
// read-only.
func SessionFrom(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// ContextWithSession returns a copy of ctx carrying s, as Middleware
// passes it to the next handler, so that SessionFrom(ctx) returns s. Use
// it to unit-test your handlers without minting tokens:
//
//	r = r.WithContext(sdk.ContextWithSession(r.Context(), &sdk.Session{Shop: "example.myshopify.com", UserID: "42"}))
func ContextWithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// Middleware verifies the request's bearer token and calls next with the
// session in the request context (read it with SessionFrom). It answers
// itself, without calling next, when:
//
//   - there is no bearer token: 401, WWW-Authenticate: Bearer;
//   - the Authorization header is malformed ("Bearer" without a token,
//     more than one token, several Authorization headers): 400,
//     WWW-Authenticate: Bearer error="invalid_request";
//   - the token is invalid (any Verify error but ErrNoKeys and ErrKind): 401,
//     WWW-Authenticate: Bearer error="invalid_token" and
//     X-Shopify-Retry-Invalid-Session-Request: 1, so the client retries
//     once with a fresh token;
//   - the token is valid but of a kind the verifier does not accept
//     (ErrKind: by default a checkout or customer-account token, see
//     WithKinds): 403, without the retry header;
//   - the key source has no keys (ErrNoKeys): 503, the server's fault;
//   - a client hint header is malformed or contradicts the token: 400.
//
// Error bodies are JSON, {"error":"expired","message":"..."}, where error
// is ErrorName of the cause; they never echo the token. WithErrorHandler
// writes other responses.
//
// Client hints (HeaderShopID and friends) are read after the token is
// verified, stored in Session.Hints (on a copy: the verified session may
// be shared through the cache; the copy in turn is shared by the later
// requests that send the same cached token with the same hints), and put
// on the request's current span as client-reported attributes.
//
// With WithAllowedOrigins, the middleware also answers CORS preflight
// requests without a token and adds CORS headers to its responses; see
// WithAllowedOrigins.
func (v *Verifier) Middleware(next http.Handler, opts ...MiddlewareOption) http.Handler {
	return &middleware{v: v, next: next, cfg: newMiddlewareConfig(opts)}
}

// NewMiddleware returns Middleware in the shape routers and middleware
// chains take, func(http.Handler) http.Handler: chi's Use, alice.New,
// gorilla/mux's Use.
//
//	r := chi.NewRouter()
//	r.Use(verifier.NewMiddleware(sdk.WithAllowedOrigins("https://extensions.shopifycdn.com", "https://cdn.shopify.com")))
func (v *Verifier) NewMiddleware(opts ...MiddlewareOption) func(http.Handler) http.Handler {
	cfg := newMiddlewareConfig(opts)
	return func(next http.Handler) http.Handler {
		return &middleware{v: v, next: next, cfg: cfg}
	}
}

type middleware struct {
	v    *Verifier
	next http.Handler
	cfg  middlewareConfig
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if answered, err := m.cfg.cors.handle(w, r); answered {
		if err != nil {
			m.reject(w, r, err)
		}
		return // preflight answered
	}
	token, err := m.cfg.token(r)
	if err != nil {
		m.reject(w, r, err)
		return
	}
	o := m.v.verifyObserved(r.Context(), token)
	if o.err != nil {
		m.reject(w, r, o.err)
		return
	}
	vals, err := readHints(r.Header)
	if err != nil {
		m.reject(w, r, err)
		return
	}
	if vals.absent() {
		m.next.ServeHTTP(w, withSession(r, o.session))
		return
	}
	// A cache hit: o.session is the cache's shared copy, and the hints go
	// on a copy the entry keeps for the requests that send the same hints
	// (not made on the miss that cached the session: a token sent once
	// should not keep a copy). Uncached (s stays nil): the hints go on a
	// copy of the session that lives with the request.
	var s *Session
	var hints Hints
	if o.entry != nil {
		if s, err = o.entry.withHints(&vals); err == nil {
			hints = s.Hints
		}
	} else {
		hints, err = vals.parse(o.session)
	}
	if err != nil {
		m.reject(w, r, err)
		return
	}
	m.v.setHintAttributes(r.Context(), hints)
	if s != nil {
		r = withSession(r, s)
	} else {
		r = withHintedSession(r, o.session, hints)
	}
	m.next.ServeHTTP(w, r)
}

// sessionContext is ContextWithSession(parent, s) without the context
// package's allocation: the middleware allocates it with the request it
// passes on (sessionRequest).
type sessionContext struct {
	context.Context
	s *Session
}

func (c *sessionContext) Value(key any) any {
	if _, ok := key.(sessionKey); ok {
		return c.s
	}
	return c.Context.Value(key)
}

func (c *sessionContext) String() string {
	return fmt.Sprint(c.Context) + ".WithValue(sdk.sessionKey, *sdk.Session)"
}

// sessionRequest is r.WithContext(ContextWithSession(r.Context(), s)) in
// one allocation: a request passed on, with its context.
type sessionRequest struct {
	r   http.Request
	ctx sessionContext
}

// withSession returns r with s in its context, as the middleware passes
// it on: one allocation where r.WithContext and context.WithValue make two.
func withSession(r *http.Request, s *Session) *http.Request {
	return new(sessionRequest).with(r, s)
}

// with fills sr with r and a context holding s, and returns its request.
// (WithContext, inlined, builds its copy of r on the stack.)
func (sr *sessionRequest) with(r *http.Request, s *Session) *http.Request {
	sr.ctx = sessionContext{Context: r.Context(), s: s}
	sr.r = *r.WithContext(&sr.ctx)
	return &sr.r
}

// hintedRequest is a sessionRequest that holds its session: a copy of a
// verified one, with the request's hints.
type hintedRequest struct {
	sessionRequest
	s Session
}

// withHintedSession returns r with a copy of s with hints in its context,
// in one allocation.
func withHintedSession(r *http.Request, s *Session, hints Hints) *http.Request {
	hr := &hintedRequest{s: *s}
	hr.s.Hints = hints
	return hr.with(r, &hr.s)
}

// errMalformedAuthorization and errMalformedIDToken mark ErrNoToken cases
// that are a malformed request (400) rather than an absent token (401).
var (
	errMalformedAuthorization = errors.New("malformed Authorization header")
	errMalformedIDToken       = errors.New("malformed id_token query parameter")
)

// TokenFromRequest returns the session token r carries, as Middleware
// reads it: the one token of its "Authorization: Bearer <token>" header
// (scheme in any case, surrounding spaces and tabs tolerated) or, with
// WithIDTokenQuery among opts, of its id_token query parameter when it has
// no Authorization header. Options other than WithIDTokenQuery are
// ignored. The error wraps ErrNoToken. Pass the token to Verify: Verify
// takes the token alone, not the header's value.
func TokenFromRequest(r *http.Request, opts ...MiddlewareOption) (string, error) {
	cfg := newMiddlewareConfig(opts)
	return cfg.token(r)
}

// token extracts r's session token (see TokenFromRequest).
func (c *middlewareConfig) token(r *http.Request) (string, error) {
	if c.idTokenQuery && r.URL != nil && len(r.Header["Authorization"]) == 0 {
		if tok, ok, err := idTokenParam(r); ok || err != nil {
			return tok, err
		}
	}
	return bearerToken(r.Header)
}

// idTokenParam returns the id_token query parameter; ok is false when it
// is absent.
func idTokenParam(r *http.Request) (tok string, ok bool, err error) {
	if !strings.Contains(r.URL.RawQuery, "id_token") {
		return "", false, nil // skips parsing the query of most requests
	}
	values, ok := r.URL.Query()["id_token"]
	switch {
	case !ok:
		return "", false, nil
	case len(values) != 1:
		return "", false, fmt.Errorf("%w: %w: %d id_token parameters, want one", ErrNoToken, errMalformedIDToken, len(values))
	case values[0] == "":
		return "", false, fmt.Errorf("%w: %w: empty id_token parameter", ErrNoToken, errMalformedIDToken)
	}
	return values[0], true, nil
}

// bearerToken extracts the one token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive and surrounding or repeated
// whitespace is tolerated (RFC 9110 auth-scheme, RFC 6750 section 2.1):
// the header's value is fields separated by runs of SP and HTAB, and must
// be the scheme and one token.
//
// It reads bytes, not runes: a token is ~600 bytes, and SP and HTAB never
// occur inside a multi-byte UTF-8 sequence, so the fields are the same.
// The key is canonical already: net/http stores request headers under
// canonical keys, and Header.Values would re-canonicalise it on every call.
func bearerToken(h http.Header) (string, error) {
	values := h["Authorization"]
	switch len(values) {
	case 0:
		return "", fmt.Errorf("%w: no Authorization header", ErrNoToken)
	case 1:
	default:
		return "", fmt.Errorf("%w: %w: %d Authorization headers, want one", ErrNoToken, errMalformedAuthorization, len(values))
	}
	v := trimHeaderSpace(values[0])
	if v == "" {
		return "", fmt.Errorf("%w: empty Authorization header", ErrNoToken)
	}
	// v has no surrounding space: the scheme is the first field when a
	// space follows it, and then a token follows the space.
	const scheme = "Bearer"
	if len(v) <= len(scheme) || !isHeaderSpace(v[len(scheme)]) || !asciiEqualFold(v[:len(scheme)], scheme) {
		if asciiEqualFold(v, scheme) {
			return "", fmt.Errorf("%w: %w: Bearer without a token", ErrNoToken, errMalformedAuthorization)
		}
		return "", fmt.Errorf("%w: Authorization scheme is not Bearer", ErrNoToken)
	}
	token := trimHeaderSpace(v[len(scheme):])
	if indexHeaderSpace(token) >= 0 {
		return "", fmt.Errorf("%w: %w: %d values after Bearer, want exactly one token", ErrNoToken, errMalformedAuthorization, countFields(token))
	}
	return token, nil
}

// isHeaderSpace reports whether c is HTTP whitespace (SP or HTAB). Other
// Unicode spaces are not separators in an HTTP header.
func isHeaderSpace(c byte) bool { return c == ' ' || c == '\t' }

// trimHeaderSpace returns s without leading and trailing SP and HTAB.
func trimHeaderSpace(s string) string {
	for len(s) > 0 && isHeaderSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isHeaderSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// indexHeaderSpace returns the index of the first SP or HTAB in s, or -1.
// Two vectorised byte searches beat one loop over a token's 600 bytes.
func indexHeaderSpace(s string) int {
	i := strings.IndexByte(s, ' ')
	if i >= 0 {
		s = s[:i] // a tab, if any, is before the space
	}
	if j := strings.IndexByte(s, '\t'); j >= 0 {
		return j
	}
	return i
}

// countFields returns the number of fields of s separated by runs of SP
// and HTAB (for error messages).
func countFields(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isHeaderSpace(s[i]) && (i == 0 || isHeaderSpace(s[i-1])) {
			n++
		}
	}
	return n
}

// asciiEqualFold reports whether s equals t ignoring ASCII case. True
// implies strings.EqualFold(s, t); the converse holds when t is ASCII and
// none of its letters has a non-ASCII case variant (k and s have one, the
// letters of "Bearer" do not).
func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if a == b {
			continue
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// reject sets the protocol headers for err, has the error handler write
// the response, and reports it.
func (m *middleware) reject(w http.ResponseWriter, r *http.Request, err error) {
	status := rejectStatus(w.Header(), err)
	switch {
	case m.cfg.onError == nil:
		DefaultErrorHandler(w, r, status, err)
	case m.cfg.onReject != nil:
		// Report the status the error handler sent.
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		m.cfg.onError(sw, r, status, err)
		status = sw.status
	default:
		m.cfg.onError(w, r, status, err)
	}
	if m.cfg.onReject != nil {
		m.cfg.onReject(r, status, err)
	}
}

// statusWriter records the status an error handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// rejectStatus returns the status for err and sets the headers the
// protocol needs with it.
func rejectStatus(h http.Header, err error) int {
	switch {
	case errors.Is(err, ErrNoToken) && (errors.Is(err, errMalformedAuthorization) || errors.Is(err, errMalformedIDToken)):
		h.Set("WWW-Authenticate", `Bearer error="invalid_request"`)
		return http.StatusBadRequest
	case errors.Is(err, ErrNoToken):
		h.Set("WWW-Authenticate", "Bearer")
		return http.StatusUnauthorized
	case errors.Is(err, ErrHint):
		return http.StatusBadRequest
	case errors.Is(err, ErrOrigin), errors.Is(err, ErrKind):
		// A token of a kind not accepted here is valid: a fresh one
		// would be refused too, so no retry header.
		return http.StatusForbidden
	case errors.Is(err, ErrNoKeys):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrAlgorithm), errors.Is(err, ErrSignature),
		errors.Is(err, ErrExpired), errors.Is(err, ErrNotYetValid), errors.Is(err, ErrAudience),
		errors.Is(err, ErrIssuer):
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		h.Set(HeaderRetryInvalidSession, "1")
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// DefaultErrorHandler is how the middleware answers a request it rejects,
// unless WithErrorHandler says otherwise: status and a JSON body,
// {"error":"<ErrorName(err)>","message":"<what to do>"}, with
// Cache-Control: no-store. The message is a fixed string per cause, never
// err's text (which is for your logs). Call it from your own handler for
// the cases you do not change.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, status int, err error) {
	writeJSONError(w, status, ErrorName(err), errorMessage(err))
}

// errorMessage is the client-facing explanation of a rejection.
func errorMessage(err error) string {
	switch {
	case errors.Is(err, ErrNoToken) && errors.Is(err, errMalformedAuthorization):
		return `the Authorization header must be "Bearer <session token>" with exactly one token`
	case errors.Is(err, ErrNoToken) && errors.Is(err, errMalformedIDToken):
		return "the id_token query parameter must appear once, holding a session token"
	case errors.Is(err, ErrNoToken):
		return "no session token: send Authorization: Bearer <token from getSessionToken()>; POS returns no token to users without permission for this app"
	case errors.Is(err, ErrHint):
		return hintMessage(err)
	case errors.Is(err, ErrOrigin):
		return "this origin may not call this API; see the server's allowed origins"
	case errors.Is(err, ErrKind):
		return "this endpoint does not accept this kind of session token (checkout and customer-account tokens are not accepted where admin/POS tokens are required)"
	case errors.Is(err, ErrNoKeys):
		return "the server has no keys to verify session tokens; try again later"
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrAlgorithm), errors.Is(err, ErrSignature),
		errors.Is(err, ErrExpired), errors.Is(err, ErrNotYetValid), errors.Is(err, ErrAudience),
		errors.Is(err, ErrIssuer):
		return invalidTokenMessage(err)
	}
	return "the session token could not be verified"
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
