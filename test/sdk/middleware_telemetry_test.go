package sdk_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Fixtures as in the core module's sdk/middleware_test.go.
const (
	mwSecret   = "middleware-test-secret-0123456789abc"
	mwClientID = "middleware-client"
	mwShop     = "mw-shop.myshopify.com"
	mwUser     = "4242"
)

var mwNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mwMinter() sdktest.Minter {
	return sdktest.Minter{Secret: mwSecret, ClientID: mwClientID, Shop: mwShop, UserID: mwUser, Now: func() time.Time { return mwNow }, EscapeSlashes: true}
}

func mwVerifier(t testing.TB, src keysource.Source) *sdk.Verifier {
	t.Helper()
	v, err := sdk.New(src, sdk.WithClientID(mwClientID), sdk.WithClock(func() time.Time { return mwNow }))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rejection is what WithOnReject saw.
type rejection struct {
	status int
	err    error
}

// serve runs one request through the middleware and returns the response,
// the session the next handler saw (nil if not called) and the rejection.
func serve(t testing.TB, v *sdk.Verifier, r *http.Request, opts ...sdk.MiddlewareOption) (*http.Response, *sdk.Session, *rejection) {
	t.Helper()
	var got *sdk.Session
	var rej *rejection
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
		rej = &rejection{status, err}
	}))
	rec := httptest.NewRecorder()
	v.Middleware(next, opts...).ServeHTTP(rec, r)
	return rec.Result(), got, rej
}

func get(headers map[string][]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://backend.test/api/session", nil)
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

func TestMiddlewareHintsOnSpan(t *testing.T) {
	v := mwVerifier(t, keysource.MustStatic(mwSecret))
	got := hintSpanAttributes(t, v)
	// Shop and location IDs are integers; user IDs are strings, as user.id.
	want := map[attribute.Key]attribute.Value{
		"shopify.pos.client_reported.shop_id":         attribute.Int64Value(1001),
		"shopify.pos.client_reported.user_id":         attribute.StringValue("4242"),
		"shopify.pos.client_reported.location_id":     attribute.Int64Value(77),
		"shopify.pos.client_reported.staff_member_id": attribute.StringValue("9"),
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v (%s), want %v (%s) (all: %v)", k, got[k].String(), got[k].Type(), w.String(), w.Type(), got)
		}
	}
}

// TestMiddlewareHintsFollowUserIDPrivacy: the user ID hint equals the
// token's sub, so when telemetry must not show sub, it must not show the
// hint either.
func TestMiddlewareHintsFollowUserIDPrivacy(t *testing.T) {
	for name, opt := range map[string]sdk.Option{
		"dropped": sdk.WithoutUserIDTelemetry(),
		"hashed":  sdk.WithHashedUserID([]byte("0123456789abcdef0123")),
	} {
		t.Run(name, func(t *testing.T) {
			v, err := sdk.New(keysource.MustStatic(mwSecret), sdk.WithClientID(mwClientID), sdk.WithClock(func() time.Time { return mwNow }), opt)
			if err != nil {
				t.Fatal(err)
			}
			got := hintSpanAttributes(t, v)
			if _, ok := got["shopify.pos.client_reported.user_id"]; ok {
				t.Errorf("user ID hint recorded despite the privacy option: %v", got)
			}
			if got["shopify.pos.client_reported.location_id"] != attribute.Int64Value(77) {
				t.Errorf("other hints missing: %v", got)
			}
		})
	}
}

// hintSpanAttributes serves a request with every hint under a recording
// server span and returns the span's client-reported attributes.
func hintSpanAttributes(t *testing.T, v *sdk.Verifier) map[attribute.Key]attribute.Value {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ctx, span := tp.Tracer("test").Start(context.Background(), "server")
	r := get(map[string][]string{
		"Authorization":  {"Bearer " + mwMinter().Admin()},
		sdk.HeaderShopID: {"1001"}, sdk.HeaderLocationID: {"77"}, sdk.HeaderStaffMemberID: {"9"}, sdk.HeaderUserID: {mwUser},
	}).WithContext(ctx)
	resp, _, rej := serve(t, v, r)
	span.End()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %+v", resp.StatusCode, rej)
	}
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range ended[0].Attributes() {
		if strings.Contains(string(kv.Key), ".client_reported.") {
			got[kv.Key] = kv.Value
		}
	}
	return got
}
