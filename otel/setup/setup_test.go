package setup_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	collmetric "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/possession-dev/possession/otel/setup"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clearEnv unsets every variable New reads, for the test's duration.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	} {
		t.Setenv(k, "") // restores the old value after the test
	}
}

func TestNoopWithoutConfiguration(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"},
		{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
	} {
		clearEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		p, err := setup.New(context.Background())
		if err != nil {
			t.Fatalf("%v: %v", env, err)
		}
		if _, ok := p.TracerProvider.(tracenoop.TracerProvider); !ok {
			t.Errorf("%v: tracer provider %T, want no-op", env, p.TracerProvider)
		}
		if _, ok := p.MeterProvider.(metricnoop.MeterProvider); !ok {
			t.Errorf("%v: meter provider %T, want no-op", env, p.MeterProvider)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("%v: shutdown: %v", env, err)
		}
	}
}

func TestRejectsUnsupportedConfiguration(t *testing.T) {
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_METRICS_EXPORTER": "prometheus"},
		{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
	} {
		clearEnv(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		if p, err := setup.New(context.Background()); err == nil {
			_ = p.Shutdown(context.Background())
			t.Errorf("%v: New accepted it", env)
		}
	}
}

func TestConsole(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	t.Setenv("OTEL_METRICS_EXPORTER", "console")
	t.Setenv("OTEL_SERVICE_NAME", "console-svc")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	var buf bytes.Buffer
	p, err := setup.New(context.Background(), setup.WithWriter(&buf))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider.Tracer("t").Start(context.Background(), "console-span")
	span.End()
	c, _ := p.MeterProvider.Meter("t").Int64Counter("console.counter")
	c.Add(context.Background(), 3)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"Name":"console-span"`, `console-svc`, `deployment.environment.name`, `console.counter`} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %s:\n%s", want, out)
		}
	}
}

// otlpSink is an OTLP/HTTP endpoint on 127.0.0.1 that decodes what it
// receives.
type otlpSink struct {
	mu      sync.Mutex
	spans   []string
	metrics []string
	service []string
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		http.Error(w, "content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		var req colltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.Resource.Attributes {
				if kv.Key == "service.name" {
					s.service = append(s.service, kv.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					s.spans = append(s.spans, sp.Name)
				}
			}
		}
	case "/v1/metrics":
		var req collmetric.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					s.metrics = append(s.metrics, m.Name)
				}
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func TestOTLPOverHTTP(t *testing.T) {
	sink := &otlpSink{}
	srv := httptest.NewServer(sink) // listens on 127.0.0.1
	defer srv.Close()

	clearEnv(t)
	// No OTEL_*_EXPORTER: an endpoint alone selects OTLP.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "otlp-svc")
	p, err := setup.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider.Tracer("t").Start(context.Background(), "otlp-span")
	span.End()
	h, _ := p.MeterProvider.Meter("t").Float64Histogram("otlp.histogram")
	h.Record(context.Background(), 1.5)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.spans) != 1 || sink.spans[0] != "otlp-span" {
		t.Errorf("spans received: %v, want [otlp-span]", sink.spans)
	}
	if len(sink.service) == 0 || sink.service[0] != "otlp-svc" {
		t.Errorf("service.name received: %v, want otlp-svc", sink.service)
	}
	if len(sink.metrics) == 0 || sink.metrics[0] != "otlp.histogram" {
		t.Errorf("metrics received: %v, want [otlp.histogram]", sink.metrics)
	}
}

func TestWithGlobal(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "console")
	var buf bytes.Buffer
	p, err := setup.New(context.Background(), setup.WithGlobal(), setup.WithWriter(&buf), setup.WithServiceName("global-svc"))
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != p.TracerProvider {
		t.Errorf("global tracer provider is %T, not the one New built", otel.GetTracerProvider())
	}
	if fields := otel.GetTextMapPropagator().Fields(); !strings.Contains(strings.Join(fields, ","), "traceparent") {
		t.Errorf("propagator fields %v lack traceparent", fields)
	}
	_, span := otel.Tracer("t").Start(context.Background(), "global-span")
	span.SetAttributes(attribute.String("k", "v"))
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "global-span") || !strings.Contains(buf.String(), "global-svc") {
		t.Errorf("global tracer did not export through the console exporter:\n%s", buf.String())
	}
}
