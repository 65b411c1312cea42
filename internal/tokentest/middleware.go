package tokentest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The app of the middleware tests.
const (
	MWSecret   = "middleware-test-secret-0123456789abc"
	MWClientID = "middleware-client"
	MWShop     = "mw-shop.myshopify.com"
	MWUser     = "4242"
)

// MWNow is the fixed "now" of the middleware tests.
var MWNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// MWMinter mints tokens for the middleware tests' app at MWNow.
func MWMinter() sdktest.Minter {
	return sdktest.Minter{Secret: MWSecret, ClientID: MWClientID, Shop: MWShop, UserID: MWUser, Now: func() time.Time { return MWNow }, EscapeSlashes: true}
}

// MWVerifier is a verifier for the middleware tests' app at MWNow.
func MWVerifier(t testing.TB, src keysource.Source) *sdk.Verifier {
	t.Helper()
	v, err := sdk.New(src, sdk.WithClientID(MWClientID), sdk.WithClock(func() time.Time { return MWNow }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Rejection is what WithOnReject saw.
type Rejection struct {
	Status int
	Err    error
}

// Serve runs one request through the middleware and returns the response,
// the session the next handler saw (nil if not called) and the rejection.
func Serve(t testing.TB, v *sdk.Verifier, r *http.Request, opts ...sdk.MiddlewareOption) (*http.Response, *sdk.Session, *Rejection) {
	t.Helper()
	var got *sdk.Session
	var rej *Rejection
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := sdk.SessionFrom(r.Context())
		if !ok {
			t.Error("next called without a session")
		}
		got = s
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "next")
	})
	opts = append(opts, sdk.WithOnReject(func(_ *http.Request, status int, err error) {
		rej = &Rejection{status, err}
	}))
	rec := httptest.NewRecorder()
	v.Middleware(next, opts...).ServeHTTP(rec, r)
	return rec.Result(), got, rej
}

// Get is a GET of the backend's session route with headers.
func Get(headers map[string][]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://backend.test/api/session", nil)
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}
