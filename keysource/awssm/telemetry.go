package awssm

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	potel "github.com/possession-dev/possession/otel"
)

// sourceName is this source's value of potel.KeySourceKey.
const sourceName = "awssm"

// SpanName is the name of the span each fetch records.
const SpanName = "possession.keysource.Refresh"

// attrKeyCount is the number of keys in force after a refresh.
const attrKeyCount = attribute.Key("possession.keysource.key_count")

type telemetry struct {
	tracer    trace.Tracer
	refreshes metric.Int64Counter
	reg       metric.Registration
}

// newTelemetry creates the instruments. Instrument errors go to the OTel
// error handler, as the API asks: telemetry never stops the source.
func newTelemetry(s *Source) *telemetry {
	t := &telemetry{tracer: s.cfg.tracerProvider.Tracer(potel.ScopeName)}
	meter := s.cfg.meterProvider.Meter(potel.ScopeName)
	var err error
	t.refreshes, err = meter.Int64Counter(potel.MetricKeySourceRefreshes,
		metric.WithDescription("Key source refreshes by outcome."),
		metric.WithUnit("{refresh}"))
	if err != nil {
		otel.Handle(err)
	}
	age, err := meter.Float64ObservableGauge(potel.MetricKeyAge,
		metric.WithDescription("Seconds since the keys in force were loaded."),
		metric.WithUnit("s"))
	if err != nil {
		otel.Handle(err)
		return t
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(potel.KeySourceKey.String(sourceName)))
	t.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if r := s.Keyring(); r.Len() > 0 {
			o.ObserveFloat64(age, s.cfg.now().Sub(r.LoadedAt()).Seconds(), attrs)
		}
		return nil
	}, age)
	if err != nil {
		otel.Handle(err)
	}
	return t
}

func (t *telemetry) close() {
	if t.reg != nil {
		if err := t.reg.Unregister(); err != nil {
			otel.Handle(err)
		}
	}
}

func (t *telemetry) start(ctx context.Context, trigger string) (context.Context, trace.Span) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			potel.KeySourceKey.String(sourceName),
			potel.RefreshTriggerKey.String(trigger),
		),
	}
	if l, ok := ctx.Value(linkKey{}).(trace.Link); ok {
		opts = append(opts, trace.WithLinks(l))
	}
	return t.tracer.Start(ctx, SpanName, opts...)
}

func (t *telemetry) end(ctx context.Context, span trace.Span, outcome string, err error, keys int) {
	attrs := []attribute.KeyValue{potel.KeySourceKey.String(sourceName)}
	if err != nil {
		outcome = potel.RefreshOutcomeError
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(err)))
	}
	attrs = append(attrs, potel.RefreshOutcomeKey.String(outcome))
	if t.refreshes != nil {
		// Recorded on a fresh context: the fetch's may have timed out.
		t.refreshes.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(attrs...))
	}
	if span.IsRecording() {
		span.SetAttributes(attrs[1:]...)
		span.SetAttributes(attrKeyCount.Int(keys))
		if err != nil {
			// Errors of this package never carry secret material.
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}

// errorType is the error.type value of a refresh error.
func errorType(err error) string {
	switch {
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrAccessDenied):
		return "access_denied"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrNotJSON), errors.Is(err, ErrFieldMissing), errors.Is(err, ErrEmptyValue), errors.Is(err, ErrInvalidSecret):
		return "invalid_value"
	}
	return "other"
}

type linkKey struct{}

// linkFrom returns a link to the span in ctx (the verification that asked
// for a refresh), if any.
func linkFrom(ctx context.Context) *trace.Link {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return &trace.Link{SpanContext: sc}
}

// withLink carries a link to the span that caused a background fetch.
func withLink(ctx context.Context, l *trace.Link) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, linkKey{}, *l)
}
