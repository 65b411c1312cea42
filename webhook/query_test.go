package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/webhook"
)

func proxyParams(ts time.Time) url.Values {
	return url.Values{
		"shop":                  {shop},
		"logged_in_customer_id": {"6573215908014"},
		"path_prefix":           {"/apps/loyalty"},
		"timestamp":             {unix(ts)},
	}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = append(out[kv[i]], kv[i+1])
	}
	return out
}

func TestVerifyAppProxy(t *testing.T) {
	base := proxyParams(now)
	cases := []struct {
		name     string
		query    string
		want     error
		keyID    string
		customer string
		extra    string // expected value of Params["extra"] joined
	}{
		{name: "valid", query: signAppProxy(secret, base), keyID: "static:current", customer: "6573215908014"},
		{name: "leading question mark", query: "?" + signAppProxy(secret, base), keyID: "static:current", customer: "6573215908014"},
		{name: "previous secret", query: signAppProxy(previous, base), keyID: "static:previous", customer: "6573215908014"},
		{name: "no customer logged in", query: signAppProxy(secret, with(base, "logged_in_customer_id", "\x00")), keyID: "static:current"},
		{name: "empty customer", query: signAppProxy(secret, with(base, "logged_in_customer_id", "\x00", "logged_in_customer_id", "")), keyID: "static:current"},
		{name: "repeated parameter joined by comma", query: signAppProxy(secret, with(base, "extra", "1", "extra", "2", "extra", "3")), keyID: "static:current", customer: "6573215908014", extra: "1,2,3"},
		{name: "values with spaces, plus and unicode", query: signAppProxy(secret, with(base, "extra", "a b+c ünï")), keyID: "static:current", customer: "6573215908014", extra: "a b+c ünï"},
		{name: "hmac parameter ignored, as Shopify's library does", query: signAppProxy(secret, base) + "&hmac=anything", keyID: "static:current", customer: "6573215908014"},
		{name: "timestamp 90 s ago", query: signAppProxy(secret, proxyParams(now.Add(-90*time.Second))), keyID: "static:current", customer: "6573215908014"},
		{name: "timestamp 90 s ahead", query: signAppProxy(secret, proxyParams(now.Add(90*time.Second))), keyID: "static:current", customer: "6573215908014"},
		{name: "timestamp 91 s ago", query: signAppProxy(secret, proxyParams(now.Add(-91*time.Second))), want: webhook.ErrTimestamp},
		{name: "timestamp 91 s ahead", query: signAppProxy(secret, proxyParams(now.Add(91*time.Second))), want: webhook.ErrTimestamp},
		{name: "timestamp not decimal", query: signAppProxy(secret, with(base, "timestamp", "\x00", "timestamp", "1.7844e9")), want: webhook.ErrTimestamp},
		{name: "timestamp with a sign", query: signAppProxy(secret, with(base, "timestamp", "\x00", "timestamp", "+"+unix(now))), want: webhook.ErrTimestamp},
		{name: "timestamp missing", query: signAppProxy(secret, with(base, "timestamp", "\x00")), want: webhook.ErrMissingParam},
		{name: "signature missing", query: strings.Split(signAppProxy(secret, base), "&signature=")[0], want: webhook.ErrMissingParam},
		{name: "wrong secret", query: signAppProxy(wrongSecret, base), want: webhook.ErrSignature},
		{name: "tampered customer", query: strings.Replace(signAppProxy(secret, base), "6573215908014", "6573215908015", 1), want: webhook.ErrSignature},
		{name: "parameter added", query: signAppProxy(secret, base) + "&admin=1", want: webhook.ErrSignature},
		{name: "signature in upper-case hex", query: upperSignature(signAppProxy(secret, base)), want: webhook.ErrSignature},
		{name: "shop twice", query: signAppProxy(secret, base) + "&shop=" + shop, want: webhook.ErrDuplicateParam},
		{name: "timestamp twice", query: signAppProxy(secret, with(base, "timestamp", unix(now))), want: webhook.ErrDuplicateParam},
		{name: "signature twice", query: signAppProxy(secret, base) + "&signature=00", want: webhook.ErrDuplicateParam},
		{name: "hmac twice", query: signAppProxy(secret, base) + "&hmac=1&hmac=2", want: webhook.ErrDuplicateParam},
		{name: "bad percent-encoding", query: signAppProxy(secret, base) + "&x=%zz", want: webhook.ErrQuery},
		{name: "not UTF-8", query: signAppProxy(secret, base) + "&x=%ff", want: webhook.ErrQuery},
		{name: "signed shop not a myshopify.com domain", query: signAppProxy(secret, with(base, "shop", "\x00", "shop", "evil.example.com")), want: webhook.ErrQuery},
		{name: "signed query without shop", query: signAppProxy(secret, with(base, "shop", "\x00")), want: webhook.ErrMissingParam},
		{name: "empty query", query: "", want: webhook.ErrMissingParam},
	}
	v := newVerifier(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := v.VerifyAppProxy(c.query)
			if c.want != nil {
				if !errors.Is(err, c.want) || p != nil {
					t.Fatalf("VerifyAppProxy = %v, %v; want %v", p, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyAppProxy: %v", err)
			}
			if p.Shop != shop || p.KeyID != c.keyID || p.LoggedInCustomerID != c.customer || p.PathPrefix != "/apps/loyalty" || p.Timestamp.IsZero() {
				t.Errorf("request %+v", p)
			}
			if got := strings.Join(p.Params["extra"], ","); got != c.extra {
				t.Errorf("extra = %q, want %q", got, c.extra)
			}
			if p.Params.Has("signature") || p.Params.Has("hmac") {
				t.Error("Params holds the signature")
			}
		})
	}
}

