package shopifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The OAuth side: POST /admin/oauth/access_token, as documented by Shopify
// and spoken by its libraries (docs/token-exchange.md): token exchange of
// a session token for an offline (expiring or not) or online token, the
// refresh grant with rotation, the migrate grant from a non-expiring to an
// expiring offline token, and client credentials. Errors are 400 with
// {"error": code, "error_description": text}, the bodies Shopify's
// libraries are tested against.

// RouteOAuthAccessToken names the token endpoint in Requests, LastRequest
// and Inject.
const RouteOAuthAccessToken = "oauth/access_token"

// Defaults of the OAuth side.
const (
	// DefaultScope is the scope granted by a Server made without WithScope.
	DefaultScope = "read_products,write_products"
	// DefaultAccessTokenLifetime is an expiring offline access token's
	// lifetime (expires_in 3600).
	DefaultAccessTokenLifetime = time.Hour
	// DefaultRefreshTokenLifetime is a refresh token's lifetime
	// (refresh_token_expires_in, 90 days), reset by every refresh.
	DefaultRefreshTokenLifetime = 90 * 24 * time.Hour
	// DefaultOnlineTokenLifetime is an online token's lifetime (expires_in
	// 86399, as Shopify answers).
	DefaultOnlineTokenLifetime = 86399 * time.Second
	// ClientCredentialsLifetime is a client-credentials token's lifetime.
	ClientCredentialsLifetime = 86399 * time.Second
	// RefreshGrace is the longest a redeemed refresh token may be redeemed
	// again (Shopify's rule since 2026-08): until the app first uses the
	// grant that redemption issued (an Admin API call with its access
	// token, or a refresh with its refresh token), and at most this long
	// after the first redemption. Redeeming it again revokes the unused
	// replacement and issues a new one.
	RefreshGrace = 30 * 24 * time.Hour
	// SessionTokenLeeway is the clock skew allowed on a subject token's exp
	// and nbf.
	SessionTokenLeeway = 10 * time.Second
)

// The token types and grant types of the protocol.
const (
	GrantTypeTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantTypeRefreshToken      = "refresh_token"
	GrantTypeClientCredentials = "client_credentials"
	TokenTypeIDToken           = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeOfflineAccess     = "urn:shopify:params:oauth:token-type:offline-access-token"
	TokenTypeOnlineAccess      = "urn:shopify:params:oauth:token-type:online-access-token"
)

// WithScope sets the comma-separated scope the fake grants (default
// DefaultScope).
func WithScope(scope string) Option {
	return optionFunc(func(c *config) { c.scope = scope })
}

// WithOfflineTokenLifetimes sets the lifetimes of expiring offline access
// tokens and of their refresh tokens (defaults 1 h and 90 days); zero
// keeps a default.
func WithOfflineTokenLifetimes(access, refresh time.Duration) Option {
	return optionFunc(func(c *config) {
		if access > 0 {
			c.accessTTL = access
		}
		if refresh > 0 {
			c.refreshTTL = refresh
		}
	})
}

// WithOnlineTokenLifetime sets online tokens' lifetime (default 86399 s).
func WithOnlineTokenLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.onlineTTL = d
		}
	})
}

// GrantCounts counts the token endpoint's requests by grant, as parsed
// (injected faults are not counted here; Requests counts every request).
type GrantCounts struct {
	// Exchange counts token exchanges of session tokens (offline and
	// online).
	Exchange int
	// Refresh counts refresh grants.
	Refresh int
	// RefreshInGrace counts the refresh grants that redeemed a refresh
	// token a second time, in its grace (see RefreshGrace): each revoked
	// the unused pair the first redemption issued. A fleet that refreshes
	// each shop once per expiry never does it; a lost answer, or two
	// instances refreshing the same token, does.
	RefreshInGrace int
	// Migrate counts migrations of non-expiring offline tokens.
	Migrate int
	// ClientCredentials counts client-credentials grants.
	ClientCredentials int
	// Refused counts the requests answered with an OAuth error.
	Refused int
}

// GrantCounts returns what the token endpoint was asked so far.
func (s *Server) GrantCounts() GrantCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth
}

