package sdk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/possession-dev/possession/internal/tokentest"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

func TestMiddlewareHintsOnSpan(t *testing.T) {
	v := tokentest.MWVerifier(t, keysource.MustStatic(tokentest.MWSecret))
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
			v, err := sdk.New(keysource.MustStatic(tokentest.MWSecret), sdk.WithClientID(tokentest.MWClientID), sdk.WithClock(func() time.Time { return tokentest.MWNow }), opt)
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
	r := tokentest.Get(map[string][]string{
		"Authorization":  {"Bearer " + tokentest.MWMinter().Admin()},
		sdk.HeaderShopID: {"1001"}, sdk.HeaderLocationID: {"77"}, sdk.HeaderStaffMemberID: {"9"}, sdk.HeaderUserID: {tokentest.MWUser},
	}).WithContext(ctx)
	resp, _, rej := tokentest.Serve(t, v, r)
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
