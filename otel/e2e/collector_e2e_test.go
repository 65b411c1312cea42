//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/possession-dev/possession/keysource"
	possotel "github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/otel/setup"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

const (
	secret   = "e2e-app-secret-0123456789abcdef0123"
	clientID = "e2e-client-id"
)

// collectorBinary returns the Collector to run: $POSSESSION_OTELCOL_BIN,
// or one built now from tools/otelcol.
func collectorBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("POSSESSION_OTELCOL_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "otelcol")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "tools", "otelcol")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Collector: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCollector runs the Collector with an OTLP HTTP receiver on
// 127.0.0.1 and a file exporter writing OTLP JSON lines to out. It stops
// it when the test ends, and returns the receiver's URL and a function
// that stops it early (flushing the file).
func startCollector(t *testing.T, out string) (endpoint string, stop func()) {
	t.Helper()
	bin := collectorBinary(t)
	port := freePort(t)
	cfg := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
    metrics:
      receivers: [otlp]
      exporters: [file]
`, port, out)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config="+cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("Collector log:\n%s", logs.String())
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Collector exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Collector not listening on %s after 30 s\n%s", addr, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr, stop
}

// OTLP JSON, as the file exporter writes it: one request per line.
type (
	otlpLine struct {
		ResourceSpans   []resourceSpans   `json:"resourceSpans"`
		ResourceMetrics []resourceMetrics `json:"resourceMetrics"`
	}
	resourceSpans struct {
		Resource   resource `json:"resource"`
		ScopeSpans []struct {
			Scope struct{ Name, Version string } `json:"scope"`
			Spans []otlpSpan                     `json:"spans"`
		} `json:"scopeSpans"`
	}
	resource struct {
		Attributes []keyValue `json:"attributes"`
	}
	otlpSpan struct {
		TraceID      string     `json:"traceId"`
		SpanID       string     `json:"spanId"`
		ParentSpanID string     `json:"parentSpanId"`
		Name         string     `json:"name"`
		Kind         int        `json:"kind"`
		Attributes   []keyValue `json:"attributes"`
		Status       struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"status"`
		scope string
	}
	keyValue struct {
		Key   string `json:"key"`
		Value struct {
			StringValue *string `json:"stringValue"`
			IntValue    *string `json:"intValue"`
			BoolValue   *bool   `json:"boolValue"`
		} `json:"value"`
	}
	resourceMetrics struct {
		Resource     resource `json:"resource"`
		ScopeMetrics []struct {
			Scope   struct{ Name string } `json:"scope"`
			Metrics []otlpMetric          `json:"metrics"`
		} `json:"scopeMetrics"`
	}
	otlpMetric struct {
		Name string `json:"name"`
		Unit string `json:"unit"`
		Sum  *struct {
			DataPoints []numberPoint `json:"dataPoints"`
		} `json:"sum"`
		Histogram *struct {
			DataPoints []struct {
				Attributes []keyValue `json:"attributes"`
				Count      string     `json:"count"`
			} `json:"dataPoints"`
		} `json:"histogram"`
		Gauge *struct {
			DataPoints []numberPoint `json:"dataPoints"`
		} `json:"gauge"`
	}
	numberPoint struct {
		Attributes []keyValue `json:"attributes"`
		AsInt      string     `json:"asInt"`
		AsDouble   *float64   `json:"asDouble"`
	}
)

const (
	spanKindInternal = 1
	spanKindServer   = 2
	statusError      = 2
)

func attrs(kvs []keyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		switch v := kv.Value; {
		case v.StringValue != nil:
			m[kv.Key] = *v.StringValue
		case v.IntValue != nil:
			m[kv.Key] = *v.IntValue
		case v.BoolValue != nil:
			m[kv.Key] = strconv.FormatBool(*v.BoolValue)
		}
	}
	return m
}

// exported is what the Collector wrote.
type exported struct {
	raw      string
	spans    []otlpSpan
	services map[string]bool
	metrics  map[string][]otlpMetric
}

