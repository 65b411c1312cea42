package sdk

import (
	"context"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/internal/teltest"
)

// BenchmarkVerifyTelemetry pairs the same verification without the Verify
// wrapper ("untraced": verify alone), with telemetry off (no provider
// installed: the OTel global defaults) and with no-op providers, for a
// cache hit, a miss (cache disabled) and a failure. The same benchmark in
// the test module (test/sdk) adds telemetry=sdk, with the OpenTelemetry
// SDK recording.
//
//	go test -run '^$' -bench VerifyTelemetry -count 6 ./sdk/ | tee tel.txt
//	benchstat -col /telemetry tel.txt
func BenchmarkVerifyTelemetry(b *testing.B) {
	paths := teltest.BenchPaths()
	for _, p := range paths {
		b.Run(p.Name+"/telemetry=untraced", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.Cache))
			teltest.Bench(b, context.Background(), p.Token, func(ctx context.Context, token string) { _ = v.verify(ctx, token) })
		})
		b.Run(p.Name+"/telemetry=off", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.Cache))
			teltest.Bench(b, context.Background(), p.Token, verifying(v))
		})
		b.Run(p.Name+"/telemetry=noop", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.Cache),
				WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
			teltest.Bench(b, context.Background(), p.Token, verifying(v))
		})
	}
}

// verifying times v.Verify.
func verifying(v *Verifier) func(context.Context, string) {
	return func(ctx context.Context, token string) { _, _ = v.Verify(ctx, token) }
}
