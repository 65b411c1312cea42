//go:build !race

package sdk_test

import (
	"net/http"
	"testing"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

// The middleware's allocations on a cached token, asserted: the request's
// shallow copy that carries the new context, with that context in the same
// allocation (withSession; the hinted session is the cache entry's), and,
// with CORS, the three response header values. Raising one needs a
// reason.
func TestMiddlewareAllocations(t *testing.T) {
	tok := mwMinter().Admin()
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := sdk.SessionFrom(r.Context()); !ok {
			t.Fatal("no session")
		}
	})
	for _, tc := range []struct {
		name string
		req  *http.Request
		opts []sdk.MiddlewareOption
		want float64
	}{
		{"bearer only", get(map[string][]string{"Authorization": {"Bearer " + tok}}), nil, 1},
		{"POS client, hints", posClientRequest(tok), nil, 1},
		{"POS client, hints and CORS", posClientRequest(tok), []sdk.MiddlewareOption{sdk.WithAllowedOrigins("https://extensions.shopifycdn.com", "https://cdn.shopify.com")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := v.Middleware(next, tc.opts...)
			w := &headerWriter{h: http.Header{}}
			h.ServeHTTP(w, tc.req) // caches the session
			got := testing.AllocsPerRun(1000, func() {
				clear(w.h)
				h.ServeHTTP(w, tc.req)
			})
			if w.status != 0 {
				t.Fatalf("status %d", w.status)
			}
			if got != tc.want {
				t.Errorf("%v allocations per request, want %v", got, tc.want)
			}
		})
	}
}
