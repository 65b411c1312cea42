package admin

import (
	"context"
	"errors"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	potel "github.com/possession-dev/possession/otel"
)

// telemetry is a Client's tracer and instruments.
type telemetry struct {
	tracer    trace.Tracer
	version   string
	calls     metric.Int64Counter
	duration  metric.Float64Histogram
	cost      metric.Float64Counter
	wait      metric.Float64Histogram
	retries   metric.Int64Counter
	throttled metric.Int64Counter
	now       func() time.Time

	waitSets  map[string]metric.MeasurementOption
	retrySets map[string]metric.MeasurementOption
	opSets    map[string]metric.MeasurementOption
}

// Error names (error.type and possession.outcome values), one per
// sentinel.
var errorNames = []struct {
	err  error
	name string
}{
	{ErrConfig, "config"},
	{ErrInvalidShop, "invalid_shop"},
	{ErrInvalidRequest, "invalid_request"},
	{ErrThrottled, "throttled"},
	{ErrUnavailable, "unavailable"},
	{ErrUnauthorized, "unauthorized"},
	{ErrToken, "token"},
	{ErrGraphQL, "graphql"},
	{ErrUserErrors, "user_errors"},
	{ErrResponse, "response"},
}

// ErrorName returns the short name of the sentinel err wraps ("throttled",
// "unauthorized", "user_errors", ...; "canceled" for a canceled context),
// as telemetry records it; "" for nil.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	for _, e := range errorNames {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return "other"
}

var opTypes = []string{"query", "mutation", "subscription", "unknown"}

func opTypeOf(t string) string {
	if t == "" {
		return "unknown"
	}
	return t
}

func newTelemetry(cfg config) (*telemetry, error) {
	tp, mp := cfg.tracer, cfg.meter
	if tp == nil {
		tp = gotel.GetTracerProvider()
	}
	if mp == nil {
		mp = gotel.GetMeterProvider()
	}
	t := &telemetry{
		tracer:  tp.Tracer(potel.ScopeName, trace.WithInstrumentationVersion(potel.Version)),
		version: cfg.version,
		now:     cfg.clock.Now,
	}
	m := mp.Meter(potel.ScopeName, metric.WithInstrumentationVersion(potel.Version))
	var err error
	if t.calls, err = m.Int64Counter(potel.MetricAdminCalls, metric.WithUnit("{call}"),
		metric.WithDescription("Admin API calls by outcome and operation type")); err != nil {
		return nil, err
	}
	if t.duration, err = m.Float64Histogram(potel.MetricAdminCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of Admin API calls, waits and retries included")); err != nil {
		return nil, err
	}
	if t.cost, err = m.Float64Counter(potel.MetricAdminCost, metric.WithUnit("{point}"),
		metric.WithDescription("Cost points Shopify charged (actual query cost)")); err != nil {
		return nil, err
	}
	if t.wait, err = m.Float64Histogram(potel.MetricAdminWait, metric.WithUnit("s"),
		metric.WithDescription("Waits before sending an Admin API request, by reason")); err != nil {
		return nil, err
	}
	if t.retries, err = m.Int64Counter(potel.MetricAdminRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Admin API request retries by reason")); err != nil {
		return nil, err
	}
	if t.throttled, err = m.Int64Counter(potel.MetricAdminThrottled, metric.WithUnit("{response}"),
		metric.WithDescription("THROTTLED answers from the Admin API")); err != nil {
		return nil, err
	}
	t.waitSets, t.retrySets, t.opSets = map[string]metric.MeasurementOption{}, map[string]metric.MeasurementOption{}, map[string]metric.MeasurementOption{}
	for _, r := range []string{potel.AdminWaitPacing, retryThrottled, retryRateLimited, retryUnavailable, retryUnauthorized} {
		t.waitSets[r] = metric.WithAttributeSet(attribute.NewSet(potel.AdminWaitReasonKey.String(r)))
		t.retrySets[r] = metric.WithAttributeSet(attribute.NewSet(potel.AdminRetryReasonKey.String(r)))
	}
	for _, op := range opTypes {
		t.opSets[op] = metric.WithAttributeSet(attribute.NewSet(potel.GraphQLOperationTypeKey.String(op)))
	}
	return t, nil
}

