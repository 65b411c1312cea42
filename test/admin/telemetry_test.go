package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

const shop = "admin-telemetry.myshopify.com"

// variableMarker is a variable's value that must reach Shopify and no
// telemetry.
const variableMarker = "variable-value-that-must-not-leak-4f2a9c"

type rig struct {
	t       *testing.T
	fake    *shopifytest.Server
	clock   *shopifytest.SimClock
	tokens  *access.Manager
	client  *admin.Client
	spans   *tracetest.SpanRecorder
	reader  *sdkmetric.ManualReader
	secrets []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	clock := shopifytest.NewSimClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	fake := shopifytest.NewServer(shopifytest.WithClock(clock.Now), shopifytest.WithAdminBucket(100, 10))
	t.Cleanup(fake.Close)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport}

	secret, err := keysource.Static(fake.ClientSecret())
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.New(fake.ClientID(), secret, access.MemoryStore(),
		access.WithShopifyBaseURL(fake.URL), access.WithClock(clock.Now), access.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := sdk.New(secret, sdk.WithClientID(fake.ClientID()), sdk.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	raw := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: shop, Now: clock.Now}.Admin()
	s, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	offline, err := tokens.Offline(context.Background(), s, raw)
	if err != nil {
		t.Fatal(err)
	}

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	client, err := admin.New(tokens, admin.WithAPIVersion("2026-10"), admin.WithShopifyBaseURL(fake.URL), admin.WithClock(clock),
		admin.WithHTTPClient(hc), admin.WithTracerProvider(tp), admin.WithMeterProvider(mp), admin.WithRandom(func() float64 { return 0.5 }))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, fake: fake, clock: clock, tokens: tokens, client: client, spans: spans, reader: reader,
		secrets: []string{fake.ClientSecret(), raw, offline.Value()}}
}

func (r *rig) do(query string, vars any, out any, opts ...admin.CallOption) error {
	var err error
	r.clock.Go(func() { err = r.client.Do(context.Background(), shop, query, vars, out, opts...) })
	r.clock.Wait()
	return err
}

