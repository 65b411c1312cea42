package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/webhook"
)

// deliver sends one attempt of wh (prepared, so that a repeat carries the
// same webhook ID) to the backend's /webhooks and returns the status.
func (f *flow) deliver(t *testing.T, ws *shopifytest.WebhookSender, wh shopifytest.Webhook) int {
	t.Helper()
	req, err := ws.NewRequest(context.Background(), f.app.url+"/webhooks", wh)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// hasOfflineToken tells whether the store holds the shop's offline token.
func (f *flow) hasOfflineToken(t *testing.T) bool {
	t.Helper()
	_, err := f.app.shopify.store.Load(context.Background(), access.Key{Shop: fakeShop, Mode: access.Offline})
	switch {
	case err == nil:
		return true
	case errors.Is(err, access.ErrNotFound):
		return false
	}
	t.Fatal(err)
	return false
}

func uninstalled() shopifytest.Webhook {
	return shopifytest.Webhook{Topic: webhook.TopicAppUninstalled, Shop: fakeShop,
		Body: []byte(`{"id":548380009,"name":"flow-test","myshopify_domain":"` + fakeShop + `"}`)}
}

// TestWebhookAppUninstalled: a signed app/uninstalled deletes the shop's
// token (the next POS request exchanges again); the same delivery again
// is answered 200 without deleting the new one; a delivery signed with
// another secret is refused 401 and changes nothing.
func TestWebhookAppUninstalled(t *testing.T) {
	f := newFlow(t)
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || f.fake.GrantCounts().Exchange != 1 {
		t.Fatalf("first /api/shop: %d, grants %+v", r.status, f.fake.GrantCounts())
	}
	if !f.hasOfflineToken(t) {
		t.Fatal("no offline token stored after the exchange")
	}
	ws := f.fake.WebhookSender()
	t.Cleanup(ws.Close)
	wh := ws.Prepare(uninstalled())
	if got := f.deliver(t, ws, wh); got != 200 {
		t.Fatalf("app/uninstalled answered %d", got)
	}
	if f.hasOfflineToken(t) {
		t.Fatal("the shop's token is still stored after app/uninstalled")
	}
	// The Manager's cache was dropped too: the next request exchanges.
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || f.fake.GrantCounts().Exchange != 2 {
		t.Fatalf("/api/shop after uninstall: %d, grants %+v, want a second exchange", r.status, f.fake.GrantCounts())
	}

	// Shopify's retry of the handled delivery: 200, handler not run (the
	// token exchanged since stays).
	if got := f.deliver(t, ws, wh); got != 200 {
		t.Fatalf("repeated delivery answered %d", got)
	}
	if !f.hasOfflineToken(t) {
		t.Fatal("the repeated delivery ran the handler again: token deleted")
	}

	// Signed with another secret: 401, nothing deleted. A fresh webhook ID,
	// so that deduplication cannot be what answers it.
	forger := shopifytest.NewWebhookSender("shpss_not-the-apps-secret-000000000000")
	t.Cleanup(forger.Close)
	if got := f.deliver(t, forger, forger.Prepare(uninstalled())); got != 401 {
		t.Fatalf("forged delivery answered %d, want 401", got)
	}
	// A genuine body whose header names another shop: refused, and that
	// shop's tokens are not touched.
	other := ws.Prepare(uninstalled())
	other.Shop = "victim.myshopify.com"
	if got := f.deliver(t, ws, other); got != 400 {
		t.Fatalf("delivery with another shop's header answered %d, want 400", got)
	}
	if !f.hasOfflineToken(t) {
		t.Fatal("a refused delivery deleted the token")
	}
	if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || f.fake.GrantCounts().Exchange != 2 {
		t.Fatalf("/api/shop at the end: %d, grants %+v, want no new exchange", r.status, f.fake.GrantCounts())
	}
}

// TestWebhookCompliance: each mandatory compliance topic is answered 200;
// customers/redact removes the customer from the shop's transactions and
// shop/redact erases them and the shop's tokens.
func TestWebhookCompliance(t *testing.T) {
	f := newFlow(t)
	const customer = 207119551
	tx := sale(1001, "2026-12-01T12:00:00Z")
	tx.CustomerID = customer
	if r := f.call(t, "POST", "/api/transactions", tx); r.status != 201 {
		t.Fatalf("sale: %d %v", r.status, r.body)
	}
	ledger := func() []any {
		t.Helper()
		r := f.call(t, "GET", "/api/transactions", nil)
		txs, ok := r.body["transactions"].([]any)
		if r.status != 200 || !ok {
			t.Fatalf("GET /api/transactions: %d %v", r.status, r.body)
		}
		return txs
	}
	if txs := ledger(); len(txs) != 1 || txs[0].(map[string]any)["customerId"] != float64(customer) {
		t.Fatalf("ledger before the compliance webhooks: %v", txs)
	}

	ws := f.fake.WebhookSender()
	t.Cleanup(ws.Close)
	send := func(topic, body string) int {
		t.Helper()
		return f.deliver(t, ws, ws.Prepare(shopifytest.Webhook{Topic: topic, Shop: fakeShop, Body: []byte(body)}))
	}

	if got := send(webhook.TopicCustomersDataRequest, `{"shop_id":954889,"shop_domain":"`+fakeShop+`","orders_requested":[1001],"customer":{"id":207119551,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`); got != 200 {
		t.Fatalf("customers/data_request answered %d", got)
	}
	if txs := ledger(); len(txs) != 1 || txs[0].(map[string]any)["customerId"] != float64(customer) {
		t.Fatalf("a data request changed the ledger: %v", txs)
	}

	if got := send(webhook.TopicCustomersRedact, `{"shop_id":954889,"shop_domain":"`+fakeShop+`","customer":{"id":207119551,"email":"john@example.com","phone":"555-625-1199"},"orders_to_redact":[1001]}`); got != 200 {
		t.Fatalf("customers/redact answered %d", got)
	}
	txs := ledger()
	if len(txs) != 1 {
		t.Fatalf("customers/redact removed the transaction: %v", txs)
	}
	if id, ok := txs[0].(map[string]any)["customerId"]; ok {
		t.Fatalf("customerId %v still in the ledger after customers/redact", id)
	}

	if !f.hasOfflineToken(t) {
		t.Fatal("no offline token before shop/redact")
	}
	if got := send(webhook.TopicShopRedact, `{"shop_id":954889,"shop_domain":"`+fakeShop+`"}`); got != 200 {
		t.Fatalf("shop/redact answered %d", got)
	}
	if f.hasOfflineToken(t) {
		t.Fatal("the shop's token is still stored after shop/redact")
	}
	if txs := ledger(); len(txs) != 0 {
		t.Fatalf("ledger after shop/redact: %v", txs)
	}
}