func readExport(t *testing.T, path string) exported {
	t.Helper()
	e := exported{services: map[string]bool{}, metrics: map[string][]otlpMetric{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return e
	}
	e.raw = string(data)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var line otlpLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("Collector file line is not OTLP JSON: %v", err)
		}
		for _, rs := range line.ResourceSpans {
			e.services[attrs(rs.Resource.Attributes)["service.name"]] = true
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					s.scope = ss.Scope.Name
					e.spans = append(e.spans, s)
				}
			}
		}
		for _, rm := range line.ResourceMetrics {
			e.services[attrs(rm.Resource.Attributes)["service.name"]] = true
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					e.metrics[m.Name] = append(e.metrics[m.Name], m)
				}
			}
		}
	}
	return e
}

// counter returns the largest value (the latest, for a cumulative sum)
// of metric name's points whose attributes include want.
func (e exported) counter(name string, want map[string]string) int64 {
	var max int64
	for _, m := range e.metrics[name] {
		if m.Sum == nil {
			continue
		}
		for _, dp := range m.Sum.DataPoints {
			if !matches(attrs(dp.Attributes), want) {
				continue
			}
			if v, _ := strconv.ParseInt(dp.AsInt, 10, 64); v > max {
				max = v
			}
		}
	}
	return max
}

