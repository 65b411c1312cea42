package main

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Every /api/ request goes through the session middleware, routed or not:
// a route runs with a valid token only, and what no route matches is a
// preflight (answered without a token), or a 404 or 405 that needs a
// valid token like any API request. /healthz needs none, and /webhooks
// exists only with a Shopify backend.
func TestRouting(t *testing.T) {
	src := keysource.MustStatic(testSecret)
	v, err := sdk.New(src, sdk.WithClientID(testClientID))
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(v, src, defaultOrigins, slog.New(slog.DiscardHandler), nil, false) // nil: no Shopify backend, /api/session only
	tok := sdktest.Minter{Secret: testSecret, ClientID: testClientID, Shop: "shop-1.myshopify.com", UserID: "42"}.Admin()
	tests := []struct {
		name, method, path string
		token, preflight   bool
		want               int
		wantAllow          string
	}{
		{name: "route with token", method: "GET", path: "/api/session", token: true, want: 200},
		{name: "HEAD of a GET route", method: "HEAD", path: "/api/session", token: true, want: 200},
		{name: "route without token", method: "GET", path: "/api/session", want: 401},
		{name: "other method with token", method: "POST", path: "/api/session", token: true, want: 405, wantAllow: "GET, HEAD"},
		{name: "other method without token", method: "POST", path: "/api/session", want: 401},
		{name: "unknown path with token", method: "GET", path: "/api/nope", token: true, want: 404},
		{name: "unknown path without token", method: "GET", path: "/api/nope", want: 401},
		{name: "preflight of a route", method: "OPTIONS", path: "/api/session", preflight: true, want: 204},
		{name: "preflight of a POST route", method: "OPTIONS", path: "/api/transactions", preflight: true, want: 204},
		{name: "healthz", method: "GET", path: "/healthz", want: 200},
		{name: "outside /api/", method: "GET", path: "/nope", want: 404},
		{name: "webhooks without a Shopify backend", method: "POST", path: "/webhooks", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			if tt.preflight {
				r.Header.Set("Origin", "https://extensions.shopifycdn.com")
				r.Header.Set("Access-Control-Request-Method", "POST")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tt.want, w.Body)
			}
			if tt.wantAllow != "" && w.Header().Get("Allow") != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", w.Header().Get("Allow"), tt.wantAllow)
			}
			if tt.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate: not the middleware's")
			}
		})
	}
}
