package main

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/webhook"
)

// POST /webhooks: one endpoint for every topic the app subscribes to in
// shopify.app.toml, as Shopify apps configure it. Deliveries carry an
// HMAC of the body made with the client secret, not a session token, so
// the route is outside the session middleware; webhook's middleware
// checks the HMAC (401 when it matches no key) and handles each webhook
// ID once, through the same store that remembers ingested transactions.

// newWebhookHandler returns the handler of POST /webhooks, verifying
// deliveries with secret (the source the session verifier uses: Shopify
// signs both with the client secret) and deduplicating them in b.store.
func (b *shopifyBackend) newWebhookHandler(secret keysource.Source) (http.Handler, error) {
	v, err := webhook.New(secret,
		webhook.WithDeduper(b.store),
		webhook.WithOnError(func(r *http.Request, d *webhook.Delivery, status int, err error) {
			// A forged or malformed delivery is the sender's problem:
			// debug. A failed handler or store is ours, and Shopify will
			// retry. err never contains the secret or a token.
			level := slog.LevelDebug
			if status >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			if !b.logger.Enabled(r.Context(), level) {
				return
			}
			attrs := []any{"status", status, "detail", err}
			if d != nil { // the HMAC matched: the headers are worth logging
				attrs = append(attrs, "topic", d.Topic, "shop", d.Shop, "webhook_id", d.WebhookID)
			}
			b.logger.Log(r.Context(), level, "webhook delivery refused", attrs...)
		}),
	)
	if err != nil {
		return nil, err
	}
	rt := webhook.NewRouter()
	// The Manager, not the store: it also drops the shop's cached tokens.
	rt.Handle(webhook.TopicAppUninstalled, webhook.AppUninstalled(b.tokens, b.appUninstalled))
	rt.Handle(webhook.TopicShopRedact, webhook.ShopRedact(b.tokens, b.shopRedact))
	rt.Handle(webhook.TopicCustomersDataRequest, webhook.CustomersDataRequest(b.customersDataRequest))
	rt.Handle(webhook.TopicCustomersRedact, webhook.CustomersRedact(b.customersRedact))
	return v.Middleware(rt), nil
}

// appUninstalled runs after the shop's tokens were deleted. The ledger
// stays: shop/redact, 48 hours later, erases it (a merchant who
// reinstalls before then finds it again).
func (b *shopifyBackend) appUninstalled(ctx context.Context, d *webhook.Delivery) error {
	b.logger.Info("app uninstalled; the shop's tokens are deleted", "shop", strings.ToLower(d.Shop))
	return nil
}

// shopRedact erases what the backend keeps of the shop: its ingested
// transactions (in memory here; your app deletes the shop's rows from its
// database). ShopRedact then deletes the shop's tokens, if any are left.
// The store's ingestion claims ("pos-transaction:{shop}:{key}") name only
// a transaction's type, IDs and time; they expire after ingestRetention,
// and the Deduper interface has no way to list them. Erasing them again
// on a retry is harmless.
func (b *shopifyBackend) shopRedact(ctx context.Context, d *webhook.Delivery, req webhook.ShopRedaction) error {
	shop := strings.ToLower(req.ShopDomain)
	b.mu.Lock()
	n := len(b.ledger[shop])
	delete(b.ledger, shop)
	b.mu.Unlock()
	b.logger.Info("shop redacted; its transactions and tokens are erased", "shop", shop, "transactions", n)
	return nil
}

// customersDataRequest: the only customer data the backend keeps is the
// customerId of the transactions POS sent (the ledger holds no names,
// e-mails or phone numbers). A real app sends the merchant those
// transactions; the example logs that the request arrived and how many
// transactions name the customer (never the customer's e-mail or phone).
func (b *shopifyBackend) customersDataRequest(ctx context.Context, d *webhook.Delivery, req webhook.DataRequest) error {
	shop := strings.ToLower(req.ShopDomain)
	b.mu.Lock()
	n := 0
	for _, t := range b.ledger[shop] {
		if t.CustomerID == req.Customer.ID {
			n++
		}
	}
	b.mu.Unlock()
	b.logger.Info("customer data request received", "shop", shop, "customer_id", req.Customer.ID, "transactions", n)
	return nil
}

// customersRedact removes the customer from the shop's transactions: the
// customerId of every transaction that names them or belongs to one of
// the orders to redact. The amounts and order IDs stay, as the shop's own
// records of its sales.
func (b *shopifyBackend) customersRedact(ctx context.Context, d *webhook.Delivery, req webhook.CustomerRedaction) error {
	shop := strings.ToLower(req.ShopDomain)
	b.mu.Lock()
	n := 0
	for i, t := range b.ledger[shop] {
		if t.CustomerID != 0 && (t.CustomerID == req.Customer.ID || slices.Contains(req.OrdersToRedact, t.OrderID)) {
			b.ledger[shop][i].CustomerID = 0
			n++
		}
	}
	b.mu.Unlock()
	b.logger.Info("customer redacted", "shop", shop, "customer_id", req.Customer.ID, "transactions", n)
	return nil
}
