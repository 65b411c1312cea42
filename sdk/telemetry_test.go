package sdk

import (
	"context"
	"testing"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/internal/teltest"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The telemetry tests that need the OpenTelemetry SDK (spans, metrics,
// the leak scan, the key-age gauge) are in the test module, test/sdk.
// These need the verifier's internals and only the OpenTelemetry API.

func newTelVerifier(t testing.TB, src keysource.Source, opts ...Option) *Verifier {
	t.Helper()
	if src == nil {
		src = keysource.MustStatic(teltest.Secret)
	}
	opts = append([]Option{WithClientID(teltest.ClientID), WithClock(teltest.Clock)}, opts...)
	v, err := New(src, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestWithHashedUserIDRejectsShortKey(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("short")} {
		if _, err := New(keysource.MustStatic(teltest.Secret), WithClientID(teltest.ClientID), WithHashedUserID(key)); err == nil {
			t.Errorf("New accepted a %d-byte user ID hashing key", len(key))
		}
	}
}

func TestHintAttributes(t *testing.T) {
	got := teltest.AttrMap(hintAttributes(Hints{ShopID: 1, LocationID: 2, StaffMemberID: "3", UserID: "4"}))
	want := map[attribute.Key]attribute.Value{
		otel.ClientReportedShopIDKey:        attribute.Int64Value(1),
		otel.ClientReportedLocationIDKey:    attribute.Int64Value(2),
		otel.ClientReportedStaffMemberIDKey: attribute.StringValue("3"),
		otel.ClientReportedUserIDKey:        attribute.StringValue("4"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d attributes %v, want %d", len(got), got, len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v (%s), want %v (%s)", k, got[k].AsInterface(), got[k].Type(), w.AsInterface(), w.Type())
		}
	}
	if a := hintAttributes(Hints{}); len(a) != 0 {
		t.Errorf("zero hints gave %v", a)
	}
}

// TestTelemetryOffAllocs holds Verify, with no OpenTelemetry SDK installed
// or with no-op providers, to the allocations of verification alone.
// It relies on no test of this package installing a global provider (the
// one that does runs in a child process).
func TestTelemetryOffAllocs(t *testing.T) {
	if telemetryRace {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	if gotel.GetTracerProvider() == nil || !isGlobalDelegate(gotel.GetTracerProvider()) || !isGlobalDelegate(gotel.GetMeterProvider()) {
		t.Fatal("a global provider is installed; this test needs the defaults")
	}
	m := teltest.Minter()
	tokens := map[string]string{
		"valid":     m.Admin(),
		"expired":   m.Admin(sdktest.At(teltest.Now.Add(-time.Hour))),
		"malformed": "a.b",
	}
	configs := map[string][]Option{
		"global defaults": nil,
		"noop providers":  {WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider())},
	}
	for cname, opts := range configs {
		for _, cache := range []int{0, 100} {
			v := newTelVerifier(t, nil, append(opts, WithCacheSize(cache))...)
			if v.tel.tracing() || v.tel.metrics() {
				t.Fatalf("%s: telemetry on without a provider", cname)
			}
			for tname, tok := range tokens {
				ctx := context.Background()
				untraced := testing.AllocsPerRun(200, func() { _ = v.verify(ctx, tok) })
				traced := testing.AllocsPerRun(200, func() { _, _ = v.Verify(ctx, tok) })
				t.Logf("%s, cache %d, %s token: verify %.0f allocs, Verify %.0f allocs", cname, cache, tname, untraced, traced)
				if traced != untraced {
					t.Errorf("%s, cache %d, %s token: Verify allocates %v times, verification alone %v", cname, cache, tname, traced, untraced)
				}
			}
		}
	}
}

// sdkTracerProvider and sdkMeterProvider stand in for an installed
// OpenTelemetry SDK: providers that are neither no-ops nor the global
// delegate. (The test module runs the same scenario with the real SDK.)
type sdkTracerProvider struct{ tracenoop.TracerProvider }

type sdkMeterProvider struct{ metricnoop.MeterProvider }

// TestTelemetryGlobalInstalledAfterNew runs in a child process, since
// installing a global provider cannot be undone.
func TestTelemetryGlobalInstalledAfterNew(t *testing.T) {
	teltest.InChild(t, globalInstalledAfterNew)
}

func globalInstalledAfterNew(t *testing.T) {
	v := newTelVerifier(t, nil)
	tok := teltest.Minter().Admin()
	if v.tel.tracing() || v.tel.metrics() {
		t.Fatal("telemetry on before any provider is installed")
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	gotel.SetTracerProvider(&sdkTracerProvider{})
	gotel.SetMeterProvider(&sdkMeterProvider{})
	if !v.tel.tracing() || !v.tel.metrics() {
		t.Fatal("telemetry still off after installing global providers")
	}
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	// A verifier created now uses the installed provider directly.
	v2 := newTelVerifier(t, nil)
	if v2.tel.unsetTP != nil || !v2.tel.tracing() {
		t.Error("verifier created after installation does not trace")
	}
	if v2.tel.unsetMP != nil || !v2.tel.metrics() {
		t.Error("verifier created after installation does not record metrics")
	}
}
