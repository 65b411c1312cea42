package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/webhook"
)

// TestMain fails the package if any goroutine outlives the tests: the
// middleware's handler goroutines (timed out ones included), the sender's
// and the servers'.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

type telemetryRig struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	v      *webhook.Verifier
	h      http.Handler
}

const bodyMarker = "BODY-MARKER-7c1d"

func newRig(t *testing.T, handler webhook.HandlerFunc, opts ...webhook.Option) *telemetryRig {
	t.Helper()
	r := &telemetryRig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	src, err := keysource.Static(secret, previous)
	if err != nil {
		t.Fatal(err)
	}
	r.v, err = webhook.New(src, append([]webhook.Option{webhook.WithTracerProvider(tp), webhook.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rt := webhook.NewRouter()
	if handler == nil {
		handler = func(context.Context, *webhook.Delivery) error { return nil }
	}
	rt.HandleFunc("orders/create", handler)
	r.h = r.v.Middleware(rt)
	return r
}

func (r *telemetryRig) deliver(t *testing.T, key, body, topic string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	for _, l := range classicLines(key, []byte(body)) {
		req.Header.Set(l[0], l[1])
	}
	if topic != "" {
		req.Header.Set("X-Shopify-Topic", topic)
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w.Code
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// deliveries returns the delivery counter's points: attribute set -> value.
func (r *telemetryRig) deliveries(t *testing.T) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otel.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(attribute.DefaultEncoder())+"}"] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[m.Name+"{"+p.Attributes.Encoded(attribute.DefaultEncoder())+"}"] += int64(p.Count)
				}
			}
		}
	}
	return out
}

func TestDeliverySpansAndMetrics(t *testing.T) {
	userErr := errors.New("customer jon@example.com not found in CRM")
	fail := false
	r := newRig(t, func(context.Context, *webhook.Delivery) error {
		if fail {
			return userErr
		}
		return nil
	}, webhook.WithDeduper(access.MemoryStore()))
	body := `{"id":1,"note":"` + bodyMarker + `"}`

	if code := r.deliver(t, secret, body, ""); code != 200 {
		t.Fatalf("first delivery: %d", code)
	}
	if code := r.deliver(t, secret, body, ""); code != 200 {
		t.Fatalf("duplicate: %d", code)
	}
	if code := r.deliver(t, wrongSecret, body, ""); code != 401 {
		t.Fatalf("forged: %d", code)
	}
	fail = true
	other := `{"id":2,"note":"` + bodyMarker + `"}`
	if code := r.deliverWithID(t, other, "c4a0b6e2-1d3f-4a5b-8c7d-9e0f1a2b3c4d"); code != 500 {
		t.Fatalf("failing handler: %d", code)
	}

	spans := r.spans.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want one per delivery (4)", len(spans))
	}
	type want struct {
		outcome, errType string
		verified         bool
		duplicate        bool
		status           codes.Code
	}
	for i, w := range []want{
		{outcome: "ok", verified: true, status: codes.Unset},
		{outcome: "duplicate", verified: true, duplicate: true, status: codes.Unset},
		{outcome: "signature", errType: "signature", status: codes.Error},
		{outcome: "handler", errType: "handler", verified: true, status: codes.Error},
	} {
		s := spans[i]
		a := attrs(s.Attributes())
		if s.Name() != otel.SpanWebhookDelivery {
			t.Errorf("span %d named %q", i, s.Name())
		}
		if a[otel.OutcomeKey].AsString() != w.outcome || a[otel.ErrorTypeKey].AsString() != w.errType || s.Status().Code != w.status {
			t.Errorf("span %d: outcome %q error.type %q status %v, want %+v", i, a[otel.OutcomeKey].AsString(), a[otel.ErrorTypeKey].AsString(), s.Status(), w)
		}
		_, hasTopic := a[otel.WebhookTopicKey]
		if hasTopic != w.verified {
			t.Errorf("span %d: topic recorded %v, want %v (only after the HMAC matched)", i, hasTopic, w.verified)
		}
		if w.verified {
			if a[otel.WebhookTopicKey].AsString() != "orders/create" || a[otel.ShopDomainKey].AsString() != shop ||
				a[otel.WebhookIDKey].AsString() == "" || a[otel.WebhookFamilyKey].AsString() != "classic" ||
				a[otel.WebhookDuplicateKey].AsBool() != w.duplicate || a[otel.KeyIDKey].AsString() != "static:current" {
				t.Errorf("span %d attributes %v", i, a)
			}
		}
		if s.Status().Code == codes.Error && strings.Contains(s.Status().Description, "jon@example.com") {
			t.Errorf("span %d status carries the handler's own error: %q", i, s.Status().Description)
		}
	}

	got := r.deliveries(t)
	for key, n := range map[string]int64{
		`possession.webhook.deliveries{possession.outcome=ok,shopify.webhook.topic=orders/create}`:        1,
		`possession.webhook.deliveries{possession.outcome=duplicate,shopify.webhook.topic=orders/create}`: 1,
		`possession.webhook.deliveries{possession.outcome=signature}`:                                     1,
		`possession.webhook.deliveries{possession.outcome=handler,shopify.webhook.topic=orders/create}`:   1,
		`possession.webhook.delivery.duration{possession.outcome=ok,shopify.webhook.topic=orders/create}`: 1,
	} {
		if got[key] != n {
			t.Errorf("%s = %d, want %d (all: %v)", key, got[key], n, got)
		}
	}
	assertNoMarker(t, spans, got)
}

