package shopifytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// get sends GET path (with query) for host with token, and returns the
// status and body.
func get(t *testing.T, s *Server, host, path, token string) (int, string) {
	t.Helper()
	return send(t, s, http.MethodGet, host, path, token, "", "")
}

func graphQL(t *testing.T, s *Server, token string) (int, string) {
	t.Helper()
	return send(t, s, http.MethodPost, shop, "/admin/api/2026-10/graphql.json", token, "application/json", `{"query":"{ shop { name } }"}`)
}

// send makes a request of s for host, with the access token and the
// content type when not empty, and returns the response's status and body.
func send(t *testing.T, s *Server, method, host, path, token, ctype, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Host = host
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAccessScopes(t *testing.T) {
	s, _ := newTestServer(t, WithScope("read_products, write_orders"))
	tok := s.IssueAccessToken(shop, "read_products,write_orders", 0)
	status, body := get(t, s, shop, "/admin/oauth/access_scopes.json", tok)
	if status != 200 || body != `{"access_scopes":[{"handle":"read_products"},{"handle":"write_orders"}]}` {
		t.Fatalf("access scopes: %d %s", status, body)
	}
	for _, c := range []struct{ name, host, token string }{
		{"no token", shop, ""},
		{"unknown token", shop, "shpat_unknown"},
		{"another shop's token", "other.myshopify.com", tok},
	} {
		if status, body := get(t, s, c.host, "/admin/oauth/access_scopes.json", c.token); status != 401 || body != invalidTokenBody {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	s.RevokeAccessToken(tok)
	if status, _ := get(t, s, shop, "/admin/oauth/access_scopes.json", tok); status != 401 {
		t.Errorf("revoked: %d", status)
	}
	if n := s.Requests(RouteAccessScopes); n != 5 {
		t.Errorf("%d requests counted, want 5", n)
	}
}

func TestNonExpiringCutoff(t *testing.T) {
	cutoff := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	s, c := newTestServer(t, WithNonExpiringCutoff(cutoff))
	// An expiring token (issued first: it revokes earlier offline ones).
	short := s.IssueAccessToken(shop, DefaultScope, 90*24*time.Hour)
	old := s.IssueAccessToken(shop, DefaultScope, 0)
	for _, tok := range []string{old, short} {
		if status, body := graphQL(t, s, tok); status != 200 {
			t.Fatalf("before the cut-off: %d %s", status, body)
		}
	}
	c.Advance(cutoff.Sub(c.Now()) - time.Millisecond)
	if status, _ := graphQL(t, s, old); status != 200 {
		t.Fatalf("a millisecond before the cut-off: %d", status)
	}
	c.Advance(time.Millisecond)
	for name, call := range map[string]func() (int, string){
		"graphql":       func() (int, string) { return graphQL(t, s, old) },
		"access scopes": func() (int, string) { return get(t, s, shop, "/admin/oauth/access_scopes.json", old) },
	} {
		if status, body := call(); status != 403 || body != nonExpiringRefusedBody {
			t.Errorf("%s with a non-expiring token at the cut-off: %d %s, want 403", name, status, body)
		}
	}
	if status, _ := graphQL(t, s, short); status != 200 {
		t.Errorf("expiring token after the cut-off: %d", status)
	}
	// A revoked non-expiring token is still a 401.
	revoked := s.IssueAccessToken(shop, DefaultScope, 0)
	s.RevokeAccessToken(revoked)
	if status, _ := graphQL(t, s, revoked); status != 401 {
		t.Errorf("revoked non-expiring token: %d, want 401", status)
	}
	// The migrate grant still works (it is OAuth, not the Admin API), and
	// its expiring token is accepted.
	a := post(t, s, shop, map[string]any{
		"client_id": s.ClientID(), "client_secret": s.ClientSecret(),
		"grant_type": GrantTypeTokenExchange, "subject_token": old,
		"subject_token_type": TokenTypeOfflineAccess, "requested_token_type": TokenTypeOfflineAccess, "expiring": "1",
	})
	if a.status != 200 {
		t.Fatalf("migrate after the cut-off: %d %v", a.status, a.body)
	}
	if status, _ := graphQL(t, s, str(a, "access_token")); status != 200 {
		t.Errorf("migrated token: %d", status)
	}
	// Without the option, non-expiring tokens are accepted at any time.
	s2, c2 := newTestServer(t)
	tok2 := s2.IssueAccessToken(shop, DefaultScope, 0)
	c2.Advance(5 * 365 * 24 * time.Hour)
	if status, _ := graphQL(t, s2, tok2); status != 200 {
		t.Errorf("no cut-off: %d", status)
	}
}

func TestAccessTokenValidDuring(t *testing.T) {
	s, c := newTestServer(t, WithOfflineTokenLifetimes(time.Hour, 0))
	t0 := c.Now()
	a := post(t, s, shop, s.exchangeFields(minter(s, c).Admin(), TokenTypeOfflineAccess, "1"))
	a1, r1 := str(a, "access_token"), str(a, "refresh_token")
	c.Advance(10 * time.Minute)
	t1 := c.Now()
	b := post(t, s, shop, s.refreshFields(r1)) // revokes a1 at t1
	a2 := str(b, "access_token")
	ms := time.Millisecond
	tests := []struct {
		name     string
		token    string
		from, to time.Time
		want     bool
	}{
		{"a1 at its issue", a1, t0, t0, true},
		{"a1 just before its revocation", a1, t1.Add(-ms), t1.Add(-ms), true},
		{"a1 over an interval ending after the revocation", a1, t1.Add(-ms), t1.Add(ms), true},
		{"a1 at its revocation", a1, t1, t1, false},
		{"a1 before it was issued", a1, t0.Add(-time.Hour), t0.Add(-ms), false},
		{"a2 over an interval when it was issued", a2, t1.Add(-ms), t1.Add(ms), true},
		{"a2 before it was issued", a2, t1.Add(-time.Minute), t1.Add(-ms), false},
		{"a2 just before it expires", a2, t1.Add(time.Hour - ms), t1.Add(time.Hour), true},
		{"a2 when it expires", a2, t1.Add(time.Hour), t1.Add(2 * time.Hour), false},
		{"unknown", "shpat_unknown", t0, t1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.AccessTokenValidDuring(shop, tt.token, tt.from, tt.to); got != tt.want {
				t.Errorf("AccessTokenValidDuring = %v, want %v", got, tt.want)
			}
			q := url.Values{"from": {tt.from.Format(time.RFC3339Nano)}, "to": {tt.to.Format(time.RFC3339Nano)}}
			status, body := get(t, s, shop, "/shopifytest/token_check?"+q.Encode(), tt.token)
			var v struct{ Valid bool }
			if status != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Valid != tt.want {
				t.Errorf("over HTTP: %d %s, want valid %v", status, body, tt.want)
			}
		})
	}
	if s.AccessTokenValidDuring("other.myshopify.com", a2, t1, t1) {
		t.Error("another shop's token reported valid")
	}
	// Without times: now. Bad times: 400.
	if status, body := get(t, s, shop, "/shopifytest/token_check", a2); status != 200 || body != `{"valid":true}` {
		t.Errorf("now: %d %s", status, body)
	}
	for _, q := range []string{"from=yesterday", "from=" + url.QueryEscape(t1.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(t0.Format(time.RFC3339Nano))} {
		if status, _ := get(t, s, shop, "/shopifytest/token_check?"+q, a2); status != 400 {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
	// The check is not a use: r1's grace (its replacement a2 unused) holds.
	if !s.RefreshTokenValid(shop, r1) {
		t.Error("the token check counted as a use of a2")
	}
}