// upperSignature upper-cases the hex of the query's signature (or hmac)
// parameter.
func upperSignature(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if k, v, _ := strings.Cut(p, "="); k == "signature" || k == "hmac" {
			parts[i] = k + "=" + strings.ToUpper(v)
		}
	}
	return strings.Join(parts, "&")
}

func TestAppProxyMiddleware(t *testing.T) {
	var log hookLog
	v := newVerifier(t, webhook.WithOnError(log.hook))
	var got *webhook.AppProxyRequest
	h := v.AppProxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = webhook.AppProxyFrom(r.Context())
	}))
	for _, c := range []struct {
		name   string
		query  string
		status int
		want   error
	}{
		{"valid", signAppProxy(secret, proxyParams(now)), 200, nil},
		{"invalid signature", signAppProxy(wrongSecret, proxyParams(now)), 401, webhook.ErrSignature},
		{"expired", signAppProxy(secret, proxyParams(now.Add(-time.Hour))), 401, webhook.ErrTimestamp},
		{"missing signature", "shop=" + shop, 401, webhook.ErrMissingParam},
		{"duplicate", signAppProxy(secret, proxyParams(now)) + "&shop=x", 400, webhook.ErrDuplicateParam},
		{"malformed", "shop=%", 400, webhook.ErrQuery},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/apps/loyalty/points?"+c.query, nil))
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			if c.want == nil {
				if got == nil || got.Shop != shop || got.LoggedInCustomerID != "6573215908014" {
					t.Fatalf("handler saw %+v", got)
				}
				return
			}
			if got != nil {
				t.Error("handler called")
			}
			if rec := log.last(t); !errors.Is(rec.err, c.want) || rec.status != c.status || rec.d != nil {
				t.Errorf("hook %+v", rec)
			}
		})
	}
}

func oauthParams(ts time.Time) url.Values {
	return url.Values{
		"code":      {"0907a61c0c8d55e99db179b68161bc00"},
		"host":      {"YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZXhhbXBsZS1zaG9w"},
		"shop":      {shop},
		"state":     {"4d2c1e0b-nonce-7f6e5d4c3b2a"},
		"timestamp": {unix(ts)},
	}
}

func TestVerifyOAuthCallback(t *testing.T) {
	const state = "4d2c1e0b-nonce-7f6e5d4c3b2a"
	base := oauthParams(now)
	cases := []struct {
		name  string
		query string
		state string
		want  error
		keyID string
	}{
		{name: "valid", query: signOAuth(secret, base), state: state, keyID: "static:current"},
		{name: "previous secret", query: signOAuth(previous, base), state: state, keyID: "static:previous"},
		{name: "value with a space (signed %20)", query: signOAuth(secret, with(base, "note", "hello world")), state: state, keyID: "static:current"},
		{name: "values needing encoding", query: signOAuth(secret, with(base, "note", "a=b&c*d~e/f:g ü")), state: state, keyID: "static:current"},
		{name: "host with padding", query: signOAuth(secret, with(base, "host", "\x00", "host", "YWRtaW4=")), state: state, keyID: "static:current"},
		{name: "signature parameter left out of the message", query: signOAuth(secret, base) + "&signature=legacy", state: state, keyID: "static:current"},
		{name: "space signed as plus (npm 13.1.0's canonical form, not Shopify's)", query: signOAuthPlus(secret, with(base, "note", "a b")), state: state, want: webhook.ErrSignature},
		{name: "wrong secret", query: signOAuth(wrongSecret, base), state: state, want: webhook.ErrSignature},
		{name: "tampered code", query: strings.Replace(signOAuth(secret, base), "0907a61c", "0907a61d", 1), state: state, want: webhook.ErrSignature},
		{name: "hmac missing", query: "code=1&shop=" + shop + "&state=" + state + "&timestamp=" + unix(now), state: state, want: webhook.ErrMissingParam},
		{name: "timestamp missing", query: signOAuth(secret, with(base, "timestamp", "\x00")), state: state, want: webhook.ErrMissingParam},
		{name: "timestamp old", query: signOAuth(secret, oauthParams(now.Add(-5*time.Minute))), state: state, want: webhook.ErrTimestamp},
		{name: "any parameter twice", query: signOAuth(secret, base) + "&code=other", state: state, want: webhook.ErrDuplicateParam},
		{name: "state mismatch", query: signOAuth(secret, base), state: "another-state", want: webhook.ErrState},
		{name: "no state to compare", query: signOAuth(secret, base), state: "", want: webhook.ErrState},
		{name: "state missing", query: signOAuth(secret, with(base, "state", "\x00")), state: state, want: webhook.ErrMissingParam},
		{name: "code missing", query: signOAuth(secret, with(base, "code", "\x00")), state: state, want: webhook.ErrMissingParam},
		{name: "shop not a myshopify.com domain", query: signOAuth(secret, with(base, "shop", "\x00", "shop", "attacker.example")), state: state, want: webhook.ErrQuery},
		{name: "hmac upper-case", query: upperSignature(signOAuth(secret, base)), state: state, want: webhook.ErrSignature},
	}
	v := newVerifier(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cb, err := v.VerifyOAuthCallback(c.query, c.state)
			if c.want != nil {
				if !errors.Is(err, c.want) || cb != nil {
					t.Fatalf("VerifyOAuthCallback = %+v, %v; want %v", cb, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyOAuthCallback: %v", err)
			}
			if cb.Shop != shop || cb.Code != "0907a61c0c8d55e99db179b68161bc00" || cb.State != state || cb.KeyID != c.keyID || !cb.Timestamp.Equal(now) {
				t.Errorf("callback %+v", cb)
			}
			if cb.Params.Has("hmac") || cb.Params.Has("signature") {
				t.Error("Params holds the hmac")
			}
		})
	}
}