func (r *telemetryRig) deliverWithID(t *testing.T, body, id string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	for _, l := range classicLines(secret, []byte(body)) {
		req.Header.Set(l[0], l[1])
	}
	req.Header.Set("X-Shopify-Webhook-Id", id)
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w.Code
}

// assertNoMarker: the body never reaches a span or a metric.
func assertNoMarker(t *testing.T, spans []sdktrace.ReadOnlySpan, points map[string]int64) {
	t.Helper()
	for _, s := range spans {
		all := fmt.Sprint(s.Name(), s.Attributes(), s.Events(), s.Status(), s.Links())
		if strings.Contains(all, bodyMarker) || strings.Contains(all, secret) {
			t.Errorf("span %s carries the body or the secret: %s", s.Name(), all)
		}
	}
	for k := range points {
		if strings.Contains(k, bodyMarker) {
			t.Errorf("metric point %s carries the body", k)
		}
	}
}

func TestMetricTopicsBounded(t *testing.T) {
	rt := newRig(t, nil)
	// Every topic below is unknown to the Router (404), but each delivery
	// is signed: a sender with one valid body can vary the topic header.
	for i := range 200 {
		rt.deliver(t, secret, `{"id":3}`, fmt.Sprintf("made/up_%03d", i))
	}
	topics := map[string]bool{}
	for k := range rt.deliveries(t) {
		if i := strings.Index(k, "shopify.webhook.topic="); i >= 0 && strings.HasPrefix(k, "possession.webhook.deliveries{") {
			topics[strings.TrimSuffix(k[i+len("shopify.webhook.topic="):], "}")] = true
		}
	}
	if len(topics) != 129 || !topics["other"] {
		t.Fatalf("%d distinct topic values (other: %v), want 128 and other", len(topics), topics["other"])
	}
}

func TestSignedQueryMetric(t *testing.T) {
	r := newRig(t, nil, webhook.WithClock(func() time.Time { return time.Unix(1784021400, 0) }))
	_, _ = r.v.VerifyAppProxy("shop=" + shop + "&timestamp=1784021400&signature=00")
	_, _ = r.v.VerifyOAuthCallback("shop="+shop+"&timestamp=1&hmac=00", "state")
	_, _ = r.v.VerifyOAuthCallback("shop="+shop+"&hmac=00&hmac=01", "state")
	got := r.deliveries(t)
	for key, n := range map[string]int64{
		`possession.webhook.signed_queries{possession.outcome=signature,possession.signed_query.kind=app_proxy}`:            1,
		`possession.webhook.signed_queries{possession.outcome=timestamp,possession.signed_query.kind=oauth_callback}`:       1,
		`possession.webhook.signed_queries{possession.outcome=duplicate_param,possession.signed_query.kind=oauth_callback}`: 1,
	} {
		if got[key] != n {
			t.Errorf("%s = %d, want %d (all: %v)", key, got[key], n, got)
		}
	}
}

// A handler that outlives its timeout: the middleware answers, the
// handler's goroutine ends when the handler does, and nothing is left.
func TestTimedOutHandlerLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	ended := make(chan struct{})
	r := newRig(t, func(ctx context.Context, _ *webhook.Delivery) error {
		defer close(ended)
		<-release
		return nil
	}, webhook.WithHandlerTimeout(20*time.Millisecond), webhook.WithDeduper(access.MemoryStore()))
	if code := r.deliver(t, secret, `{"id":4}`, ""); code != 503 {
		t.Fatalf("status %d", code)
	}
	close(release)
	<-ended
}
