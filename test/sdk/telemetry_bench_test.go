package sdk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// discardProcessor is a span processor that drops ended spans: the
// recorder's cost without its memory growing with b.N.
type discardProcessor struct{}

func (discardProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discardProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discardProcessor) Shutdown(context.Context) error                  { return nil }
func (discardProcessor) ForceFlush(context.Context) error                { return nil }

// BenchmarkVerifyTelemetry pairs the same verification with telemetry off
// (no provider installed: the OTel global defaults) and on (an SDK tracer
// provider that samples every span, plus an SDK meter provider with a
// manual reader), for a cache hit, a miss (cache disabled) and a failure.
// The core module's BenchmarkVerifyTelemetry (sdk/) has the verification
// alone, without the Verify wrapper ("untraced"), and no-op providers.
//
//	(cd test && go test -run '^$' -bench VerifyTelemetry -count 6 ./sdk/ | tee tel.txt)
//	benchstat -col /telemetry tel.txt
func BenchmarkVerifyTelemetry(b *testing.B) {
	// Tokens as Shopify sends them, valid at telemetryNow; expired ones an
	// hour older.
	f := sdktest.Fixtures{Secret: telSecret, ClientID: telClientID, Start: telemetryNow.Add(-59 * time.Second)}
	old := f
	old.Start = old.Start.Add(-time.Hour)
	paths := []struct {
		name  string
		cache int
		token string
	}{
		{"path=hit", 100, f.Fixture(0).Token},
		{"path=miss", 0, f.Fixture(1).Token},
		{"path=expired", 0, old.Fixture(2).Token},
	}
	for _, p := range paths {
		b.Run(p.name+"/telemetry=off", func(b *testing.B) {
			v := newTelVerifier(b, nil, sdk.WithCacheSize(p.cache))
			benchVerify(b, v, context.Background(), p.token)
		})
		b.Run(p.name+"/telemetry=sdk", func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discardProcessor{}))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() {
				_ = tp.Shutdown(context.Background())
				_ = mp.Shutdown(context.Background())
			})
			v := newTelVerifier(b, nil, sdk.WithCacheSize(p.cache), sdk.WithTracerProvider(tp), sdk.WithMeterProvider(mp))
			ctx, parent := tp.Tracer("bench").Start(context.Background(), "request")
			defer parent.End()
			benchVerify(b, v, ctx, p.token)
		})
	}
	// Metrics alone (tracing off): precomputed attribute sets keep the
	// metric path free of per-call attribute allocations.
	b.Run("path=hit/telemetry=metrics-only", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		v := newTelVerifier(b, nil, sdk.WithCacheSize(100), sdk.WithTracerProvider(tracenoop.NewTracerProvider()), sdk.WithMeterProvider(mp))
		benchVerify(b, v, context.Background(), paths[0].token)
	})
	// With the tracetest recorder the issue names: it keeps every span, so
	// its time includes the recorder's growing slice.
	b.Run("path=hit/telemetry=sdk-recorder", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		v := newTelVerifier(b, nil, sdk.WithCacheSize(100), sdk.WithTracerProvider(tp))
		benchVerify(b, v, context.Background(), paths[0].token)
	})
}

// benchVerify verifies token once (filling the cache), then a copy of it
// in other memory, as each request brings its own.
func benchVerify(b *testing.B, v *sdk.Verifier, ctx context.Context, token string) {
	b.Helper()
	_, _ = v.Verify(ctx, token) // fill the cache
	token = strings.Clone(token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = v.Verify(ctx, token)
	}
}