func (s *Server) registerOAuth(mux *http.ServeMux) {
	mux.HandleFunc("/admin/oauth/access_token", s.handleAccessToken)
}

// oauthError is an OAuth error answer.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

var (
	errInvalidClient       = &oauthError{http.StatusBadRequest, "invalid_client", "Client authentication failed"}
	errInvalidSubjectToken = &oauthError{http.StatusBadRequest, "invalid_subject_token", "The subject token is invalid or has expired"}
	errInvalidGrant        = &oauthError{http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or expired"}
	errUnsupportedGrant    = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported"}
)

// tokenResponse is a successful answer, fields in Shopify's order.
type tokenResponse struct {
	AccessToken           string          `json:"access_token"`
	Scope                 string          `json:"scope"`
	ExpiresIn             *int64          `json:"expires_in,omitempty"`
	RefreshToken          string          `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn *int64          `json:"refresh_token_expires_in,omitempty"`
	AssociatedUserScope   string          `json:"associated_user_scope,omitempty"`
	AssociatedUser        *associatedUser `json:"associated_user,omitempty"`
}

type associatedUser struct {
	ID            json.Number `json:"id"`
	FirstName     string      `json:"first_name"`
	LastName      string      `json:"last_name"`
	Email         string      `json:"email"`
	EmailVerified bool        `json:"email_verified"`
	AccountOwner  bool        `json:"account_owner"`
	Locale        string      `json:"locale"`
	Collaborator  bool        `json:"collaborator"`
}

func seconds(d time.Duration) *int64 {
	v := int64(d / time.Second)
	return &v
}

func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	if !s.begin(RouteOAuthAccessToken, w, r) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"errors": "Method Not Allowed"})
		return
	}
	shop, ok := shopFrom(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	params, oerr := readParams(r)
	if oerr == nil {
		var resp *tokenResponse
		resp, oerr = s.grantFor(shop, params)
		if oerr == nil {
			writeJSON(w, http.StatusOK, resp)
			return
		}
	}
	s.mu.Lock()
	s.oauth.Refused++
	s.mu.Unlock()
	writeJSON(w, oerr.status, map[string]string{"error": oerr.code, "error_description": oerr.description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readParams reads a JSON or form body into string parameters. JSON
// numbers and booleans become their text ("expiring": 1 is "1").
func readParams(r *http.Request) (map[string]string, *oauthError) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	params := map[string]string{}
	switch mt {
	case "application/json":
		var raw map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidRequest("The request body is not valid JSON")
		}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				params[k] = v
			case json.Number:
				params[k] = v.String()
			case bool:
				params[k] = strconv.FormatBool(v)
			}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, invalidRequest("The request body is not a valid form")
		}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				params[k] = v[0]
			}
		}
	default:
		return nil, invalidRequest("Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	return params, nil
}

// grantFor answers one request's parameters for shop.
func (s *Server) grantFor(shop string, p map[string]string) (*tokenResponse, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p["grant_type"] {
	case GrantTypeTokenExchange:
		if p["subject_token_type"] == TokenTypeOfflineAccess {
			s.oauth.Migrate++
		} else {
			s.oauth.Exchange++
		}
	case GrantTypeRefreshToken:
		s.oauth.Refresh++
	case GrantTypeClientCredentials:
		s.oauth.ClientCredentials++
	}
	if p["client_id"] == "" || p["client_secret"] == "" {
		return nil, invalidRequest("Missing required parameter: client_id or client_secret")
	}
	if !hmac.Equal([]byte(p["client_id"]), []byte(s.cfg.clientID)) ||
		!hmac.Equal([]byte(p["client_secret"]), []byte(s.cfg.clientSecret)) ||
		s.uninstalled[shop] {
		return nil, errInvalidClient
	}
	now := s.cfg.now()
	switch p["grant_type"] {
	case GrantTypeTokenExchange:
		switch p["subject_token_type"] {
		case TokenTypeIDToken:
			return s.exchangeLocked(shop, p, now)
		case TokenTypeOfflineAccess:
			return s.migrateLocked(shop, p, now)
		case "":
			return nil, invalidRequest("Missing required parameter: subject_token_type")
		}
		return nil, invalidRequest("Unsupported subject_token_type")
	case GrantTypeRefreshToken:
		return s.refreshLocked(shop, p, now)
	case GrantTypeClientCredentials:
		g := &grant{shop: shop, scope: s.cfg.scope, accessToken: randomToken("shpat_"), accessExpires: now.Add(ClientCredentialsLifetime)}
		s.storeGrantLocked(g, nil)
		return &tokenResponse{AccessToken: g.accessToken, Scope: g.scope, ExpiresIn: seconds(ClientCredentialsLifetime)}, nil
	case "":
		return nil, invalidRequest("Missing required parameter: grant_type")
	}
	return nil, errUnsupportedGrant
}

func expiringParam(v string) bool { return v == "1" || v == "true" }

// exchangeLocked trades a session token for an access token.
func (s *Server) exchangeLocked(shop string, p map[string]string, now time.Time) (*tokenResponse, *oauthError) {
	if p["subject_token"] == "" {
		return nil, invalidRequest("Missing required parameter: subject_token")
	}
	claims, err := s.checkSessionToken(p["subject_token"], shop, now)
	if err != nil {
		return nil, errInvalidSubjectToken
	}
	switch p["requested_token_type"] {
	case TokenTypeOfflineAccess:
		g := &grant{shop: shop, scope: s.cfg.scope, accessToken: randomToken("shpat_")}
		if !expiringParam(p["expiring"]) {
			s.storeGrantLocked(g, nil)
			return &tokenResponse{AccessToken: g.accessToken, Scope: g.scope}, nil
		}
		return s.issueExpiringLocked(g, nil, now), nil
	case TokenTypeOnlineAccess:
		if claims.Sub == "" {
			return nil, errInvalidSubjectToken
		}
		id, err := strconv.ParseInt(claims.Sub, 10, 64)
		if err != nil || id <= 0 {
			return nil, errInvalidSubjectToken
		}
		g := &grant{shop: shop, online: true, userID: claims.Sub, scope: s.cfg.scope,
			accessToken: randomToken("shpua_"), accessExpires: now.Add(s.cfg.onlineTTL)}
		s.storeGrantLocked(g, nil)
		return &tokenResponse{
			AccessToken:         g.accessToken,
			Scope:               g.scope,
			ExpiresIn:           seconds(s.cfg.onlineTTL),
			AssociatedUserScope: g.scope,
			AssociatedUser: &associatedUser{
				ID:            json.Number(claims.Sub),
				FirstName:     "Staff",
				LastName:      "Member " + claims.Sub,
				Email:         "staff" + claims.Sub + "@example.com",
				EmailVerified: true,
				AccountOwner:  id == 1,
				Locale:        "en",
			},
		}, nil
	case "":
		return nil, invalidRequest("Missing required parameter: requested_token_type")
	}
	return nil, invalidRequest("Unsupported requested_token_type")
}

// issueExpiringLocked completes g as an expiring offline grant, stores it
// (revoking the shop's other offline grants except from's refresh token)
// and answers it.
func (s *Server) issueExpiringLocked(g *grant, from *grant, now time.Time) *tokenResponse {
	g.accessExpires = now.Add(s.cfg.accessTTL)
	g.refreshToken = randomToken("shprt_")
	g.refreshExpiry = now.Add(s.cfg.refreshTTL)
	s.storeGrantLocked(g, from)
	return &tokenResponse{
		AccessToken:           g.accessToken,
		Scope:                 g.scope,
		ExpiresIn:             seconds(s.cfg.accessTTL),
		RefreshToken:          g.refreshToken,
		RefreshTokenExpiresIn: seconds(s.cfg.refreshTTL),
	}
}

// migrateLocked trades a non-expiring offline token for an expiring one.
func (s *Server) migrateLocked(shop string, p map[string]string, now time.Time) (*tokenResponse, *oauthError) {
	if p["requested_token_type"] != TokenTypeOfflineAccess {
		return nil, invalidRequest("requested_token_type must be " + TokenTypeOfflineAccess)
	}
	if !expiringParam(p["expiring"]) {
		return nil, invalidRequest("expiring must be 1 to migrate an offline access token")
	}
	old := s.grants[p["subject_token"]]
	if old == nil || old.shop != shop || old.online || old.revoked || !old.accessExpires.IsZero() {
		return nil, errInvalidSubjectToken
	}
	g := &grant{shop: shop, scope: old.scope, accessToken: randomToken("shpat_")}
	return s.issueExpiringLocked(g, nil, now), nil
}

// refreshableLocked reports why g's refresh token cannot be redeemed now,
// or nil.
func (s *Server) refreshableLocked(g *grant, now time.Time) *oauthError {
	switch {
	case g.refreshRevoked:
		return errInvalidGrant
	case !now.Before(g.refreshExpiry):
		return errInvalidGrant
	case g.refreshUsedAt.IsZero():
		return nil
	case g.replacement == nil || g.replacement.used || !now.Before(g.refreshUsedAt.Add(s.cfg.refreshGrace)):
		// Redeemed already, and its grace is over.
		return errInvalidGrant
	}
	return nil
}

// refreshLocked redeems a refresh token for a new pair.
func (s *Server) refreshLocked(shop string, p map[string]string, now time.Time) (*tokenResponse, *oauthError) {
	rt := p["refresh_token"]
	if rt == "" {
		return nil, invalidRequest("Missing required parameter: refresh_token")
	}
	g := s.refreshes[rt]
	if g == nil || g.shop != shop {
		return nil, errInvalidGrant
	}
	if err := s.refreshableLocked(g, now); err != nil {
		return nil, err
	}
	if g.refreshUsedAt.IsZero() {
		g.refreshUsedAt = now
	} else {
		// A retry in grace: the replacement it issued before was never
		// used; it loses to the new one.
		g.replacement.revokeLocked(now)
		g.replacement.refreshRevoked = true
		s.oauth.RefreshInGrace++
	}
	g.used = true
	next := &grant{shop: shop, scope: g.scope, accessToken: randomToken("shpat_")}
	g.replacement = next
	return s.issueExpiringLocked(next, g, now), nil
}

// sessionClaims are the claims the fake checks in a subject token.
type sessionClaims struct {
	Aud  json.RawMessage `json:"aud"`
	Dest string          `json:"dest"`
	Sub  string          `json:"sub"`
	Exp  *json.Number    `json:"exp"`
	Nbf  *json.Number    `json:"nbf"`
}

var errBadSessionToken = errors.New("shopifytest: bad session token")

// checkSessionToken validates a session token as Shopify does before an
// exchange, independently of possession's sdk: HS256 signed with the app's
// secret, aud the app's client ID, dest the shop the request is for, and
// exp/nbf with SessionTokenLeeway.
func (s *Server) checkSessionToken(tok, shop string, now time.Time) (*sessionClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errBadSessionToken
	}
	enc := base64.RawURLEncoding
	hdrJSON, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, errBadSessionToken
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdrJSON, &hdr) != nil || hdr.Alg != "HS256" {
		return nil, errBadSessionToken
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, errBadSessionToken
	}
	mac := hmac.New(sha256.New, []byte(s.cfg.clientSecret))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, errBadSessionToken
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, errBadSessionToken
	}
	var c sessionClaims
	if json.Unmarshal(payload, &c) != nil {
		return nil, errBadSessionToken
	}
	var aud string
	if json.Unmarshal(c.Aud, &aud) != nil || aud != s.cfg.clientID {
		return nil, errBadSessionToken
	}
	u, err := url.Parse(c.Dest)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, shop) || (u.Path != "" && u.Path != "/") {
		// A checkout or customer-account token's dest is a bare domain:
		// those are not exchangeable.
		return nil, errBadSessionToken
	}
	unix := func(n *json.Number) (time.Time, bool) {
		if n == nil {
			return time.Time{}, false
		}
		f, err := n.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(int64(f), 0), true
	}
	exp, ok := unix(c.Exp)
	if !ok || !now.Before(exp.Add(s.cfg.sessionLeeway)) {
		return nil, errBadSessionToken
	}
	if nbf, ok := unix(c.Nbf); ok && now.Before(nbf.Add(-s.cfg.sessionLeeway)) {
		return nil, errBadSessionToken
	}
	return &c, nil
}
