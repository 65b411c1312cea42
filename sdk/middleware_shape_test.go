package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// chain applies middlewares the way chi's Use and alice do: the first
// one is the outermost.
func chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// TestNewMiddlewareComposes: NewMiddleware is a func(http.Handler)
// http.Handler that behaves as Middleware, options included.
func TestNewMiddlewareComposes(t *testing.T) {
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	const ext = "https://extensions.shopifycdn.com"
	var mw func(http.Handler) http.Handler = v.NewMiddleware(sdk.WithAllowedOrigins(ext))
	var order []string
	logging := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			order = append(order, "logging")
			next.ServeHTTP(w, r)
		})
	}
	h := chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sdk.SessionFrom(r.Context())
		if !ok {
			t.Error("handler without a session")
			return
		}
		order = append(order, "handler")
		_, _ = io.WriteString(w, s.UserID)
	}), logging, mw)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, get(map[string][]string{"Authorization": {"Bearer " + mwMinter().Admin()}, "Origin": {ext}}))
	if rec.Code != 200 || rec.Body.String() != mwUser || strings.Join(order, ",") != "logging,handler" {
		t.Fatalf("status %d, body %q, order %v", rec.Code, rec.Body, order)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != ext {
		t.Errorf("option not applied: Allow-Origin %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}

	order = nil
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, get(nil))
	if rec.Code != 401 || strings.Join(order, ",") != "logging" {
		t.Fatalf("without a token: status %d, order %v", rec.Code, order)
	}

	// One NewMiddleware serves several routes independently.
	other := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "other") }))
	rec = httptest.NewRecorder()
	other.ServeHTTP(rec, get(map[string][]string{"Authorization": {"Bearer " + mwMinter().Admin()}}))
	if rec.Body.String() != "other" {
		t.Errorf("second route body %q", rec.Body)
	}
}

