package access

import (
	"context"
	"errors"
	"runtime"
	"time"
	"weak"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/possession-dev/possession/otel"
)

// Telemetry lives on the slow path only: a token served from the cache
// records nothing. Spans carry the shop domain, the mode, the grant and
// the outcome; never a token, a secret or Shopify's error description
// (which could one day echo something sent).

const expiringGaugeLimit = 1000

type telemetry struct {
	tracer        trace.Tracer
	grants        metric.Int64Counter
	grantDuration metric.Float64Histogram
	lockWait      metric.Float64Histogram
	storeDuration metric.Float64Histogram
}

var latencyBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

func newTelemetry(m *Manager) (*telemetry, error) {
	tp := m.cfg.tracerProvider
	if tp == nil {
		tp = gotel.GetTracerProvider()
	}
	mp := m.cfg.meterProvider
	if mp == nil {
		mp = gotel.GetMeterProvider()
	}
	t := &telemetry{tracer: tp.Tracer(otel.ScopeName, trace.WithInstrumentationVersion(otel.Version))}
	meter := mp.Meter(otel.ScopeName, metric.WithInstrumentationVersion(otel.Version))
	var err error
	if t.grants, err = meter.Int64Counter(otel.MetricAccessGrants,
		metric.WithUnit("{grant}"),
		metric.WithDescription("Token requests to Shopify (exchange, refresh, migrate), retries included, by grant and outcome.")); err != nil {
		return nil, err
	}
	if t.grantDuration, err = meter.Float64Histogram(otel.MetricAccessGrantDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of token requests to Shopify, retries included."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...)); err != nil {
		return nil, err
	}
	if t.lockWait, err = meter.Float64Histogram(otel.MetricAccessLockWait,
		metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for another holder of a shop's fleet-wide lock."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...)); err != nil {
		return nil, err
	}
	if t.storeDuration, err = meter.Float64Histogram(otel.MetricAccessStoreDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Latency of token store operations."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...)); err != nil {
		return nil, err
	}
	if err := registerExpiring(meter, m); err != nil {
		return nil, err
	}
	return t, nil
}

// registerExpiring observes how many stored tokens expire within the
// refresh margin. The callback holds the Manager weakly and is
// unregistered once it is collected, so a long-lived meter provider does
// not keep Managers alive.
func registerExpiring(meter metric.Meter, m *Manager) error {
	gauge, err := meter.Int64ObservableGauge(otel.MetricAccessTokensExpiring,
		metric.WithUnit("{token}"),
		metric.WithDescription("Stored tokens whose access token expires within the refresh margin (expired ones included), counted up to 1000."))
	if err != nil {
		return err
	}
	wm := weak.Make(m)
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		m := wm.Value()
		if m == nil {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		keys, err := m.store.Expiring(ctx, m.cfg.now().Add(m.cfg.refreshMargin), expiringGaugeLimit)
		if err != nil {
			return err
		}
		o.ObserveInt64(gauge, int64(len(keys)))
		return nil
	}, gauge)
	if err != nil {
		return err
	}
	runtime.AddCleanup(m, func(r metric.Registration) { _ = r.Unregister() }, reg)
	return nil
}

// outcome is the telemetry value of an error: "ok" or its short name.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return errorName(err)
}

// grantSpan starts the span of one grant.
func (t *telemetry) grantSpan(ctx context.Context, g grant, k Key) (context.Context, trace.Span, time.Time) {
	name := otel.SpanAccessExchange
	switch g {
	case grantRefresh:
		name = otel.SpanAccessRefresh
	case grantMigrate:
		name = otel.SpanAccessMigrate
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(
			otel.ShopDomainKey.String(k.Shop),
			otel.AccessModeKey.String(k.Mode.String()),
			otel.AccessGrantKey.String(g.String()),
		)
	}
	return ctx, span, time.Now()
}

