package sdk_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// telemetryNow is the fixed clock of the telemetry tests.
var telemetryNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	telSecret   = "telemetry-secret-0123456789abcdef"
	telClientID = "telemetry-client"
)

// recording is a pair of SDK providers that keep what they get.
type recording struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newRecording(t testing.TB) *recording {
	t.Helper()
	r := &recording{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = r.tp.Shutdown(context.Background())
		_ = r.mp.Shutdown(context.Background())
	})
	return r
}

func (r *recording) options() []sdk.Option {
	return []sdk.Option{sdk.WithTracerProvider(r.tp), sdk.WithMeterProvider(r.mp)}
}

func (r *recording) metrics(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	return rm
}

func telMinter() sdktest.Minter {
	return sdktest.Minter{Secret: telSecret, ClientID: telClientID, Shop: "tele.myshopify.com", UserID: "4242",
		Now: func() time.Time { return telemetryNow }}
}

func newTelVerifier(t testing.TB, src keysource.Source, opts ...sdk.Option) *sdk.Verifier {
	t.Helper()
	if src == nil {
		src = keysource.MustStatic(telSecret)
	}
	opts = append([]sdk.Option{sdk.WithClientID(telClientID), sdk.WithClock(func() time.Time { return telemetryNow })}, opts...)
	v, err := sdk.New(src, opts...)
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

// sumByAttrs returns an Int64 sum's data points keyed by their attribute
// set's encoding.
func findMetric(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

func counterValue(t testing.TB, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T, want Sum[int64]", name, m.Data)
	}
	set := attribute.NewSet(want...)
	for _, dp := range sum.DataPoints {
		if dp.Attributes.Equals(&set) {
			return dp.Value
		}
	}
	return 0
}

func histogramCount(t testing.TB, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) uint64 {
	t.Helper()
	m, ok := findMetric(rm, name)
	if !ok {
		return 0
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T, want Histogram[float64]", name, m.Data)
	}
	set := attribute.NewSet(want...)
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&set) {
			if dp.Sum < 0 {
				t.Errorf("%s: negative duration sum %v", name, dp.Sum)
			}
			return dp.Count
		}
	}
	return 0
}

