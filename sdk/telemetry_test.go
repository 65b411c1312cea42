package sdk

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The telemetry tests that need the OpenTelemetry SDK (spans, metrics,
// the leak scan, the key-age gauge) are in the test module, test/sdk.
// These need the verifier's internals and only the OpenTelemetry API.

// telemetryNow is the fixed clock of the telemetry tests.
var telemetryNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	telSecret   = "telemetry-secret-0123456789abcdef"
	telClientID = "telemetry-client"
)

func telMinter() sdktest.Minter {
	return sdktest.Minter{Secret: telSecret, ClientID: telClientID, Shop: "tele.myshopify.com", UserID: "4242",
		Now: func() time.Time { return telemetryNow }}
}

func newTelVerifier(t testing.TB, src keysource.Source, opts ...Option) *Verifier {
	t.Helper()
	if src == nil {
		src = keysource.MustStatic(telSecret)
	}
	opts = append([]Option{WithClientID(telClientID), WithClock(func() time.Time { return telemetryNow })}, opts...)
	v, err := New(src, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestWithHashedUserIDRejectsShortKey(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("short")} {
		if _, err := New(keysource.MustStatic(telSecret), WithClientID(telClientID), WithHashedUserID(key)); err == nil {
			t.Errorf("New accepted a %d-byte user ID hashing key", len(key))
		}
	}
}

func TestHintAttributes(t *testing.T) {
	got := attrMap(hintAttributes(Hints{ShopID: 1, LocationID: 2, StaffMemberID: "3", UserID: "4"}))
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
	m := telMinter()
	tokens := map[string]string{
		"valid":     m.Admin(),
		"expired":   m.Admin(sdktest.At(telemetryNow.Add(-time.Hour))),
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
	if os.Getenv("POSSESSION_TEST_GLOBAL_OTEL") == "1" {
		globalInstalledAfterNew(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTelemetryGlobalInstalledAfterNew$", "-test.v")
	cmd.Env = append(os.Environ(), "POSSESSION_TEST_GLOBAL_OTEL=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func globalInstalledAfterNew(t *testing.T) {
	v := newTelVerifier(t, nil)
	tok := telMinter().Admin()
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
