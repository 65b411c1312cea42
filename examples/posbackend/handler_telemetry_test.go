package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// otelhttp wraps the handler only when telemetry exports: then each
// request has a server span, parent of the verification's; without, no
// server span is started (the verifier still traces to whatever its
// provider is).
func TestHandlerInstrumentsOnlyWhenTelemetryExports(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	src := keysource.MustStatic(testSecret)
	v, err := sdk.New(src, sdk.WithClientID(testClientID), sdk.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	m := sdktest.Minter{Secret: testSecret, ClientID: testClientID, Shop: "shop-1.myshopify.com", UserID: "42"}
	for _, telemetry := range []bool{false, true} {
		h := newHandler(v, src, defaultOrigins, slog.New(slog.DiscardHandler), nil, telemetry) // nil: no Shopify backend, /api/session only
		before := len(rec.Ended())
		r := httptest.NewRequest(http.MethodGet, "/api/session", nil)
		r.Header.Set("Authorization", "Bearer "+m.Admin())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("telemetry %v: status %d", telemetry, w.Code)
		}
		names := map[string]bool{}
		for _, s := range rec.Ended()[before:] {
			names[s.Name()] = true
		}
		if !names["possession.Verify"] {
			t.Errorf("telemetry %v: no verify span in %v", telemetry, names)
		}
		if names["GET /api/session"] != telemetry {
			t.Errorf("telemetry %v: server span %v, spans %v", telemetry, names["GET /api/session"], names)
		}
	}
}