func matches(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestVerifySpansAndMetricsReachTheCollector is the whole path: a
// Collector on 127.0.0.1, providers from OTEL_* via otel/setup, an
// otelhttp server whose handler verifies bearer tokens, real requests.
func TestVerifySpansAndMetricsReachTheCollector(t *testing.T) {
	out := filepath.Join(t.TempDir(), "telemetry.jsonl")
	endpoint, stopCollector := startCollector(t, out)

	// The verifier exists before any provider is installed: it must pick
	// up the global providers installed afterwards.
	v, err := sdk.New(keysource.MustStatic(secret), sdk.WithClientID(clientID))
	if err != nil {
		t.Fatal(err)
	}

	for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_SDK_DISABLED"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_SERVICE_NAME", "possession-e2e")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=e2e")
	ctx := context.Background()
	providers, err := setup.New(ctx, setup.WithGlobal())
	if err != nil {
		t.Fatal(err)
	}
	defer providers.Shutdown(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("/orders/{case}", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "no bearer token", http.StatusUnauthorized)
			return
		}
		s, err := v.Verify(r.Context(), token)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":%q}`, sdk.ErrorName(err))
			return
		}
		fmt.Fprintf(w, `{"shop":%q,"user":%q}`, s.Shop, s.UserID)
	})
	srv := httptest.NewServer(otelhttp.NewHandler(mux, "posbackend"))
	defer srv.Close()

	shopA := sdktest.Minter{Secret: secret, ClientID: clientID, Shop: "alpha-e2e.myshopify.com", UserID: "101"}
	shopB := sdktest.Minter{Secret: secret, ClientID: clientID, Shop: "bravo-e2e.myshopify.com", UserID: "202"}
	forger := shopB
	forger.Secret = "not-the-app-secret-fedcba987654"
	cases := []struct {
		name, token string
		status      int
		shop, user  string
		errorType   string
	}{
		{name: "valid-a", token: shopA.Admin(), status: 200, shop: shopA.Shop, user: "101"},
		{name: "valid-b", token: shopB.Admin(), status: 200, shop: shopB.Shop, user: "202"},
		{name: "expired-a", token: shopA.Admin(sdktest.At(time.Now().Add(-time.Hour))), status: 401, errorType: "expired"},
		{name: "forged-b", token: forger.Admin(), status: 401, errorType: "signature"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/"+c.name, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
	// The valid token of shop A again: served from the cache.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders/valid-a-again", nil)
	req.Header.Set("Authorization", "Bearer "+cases[0].token)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cached request: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Flush both providers to the Collector, then let the Collector
	// flush its file.
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := providers.Shutdown(sctx); err != nil {
		t.Fatalf("flush to the Collector: %v", err)
	}
	var e exported
	deadline := time.Now().Add(20 * time.Second)
	for {
		e = readExport(t, out)
		if len(e.spans) >= 2*(len(cases)+1) && e.metrics[possotel.MetricVerifications] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Collector file has %d spans and metrics %v after 20 s", len(e.spans), keys(e.metrics))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopCollector()
	e = readExport(t, out)

	if !e.services["possession-e2e"] {
		t.Errorf("service.name possession-e2e not exported (saw %v)", e.services)
	}

	servers := map[string]otlpSpan{} // by span ID
	var verifies []otlpSpan
	for _, s := range e.spans {
		switch {
		case s.Kind == spanKindServer:
			servers[s.SpanID] = s
		case s.Name == possotel.SpanVerify:
			verifies = append(verifies, s)
		}
	}
	if len(servers) != len(cases)+1 || len(verifies) != len(cases)+1 {
		t.Fatalf("%d server spans and %d verify spans, want %d of each", len(servers), len(verifies), len(cases)+1)
	}
	byCase := map[string]otlpSpan{}
	for _, vs := range verifies {
		parent, ok := servers[vs.ParentSpanID]
		if !ok || parent.TraceID != vs.TraceID {
			t.Errorf("verify span %s is not a child of an HTTP server span (parent %q)", vs.SpanID, vs.ParentSpanID)
			continue
		}
		if vs.Kind != spanKindInternal || vs.scope != possotel.ScopeName {
			t.Errorf("verify span kind %d scope %q, want internal and %s", vs.Kind, vs.scope, possotel.ScopeName)
		}
		path := attrs(parent.Attributes)["url.path"]
		byCase[strings.TrimPrefix(path, "/orders/")] = vs
	}
	for _, c := range cases {
		vs, ok := byCase[c.name]
		if !ok {
			t.Errorf("%s: no verify span under the server span for /orders/%s", c.name, c.name)
			continue
		}
		a := attrs(vs.Attributes)
		if c.errorType == "" {
			if a[string(possotel.ShopDomainKey)] != c.shop || a[string(possotel.UserIDKey)] != c.user ||
				a[string(possotel.ClientIDKey)] != clientID || a[string(possotel.SessionKindKey)] != "admin" {
				t.Errorf("%s: verify span attributes %v, want shop %s user %s", c.name, a, c.shop, c.user)
			}
			if vs.Status.Code == statusError {
				t.Errorf("%s: status Error on a valid token", c.name)
			}
			continue
		}
		if a[string(possotel.ErrorTypeKey)] != c.errorType || vs.Status.Code != statusError {
			t.Errorf("%s: error.type %q status %d, want %q and Error", c.name, a[string(possotel.ErrorTypeKey)], vs.Status.Code, c.errorType)
		}
		if _, ok := a[string(possotel.ShopDomainKey)]; ok {
			t.Errorf("%s: failed verification carries a shop", c.name)
		}
	}
	if a := attrs(byCase["valid-a-again"].Attributes); a[string(possotel.CacheHitKey)] != "true" {
		t.Errorf("repeated token: cache hit %q, want true", a[string(possotel.CacheHitKey)])
	}

	for _, w := range []struct {
		attrs map[string]string
		want  int64
	}{
		{map[string]string{"possession.outcome": "ok", "possession.session.kind": "admin"}, 3},
		{map[string]string{"possession.outcome": "expired"}, 1},
		{map[string]string{"possession.outcome": "signature"}, 1},
	} {
		if got := e.counter(possotel.MetricVerifications, w.attrs); got != w.want {
			t.Errorf("%s%v = %d, want %d", possotel.MetricVerifications, w.attrs, got, w.want)
		}
	}
	if got := e.counter(possotel.MetricCacheLookups, map[string]string{"possession.cache.hit": "true"}); got != 1 {
		t.Errorf("cache hits = %d, want 1", got)
	}
	for _, name := range []string{possotel.MetricVerificationDuration, possotel.MetricKeyAge, "http.server.request.duration"} {
		if len(e.metrics[name]) == 0 {
			t.Errorf("metric %s not exported (have %v)", name, keys(e.metrics))
		}
	}

	// Nothing the Collector received holds a token or a fragment of one.
	for _, c := range cases {
		for i := 0; i+16 <= len(c.token); i += 4 {
			if strings.Contains(e.raw, c.token[i:i+16]) {
				t.Fatalf("%s: the Collector's file holds a fragment of the token", c.name)
			}
		}
	}
	if strings.Contains(e.raw, secret) {
		t.Fatal("the Collector's file holds the secret")
	}
	t.Logf("Collector file: %d bytes, %d spans, metrics %v", len(e.raw), len(e.spans), keys(e.metrics))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
