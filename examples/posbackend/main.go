// Command posbackend is the backend a POS UI extension calls: it verifies
// the Shopify session token on every /api request with possession's
// middleware, acts for the shop with the shop's offline token (access:
// exchanged from the session token on first use, refreshed when due, kept
// encrypted in the store), calls the Admin GraphQL API (admin: paced to
// the shop's cost budget), and ingests the transactions the extension's
// background target sends, once each.
//
// The store is a SQLite file by default (-store-path); a fleet of
// instances shares -store redis or -store postgres (-store-url), and with
// Redis the instances also share each shop's Admin API cost budget, so
// that together they stay under Shopify's limit.
//
// Run it with nothing configured to see the whole flow: development mode
// listens on 127.0.0.1:8080 with a random secret and an in-process fake of
// Shopify (shopifytest), and prints curl commands for every endpoint. For
// real use, give it your app's client ID and client secret:
//
//	SHOPIFY_API_SECRET=... posbackend -client-id YOUR_CLIENT_ID -secret-env SHOPIFY_API_SECRET -addr :8080
//	posbackend -client-id YOUR_CLIENT_ID -secret-file /run/secrets/shopify-api-secret
//	posbackend -client-id YOUR_CLIENT_ID -secret-env SHOPIFY_API_SECRET -store redis -store-url redis://10.0.0.5:6379/0
//
// Endpoints:
//
//	GET  /api/session       the verified session as JSON
//	GET  /api/shop          the shop from the Admin API: name, currencyCode, myshopifyDomain
//	POST /api/transactions  a completed POS transaction (the extension's TransactionRecord):
//	                        201 ingested (its order tagged possession and pos-<type>),
//	                        200 duplicate (a repeated or late delivery changes nothing),
//	                        409 while another delivery of it is being ingested
//	GET  /api/transactions  the shop's ingested transactions
//	POST /webhooks          Shopify's webhook deliveries (see below)
//	GET  /healthz           200 when the key source has keys, 503 otherwise
//
// Every /api request needs Authorization: Bearer <session token>. Errors
// say what the extension should do: 401 with
// X-Shopify-Retry-Invalid-Session-Request to retry with a fresh token,
// 403 reauthorize or invalid_client, 503 with Retry-After when Shopify is
// busy or down.
//
// POST /webhooks takes every topic the app subscribes to, signed with the
// client secret (401 when the HMAC matches no key), each webhook ID
// handled once through the store: app/uninstalled deletes the shop's
// tokens; shop/redact erases its ingested transactions and tokens;
// customers/redact removes the customer's ID from the shop's
// transactions, and customers/data_request is logged (a real app sends the
// merchant what it holds). Subscribe to them in the app's shopify.app.toml:
//
//	[webhooks]
//	api_version = "2026-07"
//
//	[[webhooks.subscriptions]]
//	topics = ["app/uninstalled"]
//	compliance_topics = ["customers/data_request", "customers/redact", "shop/redact"]
//	uri = "/webhooks"
//
// (A relative uri is relative to the app's application_url; the full
// https:// URL of the backend works too.)
//
// CORS: browsers at the -allowed-origin origins may call /api (default:
// Shopify's extension origins https://extensions.shopifycdn.com and
// https://cdn.shopify.com). SIGINT or SIGTERM shut it down gracefully.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
