package sdk_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/internal/teltest"
	"github.com/possession-dev/possession/sdk"
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
	paths := teltest.BenchPaths()
	for _, p := range paths {
		b.Run(p.Name+"/telemetry=off", func(b *testing.B) {
			v := newTelVerifier(b, nil, sdk.WithCacheSize(p.Cache))
			teltest.Bench(b, context.Background(), p.Token, verifying(v))
		})
		b.Run(p.Name+"/telemetry=sdk", func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(discardProcessor{}))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() {
				_ = tp.Shutdown(context.Background())
				_ = mp.Shutdown(context.Background())
			})
			v := newTelVerifier(b, nil, sdk.WithCacheSize(p.Cache), sdk.WithTracerProvider(tp), sdk.WithMeterProvider(mp))
			ctx, parent := tp.Tracer("bench").Start(context.Background(), "request")
			defer parent.End()
			teltest.Bench(b, ctx, p.Token, verifying(v))
		})
	}
	// Metrics alone (tracing off): precomputed attribute sets keep the
	// metric path free of per-call attribute allocations.
	b.Run("path=hit/telemetry=metrics-only", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		v := newTelVerifier(b, nil, sdk.WithCacheSize(100), sdk.WithTracerProvider(tracenoop.NewTracerProvider()), sdk.WithMeterProvider(mp))
		teltest.Bench(b, context.Background(), paths[0].Token, verifying(v))
	})
	// With the tracetest recorder the issue names: it keeps every span, so
	// its time includes the recorder's growing slice.
	b.Run("path=hit/telemetry=sdk-recorder", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		v := newTelVerifier(b, nil, sdk.WithCacheSize(100), sdk.WithTracerProvider(tp))
		teltest.Bench(b, context.Background(), paths[0].Token, verifying(v))
	})
}

// verifying times v.Verify.
func verifying(v *sdk.Verifier) func(context.Context, string) {
	return func(ctx context.Context, token string) { _, _ = v.Verify(ctx, token) }
}
