package access_test

import (
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
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/otel"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

const shop = "telemetry-test.myshopify.com"

// secrets collects every token and secret that crossed the wire, from the
// fake's records of the requests (subject tokens, refresh tokens, the
// client secret) and from what the Managers returned.
type secrets map[string]bool

func (s secrets) fromRequest(t *testing.T, fake *shopifytest.Server) {
	t.Helper()
	r, ok := fake.LastRequest(shopifytest.RouteOAuthAccessToken)
	if !ok {
		return
	}
	var body map[string]string
	_ = json.Unmarshal(r.Body, &body)
	for _, k := range []string{"client_secret", "subject_token", "refresh_token"} {
		if v := body[k]; v != "" {
			s[v] = true
		}
	}
}

func (s secrets) check(t *testing.T, what, text string) {
	t.Helper()
	for v := range s {
		if strings.Contains(text, v) || (len(v) > 12 && strings.Contains(text, v[6:])) {
			t.Errorf("%s contains a token or secret: %q", what, text)
		}
	}
}

func TestTelemetry(t *testing.T) {
	defer goleak.VerifyNone(t)

	clock := accesstest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	fake := shopifytest.NewServer(shopifytest.WithClock(clock.Now))
	defer fake.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()

	src, _ := keysource.Static(fake.ClientSecret())
	store := access.MemoryStore()
	m, err := access.New(fake.ClientID(), src, store,
		access.WithShopifyBaseURL(fake.URL),
		access.WithHTTPClient(&http.Client{Transport: transport}),
		access.WithClock(clock.Now),
		access.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
		access.WithTracerProvider(tp),
		access.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	leaked := secrets{fake.ClientSecret(): true}

	// Exchange, refresh, a failing refresh while the token is valid
	// (served), and a failed exchange.
	minter := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: shop, UserID: "42", Now: clock.Now}
	v, _ := sdk.New(src, sdk.WithClientID(fake.ClientID()), sdk.WithClock(clock.Now))
	idToken := minter.Admin()
	leaked[idToken] = true
	sess, err := v.Verify(context.Background(), idToken)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Offline(context.Background(), sess, idToken)
	if err != nil {
		t.Fatal(err)
	}
	leaked[tok.Value()] = true
	leaked.fromRequest(t, fake)

	clock.Advance(time.Hour - time.Minute)
	// The gauge sees the token due.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, rm, otel.MetricAccessTokensExpiring); got != 1 {
		t.Errorf("tokens expiring gauge %d, want 1", got)
	}

	tok2, err := m.OfflineFor(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	leaked[tok2.Value()] = true
	leaked.fromRequest(t, fake)

	clock.Advance(time.Hour - time.Minute)
	fake.Inject(shopifytest.RouteOAuthAccessToken, shopifytest.Fault{Status: 503}, shopifytest.Fault{Status: 503}, shopifytest.Fault{Status: 503}, shopifytest.Fault{Status: 503})
	if _, err := m.OfflineFor(context.Background(), shop); err != nil {
		t.Fatalf("valid token not served during an outage: %v", err)
	}
	leaked.fromRequest(t, fake)

	other := sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: "other-shop.myshopify.com", UserID: "42", Now: clock.Now}
	badID := other.Admin()
	leaked[badID] = true
	otherSess, err := v.Verify(context.Background(), badID)
	if err != nil {
		t.Fatal(err)
	}
	fake.Uninstall("other-shop.myshopify.com")
	_, err = m.Offline(context.Background(), otherSess, badID)
	if !errors.Is(err, access.ErrInvalidClient) {
		t.Fatalf("uninstalled shop: %v", err)
	}
	leaked.check(t, "error", err.Error())

	// A lock wait: another holder has the shop's lock.
	key := access.Key{Shop: shop, Mode: access.Offline}
	lease, err := store.Lock(context.Background(), key, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour) // expired: the caller must wait
	tok3, err := m.OfflineFor(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	_ = lease
	leaked[tok3.Value()] = true
	leaked.fromRequest(t, fake)

	// Spans.
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
		text := s.Name() + " " + s.Status().Description
		for _, a := range s.Attributes() {
			text += fmt.Sprintf(" %s=%s", a.Key, a.Value.String())
		}
		for _, e := range s.Events() {
			text += " " + e.Name
			for _, a := range e.Attributes {
				text += " " + a.Value.String()
			}
		}
		leaked.check(t, "span "+s.Name(), text)
	}
	for _, name := range []string{otel.SpanAccessExchange, otel.SpanAccessRefresh, otel.SpanAccessStore, otel.SpanAccessLockWait} {
		if len(byName[name]) == 0 {
			t.Errorf("no %s span", name)
		}
	}
	exch := byName[otel.SpanAccessExchange]
	if len(exch) != 2 {
		t.Fatalf("%d exchange spans, want 2", len(exch))
	}
	ok, failed := exch[0], exch[1]
	wantAttr(t, ok, otel.ShopDomainKey, shop)
	wantAttr(t, ok, otel.AccessGrantKey, otel.AccessGrantExchangeOffline)
	wantAttr(t, ok, otel.OutcomeKey, "ok")
	wantAttr(t, ok, otel.HTTPResponseStatusCodeKey, "200")
	if !hasAttr(ok, otel.ShopifyRequestIDKey) {
		t.Error("exchange span lacks the request id")
	}
	if failed.Status().Code != codes.Error {
		t.Error("failed exchange span status is not Error")
	}
	wantAttr(t, failed, otel.ErrorTypeKey, "invalid_client")
	wantAttr(t, failed, otel.HTTPResponseStatusCodeKey, "400")
	var outage sdktrace.ReadOnlySpan
	for _, s := range byName[otel.SpanAccessRefresh] {
		if attr(s, otel.OutcomeKey) == "unavailable" {
			outage = s
		}
	}
	if outage == nil {
		t.Fatal("no refresh span with outcome unavailable")
	}
	wantAttr(t, outage, otel.AccessAttemptsKey, fmt.Sprint(access.DefaultMaxAttempts))
	ops := map[string]bool{}
	for _, s := range byName[otel.SpanAccessStore] {
		ops[attr(s, otel.AccessStoreOperationKey)] = true
	}
	for _, op := range []string{"load", "lock", "unlock", "compare_and_swap"} {
		if !ops[op] {
			t.Errorf("no store span for %s", op)
		}
	}
	wantAttr(t, byName[otel.SpanAccessLockWait][0], otel.OutcomeKey, "acquired")

	// Metrics.
	rm = metricdata.ResourceMetrics{}
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	grants := counterByAttrs(t, rm, otel.MetricAccessGrants)
	for k, want := range map[string]int64{
		"exchange_offline/ok":             1,
		"exchange_offline/invalid_client": 1,
		"refresh/ok":                      2,
		"refresh/unavailable":             1,
	} {
		if grants[k] != want {
			t.Errorf("grants %s = %d, want %d (all: %v)", k, grants[k], want, grants)
		}
	}
	for _, name := range []string{otel.MetricAccessGrantDuration, otel.MetricAccessLockWait, otel.MetricAccessStoreDuration} {
		if histogramCount(t, rm, name) == 0 {
			t.Errorf("no %s recordings", name)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			leaked.check(t, "metric "+md.Name, fmt.Sprintf("%+v", md.Data))
		}
	}
}