type callStart struct{}

func (t *telemetry) start(ctx context.Context, cl *call) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, potel.SpanAdminDo, trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		attrs := []attribute.KeyValue{
			potel.ShopDomainKey.String(cl.shop),
			potel.GraphQLOperationTypeKey.String(opTypeOf(cl.opType)),
			potel.AdminAPIVersionKey.String(t.version),
		}
		if cl.opName != "" {
			attrs = append(attrs, potel.GraphQLOperationNameKey.String(cl.opName))
		}
		span.SetAttributes(attrs...)
	}
	return context.WithValue(ctx, callStart{}, t.now()), span
}

func (t *telemetry) end(ctx context.Context, span trace.Span, cl *call, err error) {
	if span.IsRecording() {
		attrs := []attribute.KeyValue{
			potel.AdminCostEstimateKey.Float64(cl.estimate),
			potel.AdminAttemptsKey.Int(cl.attempts),
			potel.AdminRetriesKey.Int(cl.retries),
			potel.AdminThrottledKey.Int(cl.throttled),
			potel.AdminPacingWaitKey.Float64(cl.pacingWait.Seconds()),
			potel.AdminRetryWaitKey.Float64(cl.retryWait.Seconds()),
		}
		if cl.requested >= 0 {
			attrs = append(attrs, potel.AdminCostRequestedKey.Float64(cl.requested))
		}
		if cl.actual >= 0 {
			attrs = append(attrs, potel.AdminCostActualKey.Float64(cl.actual))
		}
		if s := cl.status; s != nil {
			attrs = append(attrs,
				potel.AdminBudgetAvailableKey.Float64(s.CurrentlyAvailable),
				potel.AdminBudgetMaximumKey.Float64(s.MaximumAvailable),
				potel.AdminBudgetRestoreRateKey.Float64(s.RestoreRate))
		}
		if cl.httpStatus != 0 {
			attrs = append(attrs, potel.HTTPResponseStatusCodeKey.Int(cl.httpStatus))
		}
		if cl.requestID != "" {
			attrs = append(attrs, potel.ShopifyRequestIDKey.String(cl.requestID))
		}
		if cl.servedVersion != "" {
			attrs = append(attrs, potel.AdminServedVersionKey.String(cl.servedVersion))
		}
		if cl.deprecation != "" {
			attrs = append(attrs, potel.AdminDeprecatedReasonKey.String(cl.deprecation))
			span.AddEvent(potel.EventAdminDeprecation, trace.WithAttributes(potel.AdminDeprecatedReasonKey.String(cl.deprecation)))
		}
		if err != nil {
			attrs = append(attrs, potel.ErrorTypeKey.String(ErrorName(err)))
			span.SetStatus(codes.Error, err.Error())
		}
		span.SetAttributes(attrs...)
	}
	span.End()

	op := opTypeOf(cl.opType)
	outcome := "ok"
	if err != nil {
		outcome = ErrorName(err)
	}
	set := metric.WithAttributes(potel.OutcomeKey.String(outcome), potel.GraphQLOperationTypeKey.String(op))
	t.calls.Add(ctx, 1, set)
	if start, ok := ctx.Value(callStart{}).(time.Time); ok {
		t.duration.Record(ctx, t.now().Sub(start).Seconds(), set)
	}
	if cl.actual > 0 {
		t.cost.Add(ctx, cl.actual, t.opSets[op])
	}
}

func (t *telemetry) paced(ctx context.Context, d time.Duration) {
	t.wait.Record(ctx, d.Seconds(), t.waitSets[potel.AdminWaitPacing])
}

func (t *telemetry) retried(ctx context.Context, reason string, wait time.Duration) {
	t.retries.Add(ctx, 1, t.retrySets[reason])
	if wait > 0 {
		t.wait.Record(ctx, wait.Seconds(), t.waitSets[reason])
	}
}

func (t *telemetry) throttledAnswer(ctx context.Context) { t.throttled.Add(ctx, 1) }

// budgetError records a failure of the shared budget on the span: the
// call goes on unpaced.
func (t *telemetry) budgetError(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.AddEvent(potel.EventAdminBudgetError, trace.WithAttributes(attribute.String("exception.message", err.Error())))
	}
}
