package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

const fakeShop = "flow-test.myshopify.com"

// flow is the backend configured for a test-controlled fake of Shopify.
type flow struct {
	app    *app
	fake   *shopifytest.Server
	minter sdktest.Minter
	logs   *syncBuffer
}

func newFlow(t *testing.T, fakeOpts ...shopifytest.Option) *flow {
	t.Helper()
	fake := shopifytest.NewServer(fakeOpts...)
	t.Cleanup(fake.Close)
	t.Setenv("POSBACKEND_FLOW_SECRET", fake.ClientSecret())
	a, _, logs := startApp(t, config{clientID: fake.ClientID(), secretEnv: "POSBACKEND_FLOW_SECRET", shopifyURL: fake.URL})
	return &flow{app: a, fake: fake, logs: logs,
		minter: sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: fakeShop, UserID: "31"}}
}

// call sends method path with a fresh session token and body (JSON).
func (f *flow) call(t *testing.T, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.app.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.minter.Admin())
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, raw, err)
		}
	}
	return r
}

func sale(order int64, at string) transaction {
	t := transaction{TransactionType: "Sale", OrderID: order, ExecutedAt: at,
		GrandTotal: money{11.3, "CAD"}, Subtotal: money{10, "CAD"}, TaxTotal: money{1.3, "CAD"}, LineItemCount: 2}
	t.Key = transactionKey(t)
	return t
}

func TestShopFromAdminAPI(t *testing.T) {
	f := newFlow(t)
	r := f.call(t, "GET", "/api/shop", nil)
	if r.status != 200 || r.body["name"] != "flow-test" || r.body["currencyCode"] != "CAD" || r.body["myshopifyDomain"] != fakeShop {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
	if c := f.fake.GrantCounts(); c.Exchange != 1 {
		t.Fatalf("grants %+v, want one exchange", c)
	}
	// The offline token is reused.
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || f.fake.GrantCounts().Exchange != 1 {
		t.Fatalf("second call: %d, grants %+v", r.status, f.fake.GrantCounts())
	}
	// The shop's grant revoked: the request's session token is exchanged
	// again and the call succeeds.
	f.fake.Revoke(fakeShop)
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || f.fake.GrantCounts().Exchange != 2 {
		t.Fatalf("after revocation: %d %v, grants %+v", r.status, r.body, f.fake.GrantCounts())
	}
	// Uninstalled: nothing to do but say so.
	f.fake.Uninstall(fakeShop)
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 403 || r.body["error"] != "invalid_client" {
		t.Fatalf("uninstalled: %d %v", r.status, r.body)
	}
	if strings.Contains(f.logs.String(), f.fake.ClientSecret()) {
		t.Fatal("the client secret was logged")
	}
}

// TestTransactionsIngestedOnce: a sale tags its order through the Admin
// API once; a repeated delivery, a late one (after another transaction
// of the order) and concurrent ones change nothing.
func TestTransactionsIngestedOnce(t *testing.T) {
	f := newFlow(t)
	order := "gid://shopify/Order/1001"
	first := sale(1001, "2026-12-01T12:00:00Z")
	r := f.call(t, "POST", "/api/transactions", first)
	if r.status != 201 || r.body["status"] != "ingested" || r.body["key"] != first.Key {
		t.Fatalf("first delivery: %d %v", r.status, r.body)
	}
	if got := f.fake.OrderTags(fakeShop, order); !slices.Equal(got, []string{"pos-sale", "possession"}) {
		t.Fatalf("order tags %q", got)
	}
	if r := f.call(t, "POST", "/api/transactions", first); r.status != 200 || r.body["status"] != "duplicate" {
		t.Fatalf("repeat: %d %v", r.status, r.body)
	}
	// A return of the same order, then the sale again, late.
	ret := transaction{TransactionType: "Return", OrderID: 1001, ReturnID: 77, RefundID: 78, ExecutedAt: "2026-12-01T13:00:00Z",
		GrandTotal: money{-11.3, "CAD"}, Subtotal: money{-10, "CAD"}, TaxTotal: money{-1.3, "CAD"}, LineItemCount: 1}
	ret.Key = transactionKey(ret)
	if r := f.call(t, "POST", "/api/transactions", ret); r.status != 201 {
		t.Fatalf("return: %d %v", r.status, r.body)
	}
	if r := f.call(t, "POST", "/api/transactions", first); r.status != 200 || r.body["status"] != "duplicate" {
		t.Fatalf("late repeat: %d %v", r.status, r.body)
	}
	// Eight concurrent deliveries of a new sale: one ingests it.
	s2 := sale(1002, "2026-12-01T14:00:00Z")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i] = f.call(t, "POST", "/api/transactions", s2).status })
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 200, 409:
		default:
			t.Errorf("concurrent delivery answered %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("statuses %v: %d ingested, want 1", statuses, created)
	}
	added := f.fake.TagsAdded(fakeShop)
	if len(added) != 3 {
		t.Fatalf("%d tagsAdd mutations reached Shopify, want 3: %+v", len(added), added)
	}
	if got := f.fake.OrderTags(fakeShop, order); !slices.Equal(got, []string{"pos-return", "pos-sale", "possession"}) {
		t.Fatalf("order tags %q", got)
	}
	list := f.call(t, "GET", "/api/transactions", nil)
	if txs, _ := list.body["transactions"].([]any); len(txs) != 3 {
		t.Fatalf("ledger %v", list.body)
	}
}

func TestTransactionErrors(t *testing.T) {
	f := newFlow(t)
	good := sale(1001, "2026-12-01T12:00:00Z")
	wrongKey := good
	wrongKey.Key = "Sale:1:-:-:-:2026-12-01T12:00:00Z"
	badType := good
	badType.TransactionType = "Refund"
	badType.Key = transactionKey(badType)
	badTime := good
	badTime.ExecutedAt = "yesterday"
	badTime.Key = transactionKey(badTime)
	for _, tt := range []struct {
		name string
		body any
	}{
		{"key does not name the transaction", wrongKey},
		{"unknown type", badType},
		{"bad time", badTime},
		{"not a record", []int{1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := f.call(t, "POST", "/api/transactions", tt.body); r.status != 400 || r.body["error"] != "bad_transaction" {
				t.Fatalf("%d %v", r.status, r.body)
			}
		})
	}
	if n := f.fake.Requests(shopifytest.RouteAdminGraphQL); n != 0 {
		t.Fatalf("%d Admin requests for refused transactions", n)
	}

	// An order Shopify does not know: 502 (the extension keeps it), the
	// claim released; once the order exists, the same delivery ingests.
	missing := sale(555, "2026-12-01T12:00:00Z")
	if r := f.call(t, "POST", "/api/transactions", missing); r.status != 502 || r.body["error"] != "user_errors" {
		t.Fatalf("missing order: %d %v", r.status, r.body)
	}
	f.fake.AddOrder(fakeShop, "gid://shopify/Order/555")
	if r := f.call(t, "POST", "/api/transactions", missing); r.status != 201 {
		t.Fatalf("after the order appeared: %d %v", r.status, r.body)
	}

	// Shopify keeps throttling: 503 with Retry-After.
	f.fake.SetAdminBucket(fakeShop, 5, 1000) // a mutation costs 10
	if r := f.call(t, "POST", "/api/transactions", sale(1003, "2026-12-01T12:00:00Z")); r.status != 503 || r.body["error"] != "throttled" || r.header.Get("Retry-After") == "" {
		t.Fatalf("throttled: %d %v", r.status, r.body)
	}
}
