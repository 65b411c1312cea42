package shopifytest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a running fake of Shopify for one app, listening on
// 127.0.0.1. Every shop is served on the same listener and told apart by
// the Host header, as Shopify's own shop domains are: send a request for
// "example.myshopify.com" to URL with Host set to that domain (the
// base-URL options of access and admin do that).
type Server struct {
	// URL is the listener's base URL, "http://127.0.0.1:port".
	URL string

	cfg config
	srv *httptest.Server

	mu       sync.Mutex
	requests map[string]int // by route name
	faults   map[string][]Fault
	last     map[string]Request // by route name
	grants   map[string]*grant  // by access token
	// refreshes indexes expiring offline grants by refresh token.
	refreshes   map[string]*grant
	uninstalled map[string]bool
	oauth       GrantCounts

	admin *adminState // admin.go
}

// Option configures a Server.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	clientID      string
	clientSecret  string
	now           func() time.Time
	scope         string
	accessTTL     time.Duration
	refreshTTL    time.Duration
	onlineTTL     time.Duration
	refreshGrace  time.Duration
	sessionLeeway time.Duration
	admin         adminConfig
	// nonExpiringCutoff: from then on, Admin API calls with non-expiring
	// offline tokens are refused (403); zero: never.
	nonExpiringCutoff time.Time
}

// Default app credentials of a Server made without WithApp.
const (
	DefaultClientID     = "shopifytest-client-id"
	DefaultClientSecret = "shopifytest-client-secret-0123456789"
)

// WithApp sets the app's client ID (API key) and client secret: session
// tokens must be signed with the secret and name the ID as aud, and
// OAuth requests must carry both.
func WithApp(clientID, clientSecret string) Option {
	return optionFunc(func(c *config) { c.clientID, c.clientSecret = clientID, clientSecret })
}

