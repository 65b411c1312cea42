package sdk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"reflect"
	"runtime"
	"sync"
	"time"
	"weak"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
)

// Telemetry costs nothing when nobody collects it. Starting a span with a
// no-op tracer still allocates (the returned context), and reading the
// clock for a duration costs too, so Verify skips both when the configured
// provider is a no-op:
//
//   - a noop.TracerProvider / noop.MeterProvider, decided once in New;
//   - the OTel global default, before any SDK is installed. The globals
//     start as internal delegating providers that forward to the first
//     provider passed to otel.SetTracerProvider / otel.SetMeterProvider.
//     When New finds the delegate (recognised by its package,
//     go.opentelemetry.io/otel/internal/global), it keeps it, and each
//     Verify compares otel.GetTracerProvider() with it (an atomic load and
//     a pointer comparison): once an SDK is installed, the global getter
//     returns that SDK instead, the tracer and instruments created from the
//     delegate forward to it, and telemetry switches on without a new
//     Verifier. A provider installed before New is used directly.

// globalDelegatePkg is where OpenTelemetry keeps its default global
// providers.
const globalDelegatePkg = "go.opentelemetry.io/otel/internal/global"

// isGlobalDelegate reports whether p is OpenTelemetry's default global
// provider, which forwards to an SDK once one is installed and is a no-op
// until then.
func isGlobalDelegate(p any) bool {
	t := reflect.TypeOf(p)
	return t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == globalDelegatePkg
}

func isNoopTracerProvider(p trace.TracerProvider) bool {
	switch p.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		return true
	}
	return false
}

func isNoopMeterProvider(p metric.MeterProvider) bool {
	switch p.(type) {
	case metricnoop.MeterProvider, *metricnoop.MeterProvider:
		return true
	}
	return false
}

// telemetryConfig is the part of config the telemetry options set.
type telemetryConfig struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	userID         userIDMode
	// userIDKey is WithHashedUserID's key, a Secret so that no printing
	// of the configuration shows it.
	userIDKey keysource.Secret
}

// userIDMode is what telemetry records of Session.UserID.
type userIDMode uint8

const (
	userIDPlain  userIDMode = iota // user.id = sub
	userIDHashed                   // user.hash = hex(HMAC-SHA256(key, sub))
	userIDOmit                     // nothing
)

// minUserIDHashKey is the shortest key WithHashedUserID accepts.
const minUserIDHashKey = 16

// WithTracerProvider sets where Verify's spans go (default, or nil: the
// global provider, otel.GetTracerProvider, including one installed after
// New). A no-op provider turns tracing off at no cost.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets where Verify's metrics go (default, or nil: the
// global provider, otel.GetMeterProvider, including one installed after
// New). A no-op provider turns metrics off at no cost.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}

// WithHashedUserID records a keyed hash of the user ID on spans, as the
// semantic convention user.hash: hex(HMAC-SHA256(key, sub)), instead of
// user.id. Use it where user IDs must not reach your tracing backend but
// you still want to correlate one user's requests. Keep key secret and
// stable (a rotation breaks correlation); it must be at least 16 bytes.
// User IDs are small numbers, so an unkeyed hash would be reversed by
// enumeration: the key is what protects them.
func WithHashedUserID(key []byte) Option {
	k := keysource.NewSecretBytes(key)
	return optionFunc(func(c *config) {
		c.userID = userIDHashed
		c.userIDKey = k
	})
}

// WithoutUserIDTelemetry keeps the user ID out of telemetry altogether.
func WithoutUserIDTelemetry() Option {
	return optionFunc(func(c *config) {
		c.userID = userIDOmit
		c.userIDKey = keysource.Secret{}
	})
}

// Indexes of the precomputed metric attribute sets: successes by kind,
// then failures in the order of sentinels, then errors of no sentinel.
const (
	idxOKAdmin = iota
	idxOKCheckout
	idxOKUnknown
	idxFirstError
	idxOther    = idxFirstError + len(sentinels)
	numOutcomes = idxOther + 1
)

// outcomeIndex maps a verification result to its attribute set.
func outcomeIndex(o *outcome) int {
	if o.err == nil {
		switch o.session.Kind {
		case KindAdmin:
			return idxOKAdmin
		case KindCheckout:
			return idxOKCheckout
		}
		return idxOKUnknown
	}
	if i := sentinelIndex(o.err); i >= 0 {
		return idxFirstError + i
	}
	return idxOther
}

func outcomeAttributes(i int) attribute.Set {
	switch {
	case i == idxOKAdmin:
		return attribute.NewSet(otel.OutcomeKey.String("ok"), otel.SessionKindKey.String(KindAdmin.String()))
	case i == idxOKCheckout:
		return attribute.NewSet(otel.OutcomeKey.String("ok"), otel.SessionKindKey.String(KindCheckout.String()))
	case i == idxOKUnknown:
		return attribute.NewSet(otel.OutcomeKey.String("ok"))
	case i < idxOther:
		return attribute.NewSet(otel.OutcomeKey.String(sentinels[i-idxFirstError].name))
	}
	return attribute.NewSet(otel.OutcomeKey.String("other"))
}

