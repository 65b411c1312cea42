package shopifytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

const shop = "oauth-test.myshopify.com"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T, opts ...Option) (*Server, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	s := NewServer(append([]Option{WithClock(c.Now)}, opts...)...)
	t.Cleanup(s.Close)
	return s, c
}

func minter(s *Server, c *clock) sdktest.Minter {
	return sdktest.Minter{Secret: s.ClientSecret(), ClientID: s.ClientID(), Shop: shop, UserID: "42", Now: c.Now}
}

type answer struct {
	status    int
	requestID string
	body      map[string]any
}

// post sends fields as JSON to the token endpoint for host.
func post(t *testing.T, s *Server, host string, fields map[string]any) answer {
	t.Helper()
	b, _ := json.Marshal(fields)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/oauth/access_token", bytes.NewReader(b))
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return answer{resp.StatusCode, resp.Header.Get("X-Request-Id"), body}
}

func (s *Server) exchangeFields(subject, tokenType string, expiring string) map[string]any {
	f := map[string]any{
		"client_id":            s.ClientID(),
		"client_secret":        s.ClientSecret(),
		"grant_type":           GrantTypeTokenExchange,
		"subject_token":        subject,
		"subject_token_type":   TokenTypeIDToken,
		"requested_token_type": tokenType,
	}
	if expiring != "" {
		f["expiring"] = expiring
	}
	return f
}

func (s *Server) refreshFields(rt string) map[string]any {
	return map[string]any{"client_id": s.ClientID(), "client_secret": s.ClientSecret(), "grant_type": GrantTypeRefreshToken, "refresh_token": rt}
}

func str(a answer, k string) string { v, _ := a.body[k].(string); return v }

func wantError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status || str(a, "error") != code || str(a, "error_description") == "" {
		t.Fatalf("answer %d %v, want %d with error %q and a description", a.status, a.body, status, code)
	}
}

func TestExchangeOfflineExpiring(t *testing.T) {
	s, c := newTestServer(t)
	a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1"))
	if a.status != 200 {
		t.Fatalf("status %d %v", a.status, a.body)
	}
	if !strings.HasPrefix(str(a, "access_token"), "shpat_") || !strings.HasPrefix(str(a, "refresh_token"), "shprt_") ||
		a.body["expires_in"] != 3600.0 || a.body["refresh_token_expires_in"] != 7776000.0 || str(a, "scope") != DefaultScope {
		t.Fatalf("answer %v", a.body)
	}
	if a.requestID == "" {
		t.Error("no X-Request-Id")
	}
	if !s.AccessTokenValid(shop, str(a, "access_token")) || s.AccessTokenValid("other.myshopify.com", str(a, "access_token")) {
		t.Error("validity of the new token")
	}
	// A second exchange revokes the first (one active expiring token).
	b := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1"))
	if s.AccessTokenValid(shop, str(a, "access_token")) || s.RefreshTokenValid(shop, str(a, "refresh_token")) {
		t.Error("a new exchange left the previous pair alive")
	}
	if !s.AccessTokenValid(shop, str(b, "access_token")) {
		t.Error("second exchange not valid")
	}
	if got := s.GrantCounts(); got.Exchange != 2 {
		t.Errorf("counts %+v", got)
	}
}

func TestExchangeNonExpiringAndOnline(t *testing.T) {
	s, c := newTestServer(t)
	for _, exp := range []string{"", "0"} {
		a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, exp))
		if a.status != 200 || a.body["expires_in"] != nil || a.body["refresh_token"] != nil {
			t.Fatalf("expiring=%q: %d %v, want a non-expiring token", exp, a.status, a.body)
		}
	}
	a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOnlineAccess, "0"))
	user, _ := a.body["associated_user"].(map[string]any)
	if a.status != 200 || !strings.HasPrefix(str(a, "access_token"), "shpua_") || a.body["expires_in"] != 86399.0 ||
		user == nil || user["id"] != 42.0 || user["email"] == "" || str(a, "associated_user_scope") != DefaultScope {
		t.Fatalf("online answer %d %v", a.status, a.body)
	}
	for _, k := range []string{"first_name", "last_name", "email", "email_verified", "account_owner", "locale", "collaborator"} {
		if _, ok := user[k]; !ok {
			t.Errorf("associated_user lacks %s", k)
		}
	}
}

