package webhook

import (
	"context"
	"sync"
	"time"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/possession-dev/possession/otel"
)

// maxMetricTopics bounds the distinct topic values a Verifier records on
// metrics. Topics come from an unsigned header: a sender holding one
// signed body could otherwise mint a new time series per request.
const maxMetricTopics = 128

// otherTopic stands for every topic past maxMetricTopics.
const otherTopic = "other"

// Outcomes that are not errors.
const (
	outcomeOK        = "ok"
	outcomeDuplicate = "duplicate"
)

// Kinds of signed queries.
const (
	queryAppProxy = "app_proxy"
	queryOAuth    = "oauth_callback"
)

type telemetry struct {
	tracer     trace.Tracer
	deliveries metric.Int64Counter
	duration   metric.Float64Histogram
	queries    metric.Int64Counter

	mu     sync.Mutex
	topics map[string]attribute.KeyValue
}

// durationBuckets suit a webhook answer: sub-millisecond for a duplicate
// answered from memory, up to the handler timeout.
var durationBuckets = []float64{1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5}

func newTelemetry(cfg *config) (*telemetry, error) {
	tp := cfg.tracerProvider
	if tp == nil {
		tp = gotel.GetTracerProvider()
	}
	mp := cfg.meterProvider
	if mp == nil {
		mp = gotel.GetMeterProvider()
	}
	t := &telemetry{
		tracer: tp.Tracer(otel.ScopeName, trace.WithInstrumentationVersion(otel.Version)),
		topics: map[string]attribute.KeyValue{},
	}
	meter := mp.Meter(otel.ScopeName, metric.WithInstrumentationVersion(otel.Version))
	var err error
	if t.deliveries, err = meter.Int64Counter(otel.MetricWebhookDeliveries,
		metric.WithUnit("{delivery}"),
		metric.WithDescription("Webhook deliveries answered, by outcome and topic.")); err != nil {
		return nil, err
	}
	if t.duration, err = meter.Float64Histogram(otel.MetricWebhookDeliveryDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Time to answer a webhook delivery."),
		metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if t.queries, err = meter.Int64Counter(otel.MetricSignedQueries,
		metric.WithUnit("{query}"),
		metric.WithDescription("App proxy and OAuth callback signature checks, by kind and outcome.")); err != nil {
		return nil, err
	}
	return t, nil
}

// topicAttr returns the metric attribute for topic, "other" once
// maxMetricTopics distinct topics were seen.
func (t *telemetry) topicAttr(topic string) attribute.KeyValue {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kv, ok := t.topics[topic]; ok {
		return kv
	}
	if len(t.topics) >= maxMetricTopics {
		return otel.WebhookTopicKey.String(otherTopic)
	}
	kv := otel.WebhookTopicKey.String(topic)
	t.topics[topic] = kv
	return kv
}

// deliverySpan is the telemetry of one delivery, from start to answer.
type deliverySpan struct {
	t     *telemetry
	span  trace.Span
	start time.Time
}

func (t *telemetry) startDelivery(ctx context.Context) (context.Context, deliverySpan) {
	ctx, span := t.tracer.Start(ctx, otel.SpanWebhookDelivery, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, deliverySpan{t: t, span: span, start: time.Now()}
}

// verified records the delivery's identity on the span, once its HMAC
// matched.
func (s deliverySpan) verified(d *Delivery) {
	if !s.span.IsRecording() {
		return
	}
	s.span.SetAttributes(
		otel.WebhookTopicKey.String(d.Topic),
		otel.ShopDomainKey.String(d.Shop),
		otel.WebhookIDKey.String(d.WebhookID),
		otel.WebhookFamilyKey.String(d.Family.String()),
		otel.KeyIDKey.String(d.KeyID),
	)
}

// end records the outcome: d is the verified delivery (nil if
// verification failed), err nil for "ok" and "duplicate".
func (s deliverySpan) end(ctx context.Context, d *Delivery, duplicate bool, err error) {
	outcome := outcomeOK
	switch {
	case err != nil:
		outcome = ErrorName(err)
	case duplicate:
		outcome = outcomeDuplicate
	}
	if s.span.IsRecording() {
		attrs := []attribute.KeyValue{otel.OutcomeKey.String(outcome)}
		if d != nil {
			attrs = append(attrs, otel.WebhookDuplicateKey.Bool(duplicate))
		}
		if err != nil {
			attrs = append(attrs, otel.ErrorTypeKey.String(outcome))
			// The sentinel's text only: a handler's own error is the
			// app's to log, and may hold what telemetry must not.
			s.span.SetStatus(codes.Error, sentinelText(err))
		}
		s.span.SetAttributes(attrs...)
	}
	s.span.End()

	var set attribute.Set
	if d != nil {
		set = attribute.NewSet(otel.OutcomeKey.String(outcome), s.t.topicAttr(d.Topic))
	} else {
		set = attribute.NewSet(otel.OutcomeKey.String(outcome))
	}
	opt := metric.WithAttributeSet(set)
	s.t.deliveries.Add(ctx, 1, opt)
	s.t.duration.Record(ctx, time.Since(s.start).Seconds(), opt)
}

// query records one signed-query verification.
func (t *telemetry) query(ctx context.Context, kind string, err error) {
	outcome := outcomeOK
	if err != nil {
		outcome = ErrorName(err)
	}
	t.queries.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(
		otel.SignedQueryKindKey.String(kind), otel.OutcomeKey.String(outcome))))
}