// telemetry is a Verifier's tracer and instruments, built once in New.
type telemetry struct {
	tracer     trace.Tracer
	startOpts  []trace.SpanStartOption
	tracingOff bool
	// unsetTP is the global delegate the tracer came from while no SDK
	// was installed; nil otherwise.
	unsetTP trace.TracerProvider

	metricsOff bool
	unsetMP    metric.MeterProvider

	verifications metric.Int64Counter
	duration      metric.Float64Histogram
	lookups       metric.Int64Counter
	addOpts       [numOutcomes][]metric.AddOption
	recordOpts    [numOutcomes][]metric.RecordOption
	hitOpts       []metric.AddOption
	missOpts      []metric.AddOption

	userID userIDMode
	// userHashes pools HMAC-SHA256 states keyed with WithHashedUserID's
	// key (nil unless hashing): a span neither derives the pads nor
	// copies the key.
	userHashes *sync.Pool
	cacheOn    bool
}

// durationBuckets suit a verification: microseconds when served from the
// cache or the key source's memory, up to seconds when a refresh reaches a
// remote secret store.
var durationBuckets = []float64{
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 5e-3, 0.025, 0.1, 0.5, 2.5,
}

func newTelemetry(v *Verifier) (*telemetry, error) {
	cfg := &v.cfg
	if cfg.userID == userIDHashed && cfg.userIDKey.Len() < minUserIDHashKey {
		return nil, fmt.Errorf("sdk: user ID hashing key is %d bytes, want at least %d", cfg.userIDKey.Len(), minUserIDHashKey)
	}
	t := &telemetry{
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)},
		userID:    cfg.userID,
		cacheOn:   cfg.cacheSize > 0,
	}
	if cfg.userID == userIDHashed {
		key := cfg.userIDKey
		t.userHashes = &sync.Pool{New: func() any {
			b := key.Bytes()
			defer clear(b)
			return hmac.New(sha256.New, b)
		}}
	}

	tp := cfg.tracerProvider
	if tp == nil {
		tp = gotel.GetTracerProvider()
	}
	switch {
	case isNoopTracerProvider(tp):
		t.tracingOff = true
	case isGlobalDelegate(tp):
		t.unsetTP = tp
	}
	t.tracer = tp.Tracer(otel.ScopeName, trace.WithInstrumentationVersion(otel.Version))

	mp := cfg.meterProvider
	if mp == nil {
		mp = gotel.GetMeterProvider()
	}
	switch {
	case isNoopMeterProvider(mp):
		t.metricsOff = true
		return t, nil
	case isGlobalDelegate(mp):
		t.unsetMP = mp
	}
	meter := mp.Meter(otel.ScopeName, metric.WithInstrumentationVersion(otel.Version))
	var err error
	if t.verifications, err = meter.Int64Counter(otel.MetricVerifications,
		metric.WithUnit("{verification}"),
		metric.WithDescription("Session token verifications, by outcome and session kind.")); err != nil {
		return nil, err
	}
	if t.duration, err = meter.Float64Histogram(otel.MetricVerificationDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of session token verifications."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if t.lookups, err = meter.Int64Counter(otel.MetricCacheLookups,
		metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups in the verified-session cache, by hit or miss.")); err != nil {
		return nil, err
	}
	for i := range numOutcomes {
		set := outcomeAttributes(i)
		t.addOpts[i] = []metric.AddOption{metric.WithAttributeSet(set)}
		t.recordOpts[i] = []metric.RecordOption{metric.WithAttributeSet(set)}
	}
	t.hitOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(otel.CacheHitKey.Bool(true)))}
	t.missOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(otel.CacheHitKey.Bool(false)))}
	if err := registerKeyAge(meter, v); err != nil {
		return nil, err
	}
	return t, nil
}

// registerKeyAge observes how long ago the verifier's current keys were
// loaded. The callback holds the verifier weakly and is unregistered
// once the verifier is garbage collected, so a meter provider that
// outlives verifiers (the global one) does not keep them alive.
func registerKeyAge(meter metric.Meter, v *Verifier) error {
	gauge, err := meter.Float64ObservableGauge(otel.MetricKeyAge,
		metric.WithUnit("s"),
		metric.WithDescription("Time since the key source loaded the keys in use."))
	if err != nil {
		return err
	}
	wv := weak.Make(v)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		v := wv.Value()
		if v == nil {
			return nil
		}
		ring := v.src.Keyring()
		if ring.Len() == 0 || ring.LoadedAt().IsZero() {
			return nil
		}
		age := v.cfg.now().Sub(ring.LoadedAt()).Seconds()
		o.ObserveFloat64(gauge, age, metric.WithAttributes(otel.KeyIDKey.String(ring.Key(0).ID)))
		return nil
	}, gauge)
	if err != nil {
		return err
	}
	runtime.AddCleanup(v, func(r metric.Registration) { _ = r.Unregister() }, reg)
	return nil
}

