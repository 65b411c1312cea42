// Package webhook trusts what Shopify sends an app's backend: webhook
// deliveries, app proxy requests and OAuth callbacks, all signed with the
// app's client secret. One Verifier, made with New from a key source that
// serves the secret (and, during a rotation, the previous one), checks all
// three.
//
// # Webhook deliveries
//
// Shopify signs a delivery's raw body: the HMAC header holds
// base64(HMAC-SHA256(client secret, body)). Verifier.Middleware reads the
// body, up to WithMaxBodySize (4 MiB by default) and before anything is
// parsed, compares the HMAC in constant time with each of the source's
// keys in order, and hands the handler a Delivery: topic, shop, API
// version, webhook ID, event ID, triggered-at time, the body, and which of
// the two header families it came with (the classic X-Shopify-* headers,
// or the events family's lower-case shopify-* ones). What it cannot
// accept it answers itself, as Shopify expects: 405 for a method other
// than POST, 413 for a body over the limit, 400 for a missing header or
// body, 401 for an HMAC that matches no key. Every error answer wraps a
// sentinel (ErrSignature, ErrHeader, ...) and reaches WithOnError.
//
// A Router dispatches verified deliveries by topic to Handlers; a Handler
// returns nil when it handled the delivery (200) and an error when it did
// not (non-2xx, so Shopify retries). Shopify waits about 5 seconds for an
// answer; the handler's context ends after WithHandlerTimeout (4 s by
// default), and a handler still running then gets its delivery answered
// 503. Long work belongs on a queue.
//
// Verifier.Verify is the same check for code that has the header and body
// in hand (a queue consumer, a serverless adapter). It allocates nothing.
//
// Only the body is signed. The topic, shop and ID headers are what the
// sender says they are: someone holding one genuine delivery can replay
// its body with other headers. The ready handlers below therefore take
// the shop from the signed body and refuse a body naming another shop
// than the header; handlers of other topics that act on a shop should do
// the same.
//
// # Exactly once
//
// Shopify delivers at least once: a delivery that is not answered 2xx in
// time is retried up to 8 times over 4 hours with the same payload and
// webhook ID, and one event can reach several instances of a fleet at
// once. WithDeduper makes the middleware handle each webhook ID once,
// through a Deduper the instances share (the access stores implement it:
// access.MemoryStore in one process, SQLite, Redis or PostgreSQL across a
// fleet):
//
//   - before calling the handler, the middleware claims the delivery for
//     the handler timeout plus 10 s;
//   - a delivery already handled is answered 200 without calling the
//     handler;
//   - one claimed by a live holder (the same webhook arriving at another
//     instance while the first still works on it) is answered 503, and
//     Shopify's next retry finds it handled;
//   - when the handler fails, the claim is released and the answer is
//     non-2xx, so that Shopify's retry is handled;
//   - when it succeeds, the delivery is recorded as done for
//     DedupeRetention (6 hours: Shopify's 4-hour retry window and a
//     margin) before the 200 is written.
//
// A process that dies while handling leaves a claim that ends by itself
// with its lease, so the next retry is handled. What cannot be made
// exactly once is a handler whose effects land and whose process then
// dies before recording the delivery as done: make handlers idempotent
// where their effects allow it, the deduplication then keeps the rest from
// running twice. Package webhooktest checks a Deduper's contract and runs
// the exactly-once scenario against it (1,000 webhooks, each delivered 3
// times concurrently to 4 instances).
//
// # Late deliveries
//
// A retry carries the event's original X-Shopify-Triggered-At, which
// Delivery.TriggeredAt exposes. WithMaxAge bounds how old a delivery may
// be: StaleFlag hands older ones to the handler with Delivery.Stale set,
// StaleDrop answers them 200 unhandled (reported as ErrStale).
//
// # Compliance topics and uninstall
//
// Every App Store app must answer customers/data_request, customers/redact
// and shop/redact, and answer 401 to a delivery whose HMAC is wrong.
// CustomersDataRequest, CustomersRedact and ShopRedact decode the
// payload, check its shop, and call the app's function; the delivery is
// answered 200 only after it returned nil. ShopRedact can also delete the
// shop's tokens. AppUninstalled deletes the uninstalled shop's tokens
// from any TokenDeleter (every access.Store is one), since they no longer
// work.
//
// # App proxy
//
// Shopify forwards storefront requests under the app's proxy path to the
// app, signed: signature is the hex HMAC-SHA256 of the other query
// parameters sorted by key, each written key=value (a repeated key's
// values joined by ","), with nothing between them. Verifier.AppProxy (a
// middleware) and Verifier.VerifyAppProxy check it, require timestamp
// within 90 seconds of now, refuse hmac, shop, signature or timestamp
// given twice (Shopify's rule since 2026-08), and expose the shop and the
// logged-in customer's ID.
//
// # OAuth callback
//
// After the merchant approves an install, Shopify redirects to the app
// with a signed query: hmac is the hex HMAC-SHA256 of the other
// parameters (hmac and signature left out) sorted by key and
// form-encoded, spaces as %20, joined by "&". VerifyOAuthCallback checks
// it, the 90-second timestamp window, and that state is the value the app
// issued.
//
// # Telemetry
//
// Each delivery is one span (package otel's SpanWebhookDelivery) carrying,
// once the HMAC matched, the topic, shop, webhook ID, header family and
// whether it was a duplicate, then the outcome; deliveries are counted
// and timed by topic and outcome, and signed-query checks counted by kind
// and outcome. The body never reaches telemetry, and neither does a
// handler's own error text (spans carry the sentinel's).
package webhook