func TestExchangeRefusals(t *testing.T) {
	s, c := newTestServer(t)
	m := minter(s, c)
	other := m
	other.Secret = "another-apps-secret-0123456789abcdef"
	wrongAud := m
	wrongAud.ClientID = "another-client"
	otherShop := m
	otherShop.Shop = "other.myshopify.com"
	now := c.Now()
	for _, tc := range []struct {
		name   string
		fields func() map[string]any
		host   string
		status int
		code   string
	}{
		{"wrong signature", func() map[string]any { return s.exchangeFields(other.Admin(), TokenTypeOfflineAccess, "1") }, shop, 400, "invalid_subject_token"},
		{"wrong aud", func() map[string]any { return s.exchangeFields(wrongAud.Admin(), TokenTypeOfflineAccess, "1") }, shop, 400, "invalid_subject_token"},
		{"dest is another shop", func() map[string]any { return s.exchangeFields(otherShop.Admin(), TokenTypeOfflineAccess, "1") }, shop, 400, "invalid_subject_token"},
		{"checkout token", func() map[string]any { return s.exchangeFields(m.Checkout(), TokenTypeOfflineAccess, "1") }, shop, 400, "invalid_subject_token"},
		{"expired past the leeway", func() map[string]any {
			return s.exchangeFields(m.Admin(sdktest.At(now.Add(-71*time.Second))), TokenTypeOfflineAccess, "1")
		}, shop, 400, "invalid_subject_token"},
		{"not yet valid past the leeway", func() map[string]any {
			return s.exchangeFields(m.Admin(sdktest.At(now.Add(11*time.Second))), TokenTypeOfflineAccess, "1")
		}, shop, 400, "invalid_subject_token"},
		{"no exp", func() map[string]any {
			return s.exchangeFields(m.Admin(sdktest.Delete("exp")), TokenTypeOfflineAccess, "1")
		}, shop, 400, "invalid_subject_token"},
		{"alg none", func() map[string]any {
			tok := m.Admin()
			parts := strings.Split(tok, ".")
			return s.exchangeFields("eyJhbGciOiJub25lIn0."+parts[1]+".", TokenTypeOfflineAccess, "1")
		}, shop, 400, "invalid_subject_token"},
		{"online without sub", func() map[string]any {
			return s.exchangeFields(m.Admin(sdktest.Delete("sub")), TokenTypeOnlineAccess, "")
		}, shop, 400, "invalid_subject_token"},
		{"garbage", func() map[string]any { return s.exchangeFields("not-a-jwt", TokenTypeOfflineAccess, "1") }, shop, 400, "invalid_subject_token"},
		{"wrong secret", func() map[string]any {
			f := s.exchangeFields(m.Admin(), TokenTypeOfflineAccess, "1")
			f["client_secret"] = "nope-nope-nope-nope-nope-nope-nope"
			return f
		}, shop, 400, "invalid_client"},
		{"wrong client", func() map[string]any {
			f := s.exchangeFields(m.Admin(), TokenTypeOfflineAccess, "1")
			f["client_id"] = "someone-else"
			return f
		}, shop, 400, "invalid_client"},
		{"no secret", func() map[string]any {
			f := s.exchangeFields(m.Admin(), TokenTypeOfflineAccess, "1")
			delete(f, "client_secret")
			return f
		}, shop, 400, "invalid_request"},
		{"no requested type", func() map[string]any {
			f := s.exchangeFields(m.Admin(), TokenTypeOfflineAccess, "1")
			delete(f, "requested_token_type")
			return f
		}, shop, 400, "invalid_request"},
		{"unknown grant", func() map[string]any {
			return map[string]any{"client_id": s.ClientID(), "client_secret": s.ClientSecret(), "grant_type": "password"}
		}, shop, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, post(t, s, tc.host, tc.fields()), tc.status, tc.code) })
	}
	// Within the leeway is fine.
	a := post(t, s, shop, s.exchangeFields(m.Admin(sdktest.At(now.Add(-65*time.Second))), TokenTypeOfflineAccess, "1"))
	if a.status != 200 {
		t.Errorf("a token 5 s past exp (leeway 10 s) was refused: %v", a.body)
	}
	if a := post(t, s, "not-a-shop.example.com", s.exchangeFields(m.Admin(), TokenTypeOfflineAccess, "1")); a.status != 404 {
		t.Errorf("a request for no shop: %d", a.status)
	}
	if got := s.GrantCounts(); got.Refused < 15 {
		t.Errorf("refusals counted: %+v", got)
	}
}