// endGrant records a grant's outcome on its span and metrics.
func (t *telemetry) endGrant(ctx context.Context, span trace.Span, start time.Time, g grant, se *ShopifyError, err error) {
	oc := outcome(err)
	attrs := metric.WithAttributes(otel.AccessGrantKey.String(g.String()), otel.OutcomeKey.String(oc))
	t.grants.Add(ctx, 1, attrs)
	t.grantDuration.Record(ctx, time.Since(start).Seconds(), attrs)
	if span.IsRecording() {
		span.SetAttributes(otel.OutcomeKey.String(oc))
		if se != nil {
			if se.Status != 0 {
				span.SetAttributes(otel.HTTPResponseStatusCodeKey.Int(se.Status))
			}
			if se.RequestID != "" {
				span.SetAttributes(otel.ShopifyRequestIDKey.String(se.RequestID))
			}
			span.SetAttributes(otel.AccessAttemptsKey.Int(se.Attempts))
		}
		if err != nil {
			span.SetAttributes(otel.ErrorTypeKey.String(oc))
			span.SetStatus(codes.Error, statusMessage(err))
		}
	}
	span.End()
}

// statusMessage is the span status of a failure: the sentinel's message
// and, for Shopify's answers, the status, code and request ID. Never the
// description, which is Shopify's free text.
func statusMessage(err error) string {
	var se *ShopifyError
	if errors.As(err, &se) {
		c := *se
		c.Description = ""
		return c.Error()
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.err.Error()
		}
	}
	if isCanceled(err) {
		return "canceled"
	}
	return "error"
}

// storeOutcome is the telemetry value of a store error.
func storeOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrLocked):
		return "locked"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrFenced):
		return "fenced"
	}
	return "error"
}

// storeOp runs one store operation inside a span and times it.
func (t *telemetry) storeOp(ctx context.Context, op string, shop string, fn func(context.Context) error) error {
	ctx, span := t.tracer.Start(ctx, otel.SpanAccessStore, trace.WithSpanKind(trace.SpanKindClient))
	start := time.Now()
	err := fn(ctx)
	oc := storeOutcome(err)
	t.storeDuration.Record(ctx, time.Since(start).Seconds(),
		metric.WithAttributes(otel.AccessStoreOperationKey.String(op), otel.OutcomeKey.String(oc)))
	if span.IsRecording() {
		span.SetAttributes(
			otel.AccessStoreOperationKey.String(op),
			otel.ShopDomainKey.String(shop),
			otel.OutcomeKey.String(oc),
		)
		if oc == "error" {
			span.SetStatus(codes.Error, "store "+op+" failed")
		}
	}
	span.End()
	return err
}

// checkSpan starts the span of a check whether Shopify honours a token.
func (t *telemetry) checkSpan(ctx context.Context, k Key) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, otel.SpanAccessCheck, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		span.SetAttributes(otel.ShopDomainKey.String(k.Shop), otel.AccessModeKey.String(k.Mode.String()))
	}
	return ctx, span
}

// endCheck records a token check's answer: "honoured", "refused" or an
// error.
func (t *telemetry) endCheck(span trace.Span, status int, requestID string, honoured bool, err error) {
	if span.IsRecording() {
		oc := "refused"
		switch {
		case err != nil:
			oc = "error"
			span.SetStatus(codes.Error, "token check failed")
		case honoured:
			oc = "honoured"
		}
		span.SetAttributes(otel.OutcomeKey.String(oc))
		if status != 0 {
			span.SetAttributes(otel.HTTPResponseStatusCodeKey.Int(status))
		}
		if requestID != "" {
			span.SetAttributes(otel.ShopifyRequestIDKey.String(requestID))
		}
	}
	span.End()
}

// lockWaitSpan starts the span of a wait for another holder's lock.
func (t *telemetry) lockWaitSpan(ctx context.Context, k Key) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, otel.SpanAccessLockWait)
	if span.IsRecording() {
		span.SetAttributes(otel.ShopDomainKey.String(k.Shop), otel.AccessModeKey.String(k.Mode.String()))
	}
	return ctx, span
}

func (t *telemetry) endLockWait(ctx context.Context, span trace.Span, waited time.Duration, oc string) {
	t.lockWait.Record(ctx, waited.Seconds(), metric.WithAttributes(otel.OutcomeKey.String(oc)))
	if span.IsRecording() {
		span.SetAttributes(otel.OutcomeKey.String(oc))
		if oc == "timeout" || oc == "error" {
			span.SetStatus(codes.Error, "lock wait "+oc)
		}
	}
	span.End()
}