// WithClock sets the clock the fake reads for token lifetimes, expiry
// and the cost bucket.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// NewServer starts a fake on 127.0.0.1. Close stops it.
func NewServer(opts ...Option) *Server {
	cfg := config{
		clientID:      DefaultClientID,
		clientSecret:  DefaultClientSecret,
		now:           time.Now,
		scope:         DefaultScope,
		accessTTL:     DefaultAccessTokenLifetime,
		refreshTTL:    DefaultRefreshTokenLifetime,
		onlineTTL:     DefaultOnlineTokenLifetime,
		refreshGrace:  RefreshGrace,
		sessionLeeway: SessionTokenLeeway,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	s := &Server{
		cfg:         cfg,
		requests:    map[string]int{},
		faults:      map[string][]Fault{},
		last:        map[string]Request{},
		grants:      map[string]*grant{},
		refreshes:   map[string]*grant{},
		uninstalled: map[string]bool{},
	}
	mux := http.NewServeMux()
	// Each protocol registers its routes here, from its own file.
	s.registerOAuth(mux)
	s.registerAdmin(mux)
	s.registerTokenCheck(mux)
	s.srv = httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("shopifytest: listen on 127.0.0.1: " + err.Error())
	}
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() { s.srv.Close() }

// ClientID returns the app's client ID.
func (s *Server) ClientID() string { return s.cfg.clientID }

// ClientSecret returns the app's client secret.
func (s *Server) ClientSecret() string { return s.cfg.clientSecret }

// Requests returns how many requests reached route (a route name such as
// "oauth/access_token"), faults included.
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// Fault is an answer injected in place of the real one.
type Fault struct {
	// Status is the HTTP status to answer (500, 503, 429, ...); 0 answers
	// normally after Latency.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header (seconds).
	RetryAfter string
	// Latency delays the answer (bounded by the request's context).
	Latency time.Duration
}

// Inject queues faults for route: the next len(faults) requests to it get
// them in order, then requests are answered normally again.
func (s *Server) Inject(route string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// Request is a request the fake received, as it arrived: for tests that
// compare what a client sends (possession's, or Shopify's own libraries).
// It holds the client secret and tokens the client sent; it is a test
// fake's record.
type Request struct {
	Method string
	// Path is the URL path, "/admin/oauth/access_token".
	Path string
	// Host is the Host header: the shop the request was for.
	Host   string
	Header http.Header
	Body   []byte
}

// LastRequest returns the last request that reached route (faults
// included), and whether there was one.
func (s *Server) LastRequest(route string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[route]
	if ok {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
	}
	return r, ok
}

// maxRequestBody bounds what the fake reads of a request body.
const maxRequestBody = 1 << 20

// ClearFaults drops the faults still queued for route.
func (s *Server) ClearFaults(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, route)
}

// begin counts a request to route, records it, gives the answer an
// X-Request-Id as Shopify does, and applies the next injected fault. It
// returns false when the fault answered the request. The body stays
// readable.
func (s *Server) begin(route string, w http.ResponseWriter, r *http.Request) bool {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	w.Header().Set("X-Request-Id", newRequestID())
	s.mu.Lock()
	s.requests[route]++
	s.last[route] = Request{Method: r.Method, Path: r.URL.Path, Host: r.Host, Header: r.Header.Clone(), Body: body}
	var f Fault
	var faulted bool
	if q := s.faults[route]; len(q) > 0 {
		f, faulted = q[0], true
		s.faults[route] = q[1:]
	}
	s.mu.Unlock()
	if !faulted {
		return true
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if f.Status == 0 {
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(`{"errors":"injected fault"}`))
	return false
}

// shopFrom returns the shop domain a request is for: its Host header
// without port, if it is a shop domain.
func shopFrom(r *http.Request) (string, bool) {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.ToLower(host)
	label, ok := strings.CutSuffix(host, ".myshopify.com")
	if !ok || label == "" || strings.ContainsAny(label, "./") {
		return "", false
	}
	return host, true
}

// grant is one access token the fake issued, with its refresh token if
// it is an expiring offline token.
type grant struct {
	shop          string
	online        bool
	userID        string
	scope         string
	accessToken   string
	accessExpires time.Time // zero: never
	refreshToken  string
	refreshExpiry time.Time
	revoked       bool // the access token is revoked
	issuedAt      time.Time
	revokedAt     time.Time // when revoked was set

	// used: the app used this grant (an Admin call with its access token,
	// or a refresh with its refresh token). It ends its predecessor's
	// grace.
	used bool
	// refreshRevoked: the refresh token is revoked (a new exchange, a
	// branch that lost, Revoke). A redeemed refresh token is not revoked:
	// it stays in grace (see RefreshGrace).
	refreshRevoked bool
	// refreshUsedAt is when the refresh token was first redeemed.
	refreshUsedAt time.Time
	// replacement is the grant the last redemption of the refresh token
	// issued.
	replacement *grant
}

// accessValid reports whether token is a live access token for shop:
// issued by this fake, for this shop, not revoked and not expired. A valid
// token counts as used from then on (the app started using it, which ends
// its predecessor refresh token's grace).
func (s *Server) accessValid(shop, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[token]
	if !ok || g.shop != shop || g.revoked {
		return false
	}
	if !g.accessExpires.IsZero() && !s.cfg.now().Before(g.accessExpires) {
		return false
	}
	g.used = true
	return true
}

// revokeLocked revokes g's access token at now; s.mu is held.
func (g *grant) revokeLocked(now time.Time) {
	if !g.revoked {
		g.revoked, g.revokedAt = true, now
	}
}

// AccessTokenValidDuring reports whether token was a live access token
// for shop at some moment of [from, to]: issued by then, and neither
// revoked nor expired at from. Give it the times taken just before and
// just after the call that returned token, and it tells whether the
// token was honoured when it was handed out, even if another instance's
// refresh revoked it a moment later. It does not count as a use.
// (Shopify has no such check; over HTTP it is RouteTokenCheck.)
func (s *Server) AccessTokenValidDuring(shop, token string, from, to time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[token]
	if !ok || g.shop != shop || g.issuedAt.After(to) {
		return false
	}
	if g.revoked && !g.revokedAt.After(from) {
		return false
	}
	return g.accessExpires.IsZero() || g.accessExpires.After(from)
}

// AccessTokenValid reports whether token is a live access token for shop
// (issued by this fake for that shop, not revoked, not expired), without
// counting as a use of it: for tests' assertions.
func (s *Server) AccessTokenValid(shop, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[token]
	if !ok || g.shop != shop || g.revoked {
		return false
	}
	return g.accessExpires.IsZero() || s.cfg.now().Before(g.accessExpires)
}

// RefreshTokenValid reports whether a refresh grant with token would
// succeed for shop now, without redeeming it.
func (s *Server) RefreshTokenValid(shop, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.refreshes[token]
	return g != nil && g.shop == shop && s.refreshableLocked(g, s.cfg.now()) == nil
}

// randomToken returns prefix followed by 32 random hex characters, shaped
// like Shopify's tokens ("shpat_...", "shprt_...").
func randomToken(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newRequestID returns an X-Request-Id shaped like Shopify's (a UUID).
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// storeGrant records g as issued. An expiring offline grant revokes the
// shop's earlier offline grants: only one expiring offline token is
// active per app and shop, and acquiring a new one revokes the others.
func (s *Server) storeGrant(g *grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeGrantLocked(g, nil)
}

// storeGrantLocked is storeGrant with s.mu held. An expiring offline
// grant revokes the earlier offline grants' access tokens and refresh
// tokens, except the refresh token of from (the grant whose refresh token
// was just redeemed), which stays in grace.
func (s *Server) storeGrantLocked(g *grant, from *grant) {
	now := s.cfg.now()
	g.issuedAt = now
	if !g.online && !g.accessExpires.IsZero() {
		for _, old := range s.grants {
			if old.shop == g.shop && !old.online {
				old.revokeLocked(now)
				if old != from {
					old.refreshRevoked = true
				}
			}
		}
	}
	s.grants[g.accessToken] = g
	if g.refreshToken != "" {
		s.refreshes[g.refreshToken] = g
	}
}

// Revoke revokes every token the fake issued for shop, as uninstalling
// the app does: Admin API calls with them get 401 and their refresh
// tokens are refused.
func (s *Server) Revoke(shop string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	for _, g := range s.grants {
		if g.shop == shop {
			g.revokeLocked(now)
			g.refreshRevoked = true
		}
	}
}

// Uninstall revokes every token of shop, as Revoke does, and makes every
// grant for the shop answer invalid_client ("Client authentication
// failed"), as Shopify does for an app that is no longer installed, until
// Install.
func (s *Server) Uninstall(shop string) {
	s.Revoke(shop)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uninstalled[shop] = true
}

// Install undoes Uninstall: the shop's grants are answered again (its old
// tokens stay revoked).
func (s *Server) Install(shop string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.uninstalled, shop)
}

// IssueAccessToken issues a non-refreshable offline access token for shop
// with the given scope, valid for lifetime (0: it never expires), without
// the OAuth dance: for tests of code that is handed a token.
func (s *Server) IssueAccessToken(shop, scope string, lifetime time.Duration) string {
	g := &grant{shop: shop, scope: scope, accessToken: randomToken("shpat_")}
	if lifetime > 0 {
		g.accessExpires = s.cfg.now().Add(lifetime)
	}
	s.storeGrant(g)
	return g.accessToken
}