// tracing reports whether Verify should start a span.
func (t *telemetry) tracing() bool {
	if t.tracingOff {
		return false
	}
	if t.unsetTP != nil {
		cur := gotel.GetTracerProvider()
		return cur != t.unsetTP && !isNoopTracerProvider(cur)
	}
	return true
}

// metrics reports whether Verify should record metrics.
func (t *telemetry) metrics() bool {
	if t.metricsOff {
		return false
	}
	if t.unsetMP != nil {
		cur := gotel.GetMeterProvider()
		return cur != t.unsetMP && !isNoopMeterProvider(cur)
	}
	return true
}

// observe runs verify inside a span and records its metrics.
func (v *Verifier) observe(ctx context.Context, token string, tracing, metrics bool) outcome {
	t := v.tel
	var start time.Time
	if metrics {
		start = time.Now()
	}
	var span trace.Span
	if tracing {
		ctx, span = t.tracer.Start(ctx, otel.SpanVerify, t.startOpts...)
	}
	o := v.verify(ctx, token)
	if metrics {
		t.record(ctx, &o, time.Since(start))
	}
	if tracing {
		if span.IsRecording() {
			t.annotate(span, &o)
		}
		span.End()
	}
	return o
}

func (t *telemetry) record(ctx context.Context, o *outcome, d time.Duration) {
	i := outcomeIndex(o)
	t.verifications.Add(ctx, 1, t.addOpts[i]...)
	t.duration.Record(ctx, d.Seconds(), t.recordOpts[i]...)
	if !t.cacheOn {
		return
	}
	if o.cacheLooked {
		if o.cacheHit() {
			t.lookups.Add(ctx, 1, t.hitOpts...)
		} else {
			t.lookups.Add(ctx, 1, t.missOpts...)
		}
	}
}

// annotate puts the outcome on a recording span: the session's
// attributes, or the error. Never the token, never a secret.
func (t *telemetry) annotate(span trace.Span, o *outcome) {
	if o.err != nil {
		name := errorName(o.err)
		span.SetAttributes(otel.ErrorTypeKey.String(name))
		// Verify's messages never contain the token or a secret (the
		// leak test holds them to it).
		span.SetStatus(codes.Error, o.err.Error())
		return
	}
	s := o.session
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		otel.ShopDomainKey.String(s.Shop),
		otel.ClientIDKey.String(s.ClientID),
		otel.SessionKindKey.String(s.Kind.String()),
		otel.KeyIDKey.String(s.KeyID),
	)
	if t.cacheOn {
		attrs = append(attrs, otel.CacheHitKey.Bool(o.cacheHit()))
	}
	if s.UserID != "" {
		switch t.userID {
		case userIDPlain:
			attrs = append(attrs, otel.UserIDKey.String(s.UserID))
		case userIDHashed:
			attrs = append(attrs, otel.UserHashKey.String(t.hashUserID(s.UserID)))
		}
	}
	span.SetAttributes(attrs...)
}

// hashUserID is hex(HMAC-SHA256(key, id)).
func (t *telemetry) hashUserID(id string) string {
	m := t.userHashes.Get().(hash.Hash)
	defer t.userHashes.Put(m)
	m.Reset()
	m.Write([]byte(id))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

// setHintAttributes records what the POS client reported about itself on
// the request's current span (an otelhttp server span, say), under keys
// that say "client_reported". The user ID hint follows the verifier's
// user-ID privacy option: it equals the token's sub once the middleware has
// checked it, so hashing or dropping sub must hide it too. Nothing is built
// when the span is not recording.
func (v *Verifier) setHintAttributes(ctx context.Context, h Hints) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if v.cfg.userID != userIDPlain {
		h.UserID = ""
	}
	span.SetAttributes(hintAttributes(h)...)
}

// hintAttributes are the span attributes of the hints; zero hints are left
// out.
func hintAttributes(h Hints) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	if h.ShopID != 0 {
		attrs = append(attrs, otel.ClientReportedShopIDKey.Int64(h.ShopID))
	}
	if h.LocationID != 0 {
		attrs = append(attrs, otel.ClientReportedLocationIDKey.Int64(h.LocationID))
	}
	// User IDs are strings, as user.id is.
	if h.StaffMemberID != "" {
		attrs = append(attrs, otel.ClientReportedStaffMemberIDKey.String(h.StaffMemberID))
	}
	if h.UserID != "" {
		attrs = append(attrs, otel.ClientReportedUserIDKey.String(h.UserID))
	}
	return attrs
}
