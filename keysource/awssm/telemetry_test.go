package awssm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	potel "github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk"
)

func TestTelemetry(t *testing.T) {
	em := startEmulator(t)
	name := uniqueName(t)
	secrets := []string{"telemetry-secret-one-0123456789abcdef0123456789", "telemetry-secret-two-0123456789abcdef0123456789", "telemetry-forged"}
	em.createSecret(name, secrets[0])

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	clock := newFakeClock()
	timers := newFakeTimers()
	var mu sync.Mutex
	var handled []error
	src := newSource(t, em, name, WithTracerProvider(tp), WithMeterProvider(mp), WithClock(clock.Now), timers.option(),
		WithErrorHandler(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
	w := timers.next(t)
	ctx := context.Background()
	var errs []error

	if err := src.Refresh(ctx); err != nil { // unchanged
		t.Fatal(err)
	}
	em.rotate(name, secrets[1])
	if err := src.Refresh(ctx); err != nil { // updated
		t.Fatal(err)
	}
	em.setFault("denied", -1)
	errs = append(errs, src.Refresh(ctx)) // error
	w.fire <- time.Now()                  // a background refresh, also denied
	timers.next(t)
	errs = append(errs, src.Err())
	em.clearFault()
	clock.Advance(90 * time.Second)

	// A bad token under a verification span: the unknown-signer refresh
	// links to it.
	v, err := sdk.New(src, sdk.WithClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}
	vctx, parent := tp.Tracer("test").Start(ctx, "verify")
	_, err = v.Verify(vctx, mint(secrets[2]))
	parent.End()
	errs = append(errs, err)
	if !errors.Is(err, sdk.ErrSignature) {
		t.Fatalf("forged token: %v", err)
	}

	type want struct{ trigger, outcome string }
	wants := []want{
		{potel.RefreshTriggerInitial, potel.RefreshOutcomeUpdated},
		{potel.RefreshTriggerManual, potel.RefreshOutcomeUnchanged},
		{potel.RefreshTriggerManual, potel.RefreshOutcomeUpdated},
		{potel.RefreshTriggerManual, potel.RefreshOutcomeError},
		{potel.RefreshTriggerInterval, potel.RefreshOutcomeError},
		{potel.RefreshTriggerUnknownSigner, potel.RefreshOutcomeUnchanged},
	}
	var got []sdktrace.ReadOnlySpan
	for _, s := range spans.Ended() {
		if s.Name() == SpanName {
			got = append(got, s)
		}
	}
	if len(got) != len(wants) {
		t.Fatalf("%d refresh spans, want %d", len(got), len(wants))
	}
	for i, s := range got {
		attrs := attribute.NewSet(s.Attributes()...)
		tr, _ := attrs.Value(potel.RefreshTriggerKey)
		out, _ := attrs.Value(potel.RefreshOutcomeKey)
		src, _ := attrs.Value(potel.KeySourceKey)
		if tr.AsString() != wants[i].trigger || out.AsString() != wants[i].outcome || src.AsString() != "awssm" {
			t.Errorf("span %d: trigger %q outcome %q source %q, want %+v", i, tr.AsString(), out.AsString(), src.AsString(), wants[i])
		}
		if isErr := wants[i].outcome == potel.RefreshOutcomeError; isErr != (s.Status().Code == codes.Error) {
			t.Errorf("span %d: status %v", i, s.Status())
		}
		if wants[i].outcome == potel.RefreshOutcomeError {
			if et, _ := attrs.Value(semconv.ErrorTypeKey); et.AsString() != "access_denied" {
				t.Errorf("span %d: error.type %q, want access_denied", i, et.AsString())
			}
		}
	}
	if links := got[5].Links(); len(links) != 1 || links[0].SpanContext.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("unknown-signer refresh span links %v, want the verification span", links)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var age []float64
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != potel.ScopeName {
			continue
		}
		for _, m := range sm.Metrics {
			switch m.Name {
			case potel.MetricKeySourceRefreshes:
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					out, _ := dp.Attributes.Value(potel.RefreshOutcomeKey)
					counts[out.AsString()] += dp.Value
				}
			case potel.MetricKeyAge:
				for _, dp := range m.Data.(metricdata.Gauge[float64]).DataPoints {
					age = append(age, dp.Value)
				}
			}
		}
	}
	if want := map[string]int64{"updated": 2, "unchanged": 2, "error": 2}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("refresh counts %v, want %v", counts, want)
	}
	if len(age) != 1 || age[0] != 90 {
		t.Errorf("key age %v, want [90] seconds", age)
	}

	// No secret anywhere: span attributes, events, status, errors.
	mu.Lock()
	errs = append(errs, handled...)
	mu.Unlock()
	var texts []string
	for _, s := range spans.Ended() {
		texts = append(texts, s.Status().Description, fmt.Sprint(s.Attributes()))
		for _, e := range s.Events() {
			texts = append(texts, e.Name, fmt.Sprint(e.Attributes))
		}
	}
	for _, e := range errs {
		if e == nil {
			t.Fatal("expected an error")
		}
		texts = append(texts, e.Error(), fmt.Sprintf("%+v %#v", e, e))
	}
	texts = append(texts, fmt.Sprintf("%v %+v %#v", src, src, src), fmt.Sprint(src.Keyring()))
	for _, text := range texts {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("%q reveals a secret", text)
			}
		}
	}

	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	rm = metricdata.ResourceMetrics{}
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if g, ok := m.Data.(metricdata.Gauge[float64]); ok && m.Name == potel.MetricKeyAge && len(g.DataPoints) > 0 {
				t.Errorf("key age still observed after Close")
			}
		}
	}
}