func TestRefreshRotationAndGrace(t *testing.T) {
	s, c := newTestServer(t)
	a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1"))
	a1, r1 := str(a, "access_token"), str(a, "refresh_token")

	b := post(t, s, shop, s.refreshFields(r1))
	if b.status != 200 || b.body["refresh_token_expires_in"] != 7776000.0 {
		t.Fatalf("refresh: %d %v", b.status, b.body)
	}
	a2, r2 := str(b, "access_token"), str(b, "refresh_token")
	if a2 == a1 || r2 == r1 || s.AccessTokenValid(shop, a1) || !s.AccessTokenValid(shop, a2) {
		t.Fatal("refresh did not rotate and revoke")
	}
	// Grace: r1 may be redeemed again while a2/r2 are unused; the retry
	// revokes the unused a2/r2.
	g := post(t, s, shop, s.refreshFields(r1))
	if g.status != 200 {
		t.Fatalf("retry of the previous refresh token in grace: %v", g.body)
	}
	a3, r3 := str(g, "access_token"), str(g, "refresh_token")
	if s.AccessTokenValid(shop, a2) || s.RefreshTokenValid(shop, r2) {
		t.Error("the grace retry left the unused replacement alive")
	}
	wantError(t, post(t, s, shop, s.refreshFields(r2)), 400, "invalid_grant")
	// The app uses a3 (an Admin call): r1's grace ends.
	if !s.accessValid(shop, a3) {
		t.Fatal("a3 not valid")
	}
	wantError(t, post(t, s, shop, s.refreshFields(r1)), 400, "invalid_grant")
	// Using r3 works, and ends r1's grace too.
	d := post(t, s, shop, s.refreshFields(r3))
	if d.status != 200 {
		t.Fatalf("refresh with r3: %v", d.body)
	}
	// The grace of r3 ends after 30 days even if its replacement is unused.
	c.Advance(RefreshGrace + time.Second)
	wantError(t, post(t, s, shop, s.refreshFields(r3)), 400, "invalid_grant")
	// Refresh tokens expire after 90 days.
	r4 := str(d, "refresh_token")
	if !s.RefreshTokenValid(shop, r4) {
		t.Fatal("r4 should still be valid")
	}
	c.Advance(DefaultRefreshTokenLifetime)
	wantError(t, post(t, s, shop, s.refreshFields(r4)), 400, "invalid_grant")
	// For another shop, or unknown: refused.
	wantError(t, post(t, s, "other.myshopify.com", s.refreshFields(r4)), 400, "invalid_grant")
	wantError(t, post(t, s, shop, s.refreshFields("shprt_unknown")), 400, "invalid_grant")
	if got := s.GrantCounts(); got.Refresh != 9 || got.Exchange != 1 || got.RefreshInGrace != 1 {
		t.Errorf("counts %+v", got)
	}
}

func TestRevokeUninstallMigrateClientCredentials(t *testing.T) {
	s, c := newTestServer(t)
	a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1"))
	s.Revoke(shop)
	wantError(t, post(t, s, shop, s.refreshFields(str(a, "refresh_token"))), 400, "invalid_grant")

	s.Uninstall(shop)
	wantError(t, post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1")), 400, "invalid_client")
	s.Install(shop)

	old := s.IssueAccessToken(shop, "read_orders", 0)
	mig := func(subject, expiring string) answer {
		return post(t, s, shop, map[string]any{
			"client_id": s.ClientID(), "client_secret": s.ClientSecret(), "grant_type": GrantTypeTokenExchange,
			"subject_token": subject, "subject_token_type": TokenTypeOfflineAccess,
			"requested_token_type": TokenTypeOfflineAccess, "expiring": expiring,
		})
	}
	wantError(t, mig(old, "0"), 400, "invalid_request")
	m := mig(old, "1")
	if m.status != 200 || m.body["expires_in"] != 3600.0 || str(m, "refresh_token") == "" || str(m, "scope") != "read_orders" {
		t.Fatalf("migrate: %v", m.body)
	}
	if s.AccessTokenValid(shop, old) {
		t.Error("the migrated token is still valid")
	}
	wantError(t, mig(old, "1"), 400, "invalid_subject_token")                    // once only
	wantError(t, mig(str(m, "access_token"), "1"), 400, "invalid_subject_token") // already expiring

	cc := post(t, s, shop, map[string]any{"client_id": s.ClientID(), "client_secret": s.ClientSecret(), "grant_type": GrantTypeClientCredentials})
	if cc.status != 200 || cc.body["expires_in"] != 86399.0 || cc.body["refresh_token"] != nil {
		t.Fatalf("client credentials: %v", cc.body)
	}
	if got := s.GrantCounts(); got.Migrate != 4 || got.ClientCredentials != 1 {
		t.Errorf("counts %+v", got)
	}
}

func TestFaultsAndRecords(t *testing.T) {
	s, c := newTestServer(t)
	s.Inject(RouteOAuthAccessToken, Fault{Status: 429, RetryAfter: "2"}, Fault{Status: 503})
	f := s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1")
	b, _ := json.Marshal(f)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/admin/oauth/access_token", bytes.NewReader(b))
	req.Host = shop
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("injected 429: %d %v", resp.StatusCode, resp.Header)
	}
	if a := post(t, s, shop, f); a.status != 503 {
		t.Errorf("injected 503: %d", a.status)
	}
	if a := post(t, s, shop, f); a.status != 200 {
		t.Errorf("after the faults: %d", a.status)
	}
	last, ok := s.LastRequest(RouteOAuthAccessToken)
	if !ok || last.Method != "POST" || last.Path != "/admin/oauth/access_token" || last.Host != shop ||
		last.Header.Get("Content-Type") != "application/json" || !bytes.Equal(last.Body, b) {
		t.Errorf("last request %+v", last)
	}
	if n := s.Requests(RouteOAuthAccessToken); n != 3 {
		t.Errorf("%d requests counted, want 3", n)
	}
	// Form bodies are understood too.
	form := "client_id=" + s.ClientID() + "&client_secret=" + s.ClientSecret() + "&grant_type=client_credentials"
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/admin/oauth/access_token", strings.NewReader(form))
	req.Host = shop
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("form body: %v", err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(s.URL + "/admin/oauth/access_token"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("GET: %d", resp.StatusCode)
		}
	}
}