// TestTelemetryOutcomes verifies one token per outcome and checks the
// span and the metrics each leaves.
func TestTelemetryOutcomes(t *testing.T) {
	m := telMinter()
	past := telemetryNow.Add(-time.Hour)
	hs512, err := sdktest.SignRaw(telSecret, []byte(`{"alg":"HS512","typ":"JWT"}`), []byte(`{"exp":1}`))
	if err != nil {
		t.Fatal(err)
	}
	forger := m
	forger.Secret = "not-the-secret-at-all-0123456789"
	otherApp := m
	otherApp.ClientID = "someone-elses-app"
	badShop := m
	badShop.Shop = "tele.example.com"

	tests := []struct {
		name    string
		src     keysource.Source
		token   string
		wantErr error
		outcome string
		kind    string // on success
		opts    []sdk.Option
	}{
		{name: "admin", token: m.Admin(), outcome: "ok", kind: "admin"},
		{name: "checkout", token: m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/7")), outcome: "ok", kind: "checkout",
			opts: []sdk.Option{sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout)}},
		{name: "malformed", token: "not-a-token", wantErr: sdk.ErrMalformed, outcome: "malformed"},
		{name: "algorithm", token: hs512, wantErr: sdk.ErrAlgorithm, outcome: "algorithm"},
		{name: "signature", token: forger.Admin(), wantErr: sdk.ErrSignature, outcome: "signature"},
		{name: "expired", token: m.Admin(sdktest.At(past)), wantErr: sdk.ErrExpired, outcome: "expired"},
		{name: "not yet valid", token: m.Admin(sdktest.Set("nbf", telemetryNow.Add(time.Hour).Unix())), wantErr: sdk.ErrNotYetValid, outcome: "not_yet_valid"},
		{name: "audience", token: otherApp.Admin(), wantErr: sdk.ErrAudience, outcome: "audience"},
		{name: "issuer", token: badShop.Admin(), wantErr: sdk.ErrIssuer, outcome: "issuer"},
		{name: "no keys", src: emptySource{}, token: m.Admin(), wantErr: sdk.ErrNoKeys, outcome: "no_keys"},
		{name: "kind", token: m.Checkout(), wantErr: sdk.ErrKind, outcome: "kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecording(t)
			v := newTelVerifier(t, tc.src, append(rec.options(), tc.opts...)...)

			ctx, parent := rec.tp.Tracer("test").Start(context.Background(), "caller")
			s, err := v.Verify(ctx, tc.token)
			parent.End()
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify error = %v, want %v", err, tc.wantErr)
			}

			spans := rec.spans.Ended()
			if len(spans) != 2 {
				t.Fatalf("%d spans ended, want 2 (caller and verify)", len(spans))
			}
			vs := spans[0]
			if vs.Name() != otel.SpanVerify {
				t.Fatalf("first span %q, want %q", vs.Name(), otel.SpanVerify)
			}
			if vs.Parent().SpanID() != parent.SpanContext().SpanID() || vs.SpanContext().TraceID() != parent.SpanContext().TraceID() {
				t.Errorf("verify span is not a child of the caller's span")
			}
			if vs.SpanKind() != trace.SpanKindInternal {
				t.Errorf("span kind %v, want internal", vs.SpanKind())
			}
			if got := vs.InstrumentationScope(); got.Name != otel.ScopeName || got.Version != otel.Version {
				t.Errorf("scope %+v, want %s %s", got, otel.ScopeName, otel.Version)
			}
			attrs := attrMap(vs.Attributes())
			if tc.wantErr != nil {
				if vs.Status().Code != codes.Error {
					t.Errorf("status %v, want Error", vs.Status())
				}
				if got := attrs[otel.ErrorTypeKey].AsString(); got != tc.outcome || got != sdk.ErrorName(err) {
					t.Errorf("error.type %q, want %q", got, tc.outcome)
				}
				if _, ok := attrs[otel.ShopDomainKey]; ok {
					t.Errorf("failed verification carries a shop domain")
				}
			} else {
				if vs.Status().Code == codes.Error {
					t.Errorf("status Error on success")
				}
				if _, ok := attrs[otel.ErrorTypeKey]; ok {
					t.Errorf("success carries error.type")
				}
				want := map[attribute.Key]string{
					otel.ShopDomainKey:  "tele.myshopify.com",
					otel.ClientIDKey:    telClientID,
					otel.SessionKindKey: tc.kind,
					otel.KeyIDKey:       "static:current",
					otel.UserIDKey:      s.UserID,
				}
				for k, w := range want {
					if got := attrs[k].AsString(); got != w {
						t.Errorf("%s = %q, want %q", k, got, w)
					}
				}
				if hit, ok := attrs[otel.CacheHitKey]; !ok || hit.AsBool() {
					t.Errorf("cache hit attribute %v (present %v), want false", hit.AsBool(), ok)
				}
			}

			rm := rec.metrics(t)
			want := []attribute.KeyValue{otel.OutcomeKey.String(tc.outcome)}
			if tc.kind != "" {
				want = append(want, otel.SessionKindKey.String(tc.kind))
			}
			if got := counterValue(t, rm, otel.MetricVerifications, want...); got != 1 {
				t.Errorf("%s%v = %d, want 1", otel.MetricVerifications, want, got)
			}
			if got := histogramCount(t, rm, otel.MetricVerificationDuration, want...); got != 1 {
				t.Errorf("%s%v count = %d, want 1", otel.MetricVerificationDuration, want, got)
			}
			// The cache is consulted for every token of acceptable length
			// while the source has keys, before the shape is scanned.
			wantMiss := int64(1)
			if tc.outcome == "no_keys" {
				wantMiss = 0
			}
			if got := counterValue(t, rm, otel.MetricCacheLookups, otel.CacheHitKey.Bool(false)); got != wantMiss {
				t.Errorf("cache misses = %d, want %d", got, wantMiss)
			}
		})
	}
}

func TestTelemetryCacheHit(t *testing.T) {
	rec := newRecording(t)
	v := newTelVerifier(t, nil, rec.options()...)
	tok := telMinter().Admin()
	for range 3 {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	spans := rec.spans.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	for i, s := range spans {
		hit := attrMap(s.Attributes())[otel.CacheHitKey].AsBool()
		if want := i > 0; hit != want {
			t.Errorf("span %d: cache hit %v, want %v", i, hit, want)
		}
	}
	rm := rec.metrics(t)
	if got := counterValue(t, rm, otel.MetricCacheLookups, otel.CacheHitKey.Bool(true)); got != 2 {
		t.Errorf("cache hits = %d, want 2", got)
	}
	if got := counterValue(t, rm, otel.MetricCacheLookups, otel.CacheHitKey.Bool(false)); got != 1 {
		t.Errorf("cache misses = %d, want 1", got)
	}
	ok := []attribute.KeyValue{otel.OutcomeKey.String("ok"), otel.SessionKindKey.String("admin")}
	if got := counterValue(t, rm, otel.MetricVerifications, ok...); got != 3 {
		t.Errorf("verifications ok = %d, want 3", got)
	}
}

func TestTelemetryCacheDisabledCountsNoLookups(t *testing.T) {
	rec := newRecording(t)
	v := newTelVerifier(t, nil, append(rec.options(), sdk.WithCacheSize(0))...)
	if _, err := v.Verify(context.Background(), telMinter().Admin()); err != nil {
		t.Fatal(err)
	}
	rm := rec.metrics(t)
	if _, ok := findMetric(rm, otel.MetricCacheLookups); ok {
		t.Errorf("cache lookups recorded with the cache disabled")
	}
	if _, ok := attrMap(rec.spans.Ended()[0].Attributes())[otel.CacheHitKey]; ok {
		t.Errorf("cache hit attribute with the cache disabled")
	}
}

func TestTelemetryUserIDPrivacy(t *testing.T) {
	key := []byte("0123456789abcdef-user-hash-key")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("4242"))
	wantHash := hex.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name     string
		opt      sdk.Option
		wantID   string
		wantHash string
	}{
		{name: "default records user.id", opt: sdk.WithCacheSize(1), wantID: "4242"},
		{name: "hashed", opt: sdk.WithHashedUserID(key), wantHash: wantHash},
		{name: "omitted", opt: sdk.WithoutUserIDTelemetry()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecording(t)
			v := newTelVerifier(t, nil, append(rec.options(), tc.opt)...)
			if _, err := v.Verify(context.Background(), telMinter().Admin()); err != nil {
				t.Fatal(err)
			}
			attrs := attrMap(rec.spans.Ended()[0].Attributes())
			id, hasID := attrs[otel.UserIDKey]
			hash, hasHash := attrs[otel.UserHashKey]
			if hasID != (tc.wantID != "") || id.AsString() != tc.wantID {
				t.Errorf("user.id = %q (present %v), want %q", id.AsString(), hasID, tc.wantID)
			}
			if hasHash != (tc.wantHash != "") || hash.AsString() != tc.wantHash {
				t.Errorf("user.hash = %q (present %v), want %q", hash.AsString(), hasHash, tc.wantHash)
			}
		})
	}
}

