package access

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

// cannedShopify answers every token request with one status, headers and
// body, and counts the requests.
type cannedShopify struct {
	status int
	header map[string]string
	body   string
	n      atomic.Int64
}

func (c *cannedShopify) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	for k, v := range c.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(c.status)
	_, _ = w.Write([]byte(c.body))
}

func cannedManager(t *testing.T, c *cannedShopify, opts ...Option) *Manager {
	t.Helper()
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	src, _ := keysource.Static("canned-client-secret-0123456789abcdef")
	m, err := New("canned-client-id", src, MemoryStore(), append([]Option{WithShopifyBaseURL(srv.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cfg.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	return m
}

func TestShopifyErrorTable(t *testing.T) {
	const subject = "eyJhbGciOiJIUzI1NiJ9.subject-token-under-test.sig"
	for _, c := range []struct {
		name      string
		grant     grant
		status    int
		body      string
		want      error
		code      string
		attempts  int
		retryable bool
	}{
		{"invalid_subject_token", grantExchangeOffline, 400, `{"error":"invalid_subject_token","error_description":"The subject token is invalid or has expired"}`, ErrInvalidSubjectToken, "invalid_subject_token", 1, false},
		{"invalid_subject_token online", grantExchangeOnline, 400, `{"error":"invalid_subject_token","error_description":"Subject token is invalid"}`, ErrInvalidSubjectToken, "invalid_subject_token", 1, false},
		{"invalid_subject_token on migrate", grantMigrate, 400, `{"error":"invalid_subject_token"}`, ErrReauthorize, "invalid_subject_token", 1, false},
		{"invalid_client 400", grantRefresh, 400, `{"error":"invalid_client","error_description":"Client authentication failed"}`, ErrInvalidClient, "invalid_client", 1, false},
		{"invalid_client 401", grantExchangeOffline, 401, `{"error":"invalid_client"}`, ErrInvalidClient, "invalid_client", 1, false},
		{"invalid_grant", grantRefresh, 400, `{"error":"invalid_grant","error_description":"The refresh token is invalid or expired"}`, ErrReauthorize, "invalid_grant", 1, false},
		{"invalid_request", grantMigrate, 400, `{"error":"invalid_request","error_description":"Invalid subject token"}`, ErrProtocol, "invalid_request", 1, false},
		{"unsupported_grant_type", grantRefresh, 400, `{"error":"unsupported_grant_type"}`, ErrProtocol, "unsupported_grant_type", 1, false},
		{"403 without a code", grantRefresh, 403, `{"errors":"Forbidden"}`, ErrProtocol, "", 1, false},
		{"404 html", grantRefresh, 404, `<html>Not Found</html>`, ErrProtocol, "", 1, false},
		{"429", grantRefresh, 429, `{"errors":"Exceeded 2 calls per second for api client."}`, ErrUnavailable, "", DefaultMaxAttempts, true},
		{"500", grantRefresh, 500, `{"errors":"Internal Server Error"}`, ErrUnavailable, "", DefaultMaxAttempts, true},
		{"502", grantExchangeOffline, 502, `bad gateway`, ErrUnavailable, "", DefaultMaxAttempts, true},
		{"503", grantExchangeOffline, 503, ``, ErrUnavailable, "", DefaultMaxAttempts, true},
		{"504", grantMigrate, 504, ``, ErrUnavailable, "", DefaultMaxAttempts, true},
		{"200 not json", grantRefresh, 200, `<html>`, ErrProtocol, "", 1, false},
		{"200 no access_token", grantRefresh, 200, `{"scope":"read_products"}`, ErrProtocol, "", 1, false},
		{"200 expiring without expires_in", grantRefresh, 200, `{"access_token":"shpat_x","scope":"a","refresh_token":"shprt_y"}`, ErrProtocol, "", 1, false},
		{"200 expiring without refresh_token", grantExchangeOffline, 200, `{"access_token":"shpat_x","scope":"a","expires_in":3600}`, ErrProtocol, "", 1, false},
		{"200 expiring with expires_in 0", grantMigrate, 200, `{"access_token":"shpat_x","scope":"a","expires_in":0,"refresh_token":"shprt_y"}`, ErrProtocol, "", 1, false},
		{"200 online without user", grantExchangeOnline, 200, `{"access_token":"shpua_x","scope":"a","expires_in":86399}`, ErrProtocol, "", 1, false},
		{"200 online for another user", grantExchangeOnline, 200, `{"access_token":"shpua_x","scope":"a","expires_in":86399,"associated_user":{"id":43}}`, ErrProtocol, "", 1, false},
		{"200 online without expiry", grantExchangeOnline, 200, `{"access_token":"shpua_x","scope":"a","associated_user":{"id":42}}`, ErrProtocol, "", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			canned := &cannedShopify{status: c.status, body: c.body, header: map[string]string{"X-Request-Id": "req-" + c.name, "Retry-After": "0"}}
			m := cannedManager(t, canned)
			body := grantRequest{GrantType: grantTypeTokenExchange, SubjectToken: subject}
			_, se, err := m.requestGrant(ctx, testShop, c.grant, body, "42")
			mustErrIs(t, err, c.want)
			var got *ShopifyError
			if !errors.As(err, &got) {
				t.Fatalf("error %v is no *ShopifyError", err)
			}
			if se == nil || got.Status != c.status || got.Code != c.code || got.RequestID != "req-"+c.name || got.Attempts != c.attempts {
				t.Errorf("ShopifyError %+v: want status %d, code %q, request id, %d attempts", got, c.status, c.code, c.attempts)
			}
			if int(canned.n.Load()) != c.attempts {
				t.Errorf("%d requests, want %d", canned.n.Load(), c.attempts)
			}
			msg := err.Error()
			if strings.Contains(msg, subject) || strings.Contains(msg, "canned-client-secret") {
				t.Errorf("error message %q carries the subject token or the secret", msg)
			}
			if !strings.HasPrefix(msg, "access: ") {
				t.Errorf("error message %q lacks the package prefix", msg)
			}
		})
	}
}

func TestShopifyDescriptionEchoingASecretIsDropped(t *testing.T) {
	const subject = "eyJhbGciOiJIUzI1NiJ9.echoed.sig"
	canned := &cannedShopify{status: 400, body: `{"error":"invalid_subject_token","error_description":"bad token ` + subject + `"}`}
	m := cannedManager(t, canned)
	_, _, err := m.requestGrant(ctx, testShop, grantExchangeOffline, grantRequest{SubjectToken: subject}, "")
	mustErrIs(t, err, ErrInvalidSubjectToken)
	if strings.Contains(err.Error(), "echoed") {
		t.Errorf("error %q repeats an echoed subject token", err)
	}
	canned.body = `{"error":"invalid_client","error_description":"secret canned-client-secret-0123456789abcdef is wrong"}`
	_, _, err = m.requestGrant(ctx, testShop, grantRefresh, grantRequest{RefreshToken: "shprt_z"}, "")
	if strings.Contains(err.Error(), "canned-client-secret") {
		t.Errorf("error %q repeats the client secret", err)
	}
}

func TestNetworkErrorsAreRetriedAndBounded(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	src, _ := keysource.Static("canned-client-secret-0123456789abcdef")
	m, err := New("id", src, MemoryStore(), WithShopifyBaseURL(url), WithMaxAttempts(3))
	if err != nil {
		t.Fatal(err)
	}
	var waits int
	m.cfg.sleep = func(ctx context.Context, d time.Duration) error { waits++; return nil }
	_, _, err = m.requestGrant(ctx, testShop, grantRefresh, grantRequest{RefreshToken: "shprt_z"}, "")
	mustErrIs(t, err, ErrUnavailable)
	var se *ShopifyError
	if !errors.As(err, &se) || se.Attempts != 3 || waits != 2 {
		t.Errorf("error %v (%d waits): want 3 attempts and 2 waits", err, waits)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"2": 2 * time.Second, "0": 0, "1.5": 1500 * time.Millisecond, " 3 ": 3 * time.Second,
		"": time.Second, "soon": time.Second, "-1": time.Second, "NaN": time.Second,
		"3600": maxRetryAfter, "1e300": maxRetryAfter, "Wed, 21 Oct 2026 07:28:00 GMT": time.Second,
	} {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "0", "2.5", "", "x", "-3", "1e9", "Inf", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := retryAfter(s); d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v out of [0, %v]", s, d, maxRetryAfter)
		}
	})
}

func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"shpat_a","scope":"read_products","expires_in":3600,"refresh_token":"shprt_b","refresh_token_expires_in":7776000}`,
		`{"access_token":"shpua_a","scope":"read_products","expires_in":86399,"associated_user_scope":"read_products","associated_user":{"id":42,"first_name":"A"}}`,
		`{"access_token":"shpat_a","scope":"read_products"}`,
		`{}`, `null`, `[]`, `{"expires_in":-1}`, `{"associated_user":{"id":"42"}}`,
	} {
		for g := grantExchangeOffline; g <= grantMigrate; g++ {
			f.Add([]byte(s), uint8(g))
		}
	}
	m := &Manager{cfg: config{now: func() time.Time { return time.Unix(1_800_000_000, 0) }}}
	f.Fuzz(func(t *testing.T, body []byte, g uint8) {
		gr := grant(g%4 + 1)
		a, err := m.parseGrant(gr, body, "42")
		if err != nil {
			return
		}
		// What parses is complete: a token, an expiry, and for offline
		// grants a refresh token; for online grants the session's user.
		if a.access == "" || a.accessExpires.IsZero() {
			t.Fatalf("%v accepted %s without a token or expiry", gr, body)
		}
		if gr != grantExchangeOnline && a.refresh == "" {
			t.Fatalf("%v accepted %s without a refresh token", gr, body)
		}
		if gr == grantExchangeOnline {
			var r grantResponse
			if json.Unmarshal(body, &r) != nil || r.AssociatedUser == nil || r.AssociatedUser.ID.String() != "42" {
				t.Fatalf("online grant accepted %s for another user", body)
			}
		}
	})
}