// TestWithErrorHandler: the error handler writes the response (status and
// body of its choice) on top of the protocol headers; WithOnReject sees the
// status it sent.
func TestWithErrorHandler(t *testing.T) {
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	type call struct {
		status int
		err    error
	}
	var got *call
	custom := sdk.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, status int, err error) {
		got = &call{status, err}
		if errors.Is(err, sdk.ErrNoKeys) {
			sdk.DefaultErrorHandler(w, r, status, err) // keep the default for this one
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "custom: "+sdk.ErrorName(err))
	})
	var reported *call
	onReject := sdk.WithOnReject(func(_ *http.Request, status int, err error) { reported = &call{status, err} })

	tests := []struct {
		name       string
		src        keysource.Source
		req        *http.Request
		wantStatus int // what the middleware chose and passed to the handler
		wantErr    error
		wantRetry  string
		wantAuthn  string
		wantBody   string
		wantSent   int
	}{
		{name: "expired token", req: get(map[string][]string{"Authorization": {"Bearer " + mwMinter().Admin(sdktest.At(mwNow.Add(-time.Hour)))}}),
			wantStatus: 401, wantErr: sdk.ErrExpired, wantRetry: "1", wantAuthn: `Bearer error="invalid_token"`, wantBody: "custom: expired", wantSent: http.StatusTeapot},
		{name: "no token", req: get(nil),
			wantStatus: 401, wantErr: sdk.ErrNoToken, wantAuthn: "Bearer", wantBody: "custom: no_token", wantSent: http.StatusTeapot},
		{name: "bad hint", req: get(map[string][]string{"Authorization": {"Bearer " + mwMinter().Admin()}, sdk.HeaderUserID: {"1"}}),
			wantStatus: 400, wantErr: sdk.ErrHint, wantBody: "custom: hint", wantSent: http.StatusTeapot},
		{name: "no keys keeps the default", src: emptySource{}, req: get(map[string][]string{"Authorization": {"Bearer " + mwMinter().Admin()}}),
			wantStatus: 503, wantErr: sdk.ErrNoKeys, wantBody: `"error":"no_keys"`, wantSent: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reported = nil, nil
			vv := v
			if tt.src != nil {
				vv = mwVerifier(t, tt.src)
			}
			rec := httptest.NewRecorder()
			vv.Middleware(http.NotFoundHandler(), custom, onReject).ServeHTTP(rec, tt.req)
			if got == nil || got.status != tt.wantStatus || !errors.Is(got.err, tt.wantErr) {
				t.Fatalf("error handler got %+v, want status %d and %v", got, tt.wantStatus, tt.wantErr)
			}
			if rec.Code != tt.wantSent || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("response %d %q, want %d with %q", rec.Code, rec.Body, tt.wantSent, tt.wantBody)
			}
			if rec.Header().Get(sdk.HeaderRetryInvalidSession) != tt.wantRetry || rec.Header().Get("WWW-Authenticate") != tt.wantAuthn {
				t.Errorf("protocol headers: retry %q, WWW-Authenticate %q; want %q, %q",
					rec.Header().Get(sdk.HeaderRetryInvalidSession), rec.Header().Get("WWW-Authenticate"), tt.wantRetry, tt.wantAuthn)
			}
			if reported == nil || reported.status != tt.wantSent || !errors.Is(reported.err, tt.wantErr) {
				t.Errorf("WithOnReject saw %+v, want status %d and %v", reported, tt.wantSent, tt.wantErr)
			}
		})
	}

	t.Run("foreign-origin preflight", func(t *testing.T) {
		got = nil
		r := httptest.NewRequest(http.MethodOptions, "http://backend.test/api", nil)
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Access-Control-Request-Method", "GET")
		rec := httptest.NewRecorder()
		v.Middleware(http.NotFoundHandler(), custom, sdk.WithAllowedOrigins("https://cdn.shopify.com")).ServeHTTP(rec, r)
		if got == nil || got.status != http.StatusForbidden || !errors.Is(got.err, sdk.ErrOrigin) || sdk.ErrorName(got.err) != "origin" {
			t.Fatalf("error handler got %+v, want 403 and ErrOrigin", got)
		}
		if rec.Code != http.StatusTeapot || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("response %d, Allow-Origin %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	})
}

// TestDefaultErrorHandlerIsTheDefault: WithErrorHandler(DefaultErrorHandler)
// answers exactly as no option does.
func TestDefaultErrorHandlerIsTheDefault(t *testing.T) {
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	for name, h := range map[string]map[string][]string{
		"no token":  nil,
		"two":       {"Authorization": {"Bearer a", "Bearer b"}},
		"expired":   {"Authorization": {"Bearer " + mwMinter().Admin(sdktest.At(mwNow.Add(-time.Hour)))}},
		"bad hint":  {"Authorization": {"Bearer " + mwMinter().Admin()}, sdk.HeaderLocationID: {"x"}},
		"malformed": {"Authorization": {"Bearer x.y.z"}},
	} {
		a, b := httptest.NewRecorder(), httptest.NewRecorder()
		v.Middleware(http.NotFoundHandler()).ServeHTTP(a, get(h))
		v.Middleware(http.NotFoundHandler(), sdk.WithErrorHandler(sdk.DefaultErrorHandler)).ServeHTTP(b, get(h))
		if a.Code != b.Code || a.Body.String() != b.Body.String() || len(a.Header()) != len(b.Header()) {
			t.Errorf("%s: default %d %q %v, DefaultErrorHandler %d %q %v", name, a.Code, a.Body, a.Header(), b.Code, b.Body, b.Header())
		}
		for k := range a.Header() {
			if a.Header().Get(k) != b.Header().Get(k) {
				t.Errorf("%s: header %s: %q vs %q", name, k, a.Header().Get(k), b.Header().Get(k))
			}
		}
	}
}

func TestTokenFromRequest(t *testing.T) {
	tok := mwMinter().Admin()
	withQuery := func(q string, auth ...string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://backend.test/app?"+q, nil)
		for _, a := range auth {
			r.Header.Add("Authorization", a)
		}
		return r
	}
	tests := []struct {
		name    string
		req     *http.Request
		opts    []sdk.MiddlewareOption
		want    string
		wantErr bool
	}{
		{name: "bearer", req: withQuery("", "Bearer "+tok), want: tok},
		{name: "scheme in any case, spaces", req: withQuery("", "  bEaReR\t"+tok+" "), want: tok},
		{name: "no header", req: withQuery(""), wantErr: true},
		{name: "basic", req: withQuery("", "Basic abc"), wantErr: true},
		{name: "two tokens", req: withQuery("", "Bearer a b"), wantErr: true},
		{name: "query ignored without the option", req: withQuery("id_token=" + tok), wantErr: true},
		{name: "id_token with the option", req: withQuery("embedded=1&id_token=" + tok + "&shop=" + mwShop), opts: []sdk.MiddlewareOption{sdk.WithIDTokenQuery()}, want: tok},
		{name: "header wins over id_token", req: withQuery("id_token=other", "Bearer "+tok), opts: []sdk.MiddlewareOption{sdk.WithIDTokenQuery()}, want: tok},
		{name: "repeated id_token", req: withQuery("id_token=" + tok + "&id_token=" + tok), opts: []sdk.MiddlewareOption{sdk.WithIDTokenQuery()}, wantErr: true},
		{name: "empty id_token", req: withQuery("id_token="), opts: []sdk.MiddlewareOption{sdk.WithIDTokenQuery()}, wantErr: true},
		{name: "other options ignored", req: withQuery("", "Bearer "+tok), opts: []sdk.MiddlewareOption{sdk.WithAllowedOrigins("*"), nil}, want: tok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sdk.TokenFromRequest(tt.req, tt.opts...)
			if tt.wantErr {
				if got != "" || !errors.Is(err, sdk.ErrNoToken) {
					t.Fatalf("got %q, %v; want ErrNoToken", got, err)
				}
				if strings.Contains(err.Error(), tok) {
					t.Error("the error holds the token")
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestMiddlewareIDTokenQuery: an embedded admin app's page load carries
// its token in id_token.
func TestMiddlewareIDTokenQuery(t *testing.T) {
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	tok := mwMinter().Admin()
	page := func(q string) *http.Request {
		return httptest.NewRequest(http.MethodGet, "http://backend.test/?embedded=1&"+q, nil)
	}
	resp, s, rej := serve(t, v, page("id_token="+tok), sdk.WithIDTokenQuery())
	if resp.StatusCode != 200 || s == nil || s.Shop != mwShop {
		t.Fatalf("status %d, session %+v, rejection %+v", resp.StatusCode, s, rej)
	}
	resp, s, rej = serve(t, v, page("id_token="+tok))
	if resp.StatusCode != 401 || s != nil || rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) {
		t.Fatalf("without the option: status %d, rejection %+v", resp.StatusCode, rej)
	}
	resp, _, rej = serve(t, v, page("id_token=a&id_token=b"), sdk.WithIDTokenQuery())
	if resp.StatusCode != 400 || rej == nil || !errors.Is(rej.err, sdk.ErrNoToken) {
		t.Fatalf("repeated id_token: status %d, rejection %+v", resp.StatusCode, rej)
	}
	if body, _ := decodeBody(t, resp); !strings.Contains(body.Message, "id_token") {
		t.Errorf("message %q does not name id_token", body.Message)
	}
}

// TestContextWithSession: a handler's own unit test puts a session in the
// request context without minting a token.
func TestContextWithSession(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sdk.SessionFrom(r.Context())
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, s.Shop+" "+s.UserID)
	})
	want := &sdk.Session{Kind: sdk.KindAdmin, Shop: "example.myshopify.com", UserID: "42"}
	r := httptest.NewRequest(http.MethodGet, "/api/session", nil)
	r = r.WithContext(sdk.ContextWithSession(r.Context(), want))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	if rec.Code != 200 || rec.Body.String() != "example.myshopify.com 42" {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body)
	}
	if got, ok := sdk.SessionFrom(sdk.ContextWithSession(context.Background(), want)); !ok || got != want {
		t.Errorf("SessionFrom = %p, %v; want %p", got, ok, want)
	}
	if got, ok := sdk.SessionFrom(sdk.ContextWithSession(context.Background(), nil)); ok || got != nil {
		t.Errorf("nil session: SessionFrom = %v, %v", got, ok)
	}
}