func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return a.Value.String()
		}
	}
	return ""
}

func hasAttr(s sdktrace.ReadOnlySpan, k attribute.Key) bool {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return true
		}
	}
	return false
}

func wantAttr(t *testing.T, s sdktrace.ReadOnlySpan, k attribute.Key, want string) {
	t.Helper()
	if got := attr(s, k); got != want {
		t.Errorf("span %s: %s = %q, want %q", s.Name(), k, got, want)
	}
}

func find(rm metricdata.ResourceMetrics, name string) *metricdata.Metrics {
	for _, sm := range rm.ScopeMetrics {
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

func gaugeValue(t *testing.T, rm metricdata.ResourceMetrics, name string) int64 {
	t.Helper()
	md := find(rm, name)
	if md == nil {
		t.Fatalf("no metric %s", name)
	}
	g, ok := md.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) != 1 {
		t.Fatalf("%s is %T with %v", name, md.Data, md.Data)
	}
	return g.DataPoints[0].Value
}

func counterByAttrs(t *testing.T, rm metricdata.ResourceMetrics, name string) map[string]int64 {
	t.Helper()
	md := find(rm, name)
	if md == nil {
		t.Fatalf("no metric %s", name)
	}
	sum, ok := md.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T", name, md.Data)
	}
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		g, _ := dp.Attributes.Value(otel.AccessGrantKey)
		o, _ := dp.Attributes.Value(otel.OutcomeKey)
		out[g.AsString()+"/"+o.AsString()] += dp.Value
	}
	return out
}

func histogramCount(t *testing.T, rm metricdata.ResourceMetrics, name string) uint64 {
	t.Helper()
	md := find(rm, name)
	if md == nil {
		return 0
	}
	h, ok := md.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s is %T", name, md.Data)
	}
	var n uint64
	for _, dp := range h.DataPoints {
		n += dp.Count
	}
	return n
}