func TestTelemetryKeyAge(t *testing.T) {
	loaded := telemetryNow.Add(-90 * time.Second)
	ring, err := keysource.NewKeyring(loaded, keysource.Key{ID: "k1", Secret: keysource.NewSecret(telSecret)})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecording(t)
	v := newTelVerifier(t, ringSource{ring}, rec.options()...)
	m, ok := findMetric(rec.metrics(t), otel.MetricKeyAge)
	if !ok {
		t.Fatalf("no %s metric", otel.MetricKeyAge)
	}
	g := m.Data.(metricdata.Gauge[float64])
	if len(g.DataPoints) != 1 {
		t.Fatalf("%d key age points, want 1", len(g.DataPoints))
	}
	dp := g.DataPoints[0]
	if dp.Value != 90 {
		t.Errorf("key age %v s, want 90", dp.Value)
	}
	if id, _ := dp.Attributes.Value(otel.KeyIDKey); id.AsString() != "k1" {
		t.Errorf("key age key ID %q, want k1", id.AsString())
	}
	if m.Unit != "s" {
		t.Errorf("key age unit %q, want s", m.Unit)
	}
	_ = v
}

type ringSource struct{ ring *keysource.Keyring }

func (s ringSource) Keyring() *keysource.Keyring { return s.ring }

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

// globalInstalledAfterNew checks, with the real SDK, what a user sees.
// That telemetry is off (and allocation-free) before any provider is
// installed, and how the verifier switches, is asserted on its internals
// by the core module's TestTelemetryGlobalInstalledAfterNew and
// TestTelemetryOffAllocs.
func globalInstalledAfterNew(t *testing.T) {
	v := newTelVerifier(t, nil)
	tok := telMinter().Admin()
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}

	rec := newRecording(t)
	gotel.SetTracerProvider(rec.tp)
	gotel.SetMeterProvider(rec.mp)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.spans.Ended()); n != 1 {
		t.Errorf("%d spans after installing the global provider, want 1", n)
	}
	rm := rec.metrics(t)
	ok := []attribute.KeyValue{otel.OutcomeKey.String("ok"), otel.SessionKindKey.String("admin")}
	if got := counterValue(t, rm, otel.MetricVerifications, ok...); got != 1 {
		t.Errorf("verifications after installing the global provider = %d, want 1", got)
	}
	if _, ok := findMetric(rm, otel.MetricKeyAge); !ok {
		t.Errorf("key age gauge registered before the global provider was installed is not reported")
	}

	// A verifier created now traces and counts too.
	v2 := newTelVerifier(t, nil)
	if _, err := v2.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.spans.Ended()); n != 2 {
		t.Errorf("verifier created after installation: %d spans in all, want 2", n)
	}
	if got := counterValue(t, rec.metrics(t), otel.MetricVerifications, ok...); got != 2 {
		t.Errorf("verifier created after installation: verifications = %d, want 2", got)
	}
}

// TestKeyAgeCallbackDoesNotKeepVerifierAlive: a meter provider outlives
// the verifiers registered with it (the global one lives forever), so
// the key-age callback must not keep a verifier reachable.
func TestKeyAgeCallbackDoesNotKeepVerifierAlive(t *testing.T) {
	rec := newRecording(t)
	collected := make(chan struct{})
	func() {
		v := newTelVerifier(t, nil, rec.options()...)
		runtime.AddCleanup(v, func(c chan struct{}) { close(c) }, collected)
		if _, ok := findMetric(rec.metrics(t), otel.MetricKeyAge); !ok {
			t.Fatal("no key age while the verifier lives")
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-collected:
			done = true
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("verifier still reachable 10 s after its last use: the meter provider keeps it alive")
			}
		}
	}
	if m, ok := findMetric(rec.metrics(t), otel.MetricKeyAge); ok && len(m.Data.(metricdata.Gauge[float64]).DataPoints) > 0 {
		t.Errorf("key age still reported for a collected verifier: %+v", m.Data)
	}
}