func attrsOf(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// last returns the attributes of the last span, checking its name and
// kind.
func (r *rig) last() (sdktrace.ReadOnlySpan, map[attribute.Key]attribute.Value) {
	r.t.Helper()
	ended := r.spans.Ended()
	if len(ended) == 0 {
		r.t.Fatal("no span")
	}
	s := ended[len(ended)-1]
	if s.Name() != otel.SpanAdminDo || s.SpanKind() != trace.SpanKindClient {
		r.t.Fatalf("span %q of kind %v", s.Name(), s.SpanKind())
	}
	return s, attrsOf(s)
}

func TestTelemetry(t *testing.T) {
	// Registered first, so it runs after the rig's cleanups closed the
	// fake and the connections.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	r := newRig(t)

	// A query: its span carries the shop, the operation, the costs and
	// the budget Shopify reported.
	if err := r.do(`query ShopInfo { shop { name } }`, nil, nil); err != nil {
		t.Fatal(err)
	}
	s, a := r.last()
	want := map[attribute.Key]any{
		otel.ShopDomainKey:             shop,
		otel.GraphQLOperationTypeKey:   "query",
		otel.GraphQLOperationNameKey:   "ShopInfo",
		otel.AdminAPIVersionKey:        "2026-10",
		otel.AdminCostEstimateKey:      1.0,
		otel.AdminCostRequestedKey:     1.0,
		otel.AdminCostActualKey:        1.0,
		otel.AdminBudgetAvailableKey:   99.0,
		otel.AdminBudgetMaximumKey:     100.0,
		otel.AdminBudgetRestoreRateKey: 10.0,
		otel.AdminAttemptsKey:          int64(1),
		otel.AdminRetriesKey:           int64(0),
		otel.AdminThrottledKey:         int64(0),
		otel.AdminPacingWaitKey:        0.0,
		otel.HTTPResponseStatusCodeKey: int64(200),
	}
	for k, v := range want {
		if got := a[k].AsInterface(); got != v {
			t.Errorf("%s = %v (%T), want %v", k, got, got, v)
		}
	}
	if a[otel.ShopifyRequestIDKey].AsString() == "" || s.Status().Code == codes.Error {
		t.Errorf("request id %q, status %v", a[otel.ShopifyRequestIDKey].AsString(), s.Status())
	}

	// Pacing: two 48-node queries need 100 points; 99 are there, so the
	// second waits 0.1 s for its missing point.
	for range 2 {
		if err := r.do(`query Burst { products(first: 48) { nodes { id } } }`, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, a = r.last()
	if w := a[otel.AdminPacingWaitKey].AsFloat64(); w != 0.1 {
		t.Errorf("pacing wait %v s, want 0.1", w)
	}

	// THROTTLED: ten seconds later the bucket is full again, and another
	// consumer takes 60 points behind the client's back; the client's
	// 50-point call is throttled once, waits (50 - 40 + 1) / 10 s and
	// succeeds.
	r.clock.Go(func() { _ = r.clock.Sleep(context.Background(), 10*time.Second) })
	r.clock.Wait()
	drain(t, r, 60)
	if err := r.do(`query Burst { products(first: 48) { nodes { id } } }`, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, a = r.last()
	if a[otel.AdminThrottledKey].AsInt64() != 1 || a[otel.AdminRetriesKey].AsInt64() != 1 || a[otel.AdminAttemptsKey].AsInt64() != 2 || a[otel.AdminRetryWaitKey].AsFloat64() != 1.1 {
		t.Errorf("throttled call: throttled %d retries %d attempts %d retry wait %v", a[otel.AdminThrottledKey].AsInt64(),
			a[otel.AdminRetriesKey].AsInt64(), a[otel.AdminAttemptsKey].AsInt64(), a[otel.AdminRetryWaitKey].AsFloat64())
	}

	// A mutation with userErrors, and a variable value that must not leak.
	err := r.do(`mutation Tag($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { userErrors { field message } } }`,
		map[string]any{"id": "gid://shopify/Order/424242", "tags": []string{variableMarker}}, nil)
	if !errors.Is(err, admin.ErrUserErrors) {
		t.Fatalf("err = %v", err)
	}
	s, a = r.last()
	if s.Status().Code != codes.Error || a[otel.ErrorTypeKey].AsString() != "user_errors" || a[otel.GraphQLOperationTypeKey].AsString() != "mutation" {
		t.Errorf("mutation span: status %v, error.type %q", s.Status(), a[otel.ErrorTypeKey].AsString())
	}
	if last, ok := r.fake.LastRequest(shopifytest.RouteAdminGraphQL); !ok || !bytes.Contains(last.Body, []byte(variableMarker)) {
		t.Fatal("the variable did not reach Shopify")
	}

	// Deprecated use: an event and an attribute.
	if err := r.do(`{ product(id: "gid://shopify/Product/1") { bodyHtml } }`, nil, nil); err != nil {
		t.Fatal(err)
	}
	s, a = r.last()
	if a[otel.AdminDeprecatedReasonKey].AsString() != shopifytest.DeprecationNotice || len(s.Events()) != 1 || s.Events()[0].Name != otel.EventAdminDeprecation {
		t.Errorf("deprecation: %q, events %v", a[otel.AdminDeprecatedReasonKey].AsString(), s.Events())
	}

	// A 401: the Manager refreshes, the call is retried.
	tok, err := r.tokens.OfflineFor(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	r.secrets = append(r.secrets, tok.Value())
	r.fake.RevokeAccessToken(tok.Value())
	if err := r.do(`{ shop { name } }`, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, a = r.last()
	if a[otel.AdminRetriesKey].AsInt64() != 1 || a[otel.AdminAttemptsKey].AsInt64() != 2 {
		t.Errorf("401 call: retries %d attempts %d", a[otel.AdminRetriesKey].AsInt64(), a[otel.AdminAttemptsKey].AsInt64())
	}
	fresh, _ := r.tokens.OfflineFor(context.Background(), shop)
	r.secrets = append(r.secrets, fresh.Value())

	// Metrics.
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	m := metricsByName(rm)
	calls := sumByAttrs(t, m[otel.MetricAdminCalls])
	if calls["possession.outcome=ok,graphql.operation.type=query"] != 6 || calls["possession.outcome=user_errors,graphql.operation.type=mutation"] != 1 {
		t.Errorf("calls %v", calls)
	}
	// 1 + 50 + 50 + 50 + 1 + 1 for the queries; the fake also charged the
	// 60 points of the other consumer.
	if cost := sumByAttrs(t, m[otel.MetricAdminCost]); cost["graphql.operation.type=query"] != 153 || cost["graphql.operation.type=mutation"] != 10 || r.fake.CostSpent(shop) != 153+10+60 {
		t.Errorf("cost used %v, fake charged %d", cost, r.fake.CostSpent(shop))
	}
	if retries := sumByAttrs(t, m[otel.MetricAdminRetries]); retries["possession.admin.retry.reason=throttled"] != 1 || retries["possession.admin.retry.reason=unauthorized"] != 1 {
		t.Errorf("retries %v", retries)
	}
	if th := sumByAttrs(t, m[otel.MetricAdminThrottled]); th[""] != 1 {
		t.Errorf("throttled %v", th)
	}
	waits := countByAttrs(t, m[otel.MetricAdminWait])
	if waits["possession.admin.wait.reason=pacing"] < 1 || waits["possession.admin.wait.reason=throttled"] != 1 {
		t.Errorf("waits %v", waits)
	}
	if d := countByAttrs(t, m[otel.MetricAdminCallDuration]); d["possession.outcome=ok,graphql.operation.type=query"] != 6 {
		t.Errorf("durations %v", d)
	}

	// Nothing exported holds a token, the client secret, a variable's
	// value or (on metrics) the shop.
	r.secrets = append(r.secrets, variableMarker)
	for _, sp := range r.spans.Ended() {
		var texts []string
		for _, kv := range sp.Attributes() {
			texts = append(texts, kv.Value.String())
		}
		for _, e := range sp.Events() {
			for _, kv := range e.Attributes {
				texts = append(texts, kv.Value.String())
			}
		}
		texts = append(texts, sp.Status().Description, sp.Name())
		r.checkNoSecrets("span "+sp.Name(), strings.Join(texts, "\n"))
	}
	dump, _ := json.Marshal(rm)
	r.checkNoSecrets("metrics", string(dump))
	if strings.Contains(string(dump), shop) {
		t.Error("a metric carries the shop")
	}
}

// drain spends points of the shop's bucket with a token of the fake's
// own, as another consumer would.
func drain(t *testing.T, r *rig, points int) {
	t.Helper()
	tok := r.fake.IssueAccessToken(shop, "", 0)
	q := fmt.Sprintf(`{"query":"{ products(first: %d) { nodes { id } } }"}`, points-2)
	req, _ := http.NewRequest(http.MethodPost, r.fake.URL+"/admin/api/2026-10/graphql.json", strings.NewReader(q))
	req.Host = shop
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	http.DefaultClient.CloseIdleConnections()
}

func (r *rig) checkNoSecrets(what, text string) {
	r.t.Helper()
	for _, s := range r.secrets {
		if s != "" && strings.Contains(text, s) {
			r.t.Errorf("%s contains a secret (%d characters)", what, len(s))
		}
	}
}

func metricsByName(rm metricdata.ResourceMetrics) map[string]metricdata.Metrics {
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrKey(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	// outcome first reads better; keep a stable order otherwise.
	for i, p := range parts {
		if strings.HasPrefix(p, "possession.outcome=") && i > 0 {
			parts[0], parts[i] = parts[i], parts[0]
		}
	}
	return strings.Join(parts, ",")
}

func sumByAttrs(t *testing.T, m metricdata.Metrics) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out[attrKey(p.Attributes)] += float64(p.Value)
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			out[attrKey(p.Attributes)] += p.Value
		}
	default:
		t.Errorf("metric %q: unexpected data %T", m.Name, m.Data)
	}
	return out
}

func countByAttrs(t *testing.T, m metricdata.Metrics) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	d, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Errorf("metric %q: unexpected data %T", m.Name, m.Data)
		return out
	}
	for _, p := range d.DataPoints {
		out[attrKey(p.Attributes)] += p.Count
	}
	return out
}
