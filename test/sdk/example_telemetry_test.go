package sdk_test

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

var exampleNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// printVerifySpan prints the attributes of the first recorded span.
func printVerifySpan(rec *tracetest.SpanRecorder) {
	s := rec.Ended()[0]
	fmt.Println(s.Name(), s.SpanKind(), s.Status().Code)
	for _, kv := range s.Attributes() {
		fmt.Printf("  %s=%s\n", kv.Key, kv.Value.String())
	}
}

func exampleToken(claims ...sdktest.Claim) string {
	m := sdktest.Minter{Secret: "example-secret-0123456789abcdef012", ClientID: "example-app", Shop: "example.myshopify.com", UserID: "42",
		Now: func() time.Time { return exampleNow }}
	return m.Admin(claims...)
}

func ExampleWithTracerProvider() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	v, _ := sdk.New(keysource.MustStatic("example-secret-0123456789abcdef012"), sdk.WithClientID("example-app"),
		sdk.WithClock(func() time.Time { return exampleNow }),
		sdk.WithTracerProvider(tp))

	_, _ = v.Verify(context.Background(), exampleToken())
	printVerifySpan(rec)

	rec2 := tracetest.NewSpanRecorder()
	tp.RegisterSpanProcessor(rec2)
	_, err := v.Verify(context.Background(), exampleToken(sdktest.At(exampleNow.Add(-time.Hour))))
	fmt.Println(err != nil)
	printVerifySpan(rec2)
	// Output:
	// possession.Verify internal Unset
	//   shopify.shop.domain=example.myshopify.com
	//   shopify.client_id=example-app
	//   possession.session.kind=admin
	//   possession.key.id=static:current
	//   possession.cache.hit=false
	//   user.id=42
	// true
	// possession.Verify internal Error
	//   error.type=expired
}

func ExampleWithMeterProvider() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	v, _ := sdk.New(keysource.MustStatic("example-secret-0123456789abcdef012"), sdk.WithClientID("example-app"),
		sdk.WithClock(func() time.Time { return exampleNow }),
		sdk.WithMeterProvider(mp))

	tok := exampleToken()
	for range 3 {
		_, _ = v.Verify(context.Background(), tok)
	}
	_, _ = v.Verify(context.Background(), "not-a-token")

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != otel.MetricVerifications && m.Name != otel.MetricCacheLookups {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			fmt.Println(m.Name, dp.Attributes.Encoded(attributeEncoder), dp.Value)
		}
	}
	// Unordered output:
	// possession.verifications possession.outcome=ok,possession.session.kind=admin 3
	// possession.verifications possession.outcome=malformed 1
	// possession.cache.lookups possession.cache.hit=false 2
	// possession.cache.lookups possession.cache.hit=true 2
}

func ExampleWithHashedUserID() {
	rec := tracetest.NewSpanRecorder()
	v, _ := sdk.New(keysource.MustStatic("example-secret-0123456789abcdef012"), sdk.WithClientID("example-app"),
		sdk.WithClock(func() time.Time { return exampleNow }),
		sdk.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
		// In production, read the key from your secret store.
		sdk.WithHashedUserID([]byte("example-user-hash-key-32-bytes!!")))

	s, _ := v.Verify(context.Background(), exampleToken())
	fmt.Println("session user:", s.UserID)
	for _, kv := range rec.Ended()[0].Attributes() {
		if kv.Key == otel.UserIDKey || kv.Key == otel.UserHashKey {
			fmt.Printf("%s=%s\n", kv.Key, kv.Value.String())
		}
	}
	// Output:
	// session user: 42
	// user.hash=b69242d060d2f75834e3c5bd793fd0fe92197898904a04999cc63413e557f32d
}

func ExampleWithoutUserIDTelemetry() {
	rec := tracetest.NewSpanRecorder()
	v, _ := sdk.New(keysource.MustStatic("example-secret-0123456789abcdef012"), sdk.WithClientID("example-app"),
		sdk.WithClock(func() time.Time { return exampleNow }),
		sdk.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
		sdk.WithoutUserIDTelemetry())

	s, _ := v.Verify(context.Background(), exampleToken())
	fmt.Println("session user:", s.UserID)
	printVerifySpan(rec)
	// Output:
	// session user: 42
	// possession.Verify internal Unset
	//   shopify.shop.domain=example.myshopify.com
	//   shopify.client_id=example-app
	//   possession.session.kind=admin
	//   possession.key.id=static:current
	//   possession.cache.hit=false
}

var attributeEncoder = attribute.DefaultEncoder()
