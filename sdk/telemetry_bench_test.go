package sdk

import (
	"context"
	"strings"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/possession-dev/possession/sdk/sdktest"
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
		b.Run(p.name+"/telemetry=untraced", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.cache))
			ctx := context.Background()
			_ = v.verify(ctx, p.token)
			token := strings.Clone(p.token) // a request's own copy
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = v.verify(ctx, token)
			}
		})
		b.Run(p.name+"/telemetry=off", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.cache))
			benchVerify(b, v, context.Background(), p.token)
		})
		b.Run(p.name+"/telemetry=noop", func(b *testing.B) {
			v := newTelVerifier(b, nil, WithCacheSize(p.cache),
				WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
			benchVerify(b, v, context.Background(), p.token)
		})
	}
}

// benchVerify verifies token once (filling the cache), then a copy of it
// in other memory, as each request brings its own.
func benchVerify(b *testing.B, v *Verifier, ctx context.Context, token string) {
	b.Helper()
	_, _ = v.Verify(ctx, token) // fill the cache
	token = strings.Clone(token)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_, _ = v.Verify(ctx, token)
	}
}