// FuzzCheckSessionToken: whatever possession's sdk verifier (an
// independent implementation) accepts as an admin token for the shop, the
// fake accepts too, and the fake never accepts a token whose signature
// does not verify.
func FuzzCheckSessionToken(f *testing.F) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := &Server{cfg: config{clientID: DefaultClientID, clientSecret: DefaultClientSecret, sessionLeeway: SessionTokenLeeway}}
	m := sdktest.Minter{Secret: DefaultClientSecret, ClientID: DefaultClientID, Shop: shop, Now: func() time.Time { return now }}
	v, err := sdk.New(keysource.MustStatic(DefaultClientSecret), sdk.WithClientID(DefaultClientID), sdk.WithClock(func() time.Time { return now }), sdk.WithCacheSize(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(int64(0), int64(0), "", "", false)
	f.Add(int64(-69), int64(0), "", "", false)
	f.Add(int64(-75), int64(5), "", "", false)
	f.Add(int64(0), int64(0), "x", "https://"+shop, true)
	f.Add(int64(0), int64(0), "", shop, false)
	f.Fuzz(func(t *testing.T, shift, nbfShift int64, aud, dest string, forge bool) {
		changes := []sdktest.Claim{sdktest.At(now.Add(time.Duration(shift%1_000_000) * time.Second))}
		if nbfShift != 0 {
			changes = append(changes, sdktest.Set("nbf", now.Unix()+nbfShift%1_000_000))
		}
		if aud != "" {
			changes = append(changes, sdktest.Set("aud", aud))
		}
		if dest != "" {
			changes = append(changes, sdktest.Set("dest", dest))
		}
		tok := m.Admin(changes...)
		if forge {
			tok = tok[:len(tok)-2] + "AA"
		}
		_, fakeErr := s.checkSessionToken(tok, shop, now)
		sess, sdkErr := v.Verify(context.Background(), tok)
		if sdkErr == nil && sess.Kind == sdk.KindAdmin && sess.Shop == shop && fakeErr != nil {
			t.Fatalf("the sdk accepts %s for the shop, the fake refuses it: %v", tok, fakeErr)
		}
		if fakeErr == nil && errors.Is(sdkErr, sdk.ErrSignature) {
			t.Fatalf("the fake accepts %s with a bad signature", tok)
		}
	})
}

// FuzzCheckSessionTokenRaw: arbitrary input never panics the fake's
// session token check and is never accepted (it is not signed).
func FuzzCheckSessionTokenRaw(f *testing.F) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := &Server{cfg: config{clientID: DefaultClientID, clientSecret: DefaultClientSecret, sessionLeeway: SessionTokenLeeway}}
	m := sdktest.Minter{Secret: "another-secret-0123456789abcdef0123", ClientID: DefaultClientID, Shop: shop, Now: func() time.Time { return now }}
	f.Add(m.Admin())
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := s.checkSessionToken(raw, shop, now); err == nil {
			t.Fatalf("accepted %q, not signed with the app's secret", raw)
		}
	})
}

// FuzzReadParams: any body never panics the parameter reader, and a JSON
// object of strings reads back as itself.
func FuzzReadParams(f *testing.F) {
	f.Add([]byte(`{"grant_type":"refresh_token","refresh_token":"shprt_x","expiring":1}`), true)
	f.Add([]byte(`grant_type=client_credentials&client_id=a`), false)
	f.Add([]byte(`{`), true)
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		ct := "application/x-www-form-urlencoded"
		if isJSON {
			ct = "application/json"
		}
		r, _ := http.NewRequest(http.MethodPost, "http://x/admin/oauth/access_token", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		params, oerr := readParams(r)
		if !isJSON {
			return
		}
		var want map[string]string
		if json.Unmarshal(body, &want) != nil {
			return
		}
		if oerr != nil {
			t.Fatalf("a JSON object of strings was refused: %v", oerr)
		}
		for k, v := range want {
			if params[k] != v {
				t.Fatalf("%s read as %q, want %q", k, params[k], v)
			}
		}
	})
}
