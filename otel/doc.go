// Package otel holds possession's OpenTelemetry vocabulary: the
// instrumentation scope name and version, the span name, the attribute
// keys and the metric names that the sdk and key sources record. It
// imports only the OpenTelemetry API; to export telemetry, install an
// OpenTelemetry SDK (or use package setup) and pass its providers to
// sdk.WithTracerProvider / sdk.WithMeterProvider, or install them as the
// globals.
//
// # Spans
//
// Each sdk Verifier.Verify call is one span named SpanVerify
// ("possession.Verify"), of kind internal, a child of the span in the
// caller's context (typically the HTTP server span). Attributes are built
// only when the span is sampled. On failure the span's status is Error
// with the error's message (which never contains the token or a secret)
// and error.type holds the sentinel's short name. With no OpenTelemetry
// SDK installed, Verify starts no span and reads no clock at all.
//
// Each access Manager token request to Shopify (all attempts of one grant)
// is one client span, SpanAccessExchange, SpanAccessRefresh or
// SpanAccessMigrate; each store operation on the slow path is a
// SpanAccessStore span; a wait for another holder's fleet-wide lock is a
// SpanAccessLockWait span; the rare check whether Shopify still honours a
// token (after a fenced write) is a SpanAccessCheck client span. A token
// served from the Manager's cache records nothing.
//
// # Attributes
//
//	Key                                          Type    On                   Value
//	shopify.shop.domain                          string  verify span (ok)     shop domain from dest: "example.myshopify.com"
//	user.id                                      string  verify span (ok)     sub (semantic convention); see privacy below
//	user.hash                                    string  verify span (ok)     hex HMAC-SHA256 of sub, with sdk.WithHashedUserID
//	shopify.client_id                            string  verify span (ok)     aud, the app's client ID
//	possession.session.kind                      string  span (ok), metrics   "admin" (admin and POS) or "checkout"
//	possession.key.id                            string  span (ok), key age   ID of the key that matched; never the secret
//	possession.cache.hit                         bool    span (ok), lookups   whether the session came from the cache
//	possession.outcome                           string  metrics              "ok" or the error.type value
//	error.type                                   string  verify span (error)  malformed, algorithm, signature, expired,
//	                                                                          not_yet_valid, audience, issuer, no_keys
//	possession.key_source                        string  key-source telemetry kind of source: "awssm"
//	possession.refresh.outcome                   string  refresh span, metric "updated", "unchanged" or "error"
//	possession.refresh.trigger                   string  refresh span, metric "initial", "interval", "manual", "unknown_signer"
//	possession.access.mode                       string  access spans         "offline" or "online"
//	possession.access.grant                      string  grant span, metrics  "exchange_offline", "exchange_online", "refresh", "migrate"
//	possession.access.store.operation            string  store span, metric   "load", "lock", "unlock", "compare_and_swap", "delete"
//	possession.access.attempts                   int     grant span           requests one grant took, retries included
//	shopify.request_id                           string  grant span           Shopify's X-Request-Id, for support
//	http.response.status_code                    int     grant span           HTTP status of Shopify's last answer
//	shopify.pos.client_reported.shop_id          int     HTTP middleware      UNVERIFIED: reported by the POS client
//	shopify.pos.client_reported.location_id      int     HTTP middleware      UNVERIFIED: reported by the POS client
//	shopify.pos.client_reported.staff_member_id  string  HTTP middleware      UNVERIFIED: reported by the POS client
//	shopify.pos.client_reported.user_id          string  HTTP middleware      UNVERIFIED: reported by the POS client
//
// user.id and error.type follow the OpenTelemetry semantic conventions
// (as does user.hash); the rest are in the shopify.* and possession.*
// namespaces. The client_reported keys say in their name that the values
// are not part of the signed token: only shopify.shop.domain and user.id
// are verified.
//
// Privacy: the user ID is the staff member's (or customer's) Shopify ID.
// sdk.WithHashedUserID records user.hash instead, a keyed hash that still
// correlates one user's requests; sdk.WithoutUserIDTelemetry records
// neither.
//
// # Metrics
//
//	Name                               Instrument       Unit            Attributes
//	possession.verifications           counter          {verification}  possession.outcome, possession.session.kind (ok only)
//	possession.verification.duration   histogram        s               as possession.verifications
//	possession.cache.lookups           counter          {lookup}        possession.cache.hit
//	possession.keysource.refreshes     counter          {refresh}       possession.key_source, possession.refresh.outcome,
//	                                                                    possession.refresh.trigger, error.type (key sources)
//	possession.keysource.key_age       gauge (async)    s               possession.key.id (verifier) or possession.key_source
//	possession.access.grants           counter          {grant}         possession.access.grant, possession.outcome
//	possession.access.grant.duration   histogram        s               as possession.access.grants
//	possession.access.lock_wait.duration histogram      s               possession.outcome ("acquired", "served", "timeout", "error")
//	possession.access.store.duration   histogram        s               possession.access.store.operation, possession.outcome
//	possession.access.tokens.expiring  gauge (async)    {token}         none: stored tokens expiring within the refresh margin
//
// Metric attribute sets are precomputed, so recording a verification
// allocates nothing. Attribute values on metrics come from small fixed
// sets (outcomes, kinds, key IDs): no shop, user or token ever becomes a
// metric label.
//
// # Admin API calls
//
// Each admin Client.Do call is one span, SpanAdminDo
// ("possession.admin.Do"), of kind client, a child of the span in the
// caller's context; every attempt, wait and retry of the call is inside
// it. On failure its status is Error with the error's message (never a
// token or a variable's value) and error.type holds the admin sentinel's
// short name (throttled, unavailable, unauthorized, token, graphql,
// user_errors, response, invalid_shop, invalid_request, canceled). A
// deprecation notice from Shopify adds the event EventAdminDeprecation;
// a failure of the shared budget adds EventAdminBudgetError.
//
//	Key                                    Type    On               Value
//	graphql.operation.type                 string  span, metrics    "query", "mutation", "subscription" or "unknown" (semantic convention)
//	graphql.operation.name                 string  span             the operation's name, when it has one (semantic convention)
//	shopify.admin.api_version              string  span             the version asked for: "2026-10"
//	shopify.admin.served_api_version       string  span             the version Shopify answered with, when it differs
//	shopify.admin.cost.requested           double  span             requestedQueryCost of the last answer
//	shopify.admin.cost.actual              double  span             actualQueryCost of the answer that ran the query
//	possession.admin.cost.estimate         double  span             the cost the client reserved before sending
//	shopify.admin.budget.available         double  span             throttleStatus.currentlyAvailable of the last answer
//	shopify.admin.budget.maximum           double  span             throttleStatus.maximumAvailable
//	shopify.admin.budget.restore_rate      double  span             throttleStatus.restoreRate (points per second)
//	possession.admin.call.attempts         int     span             requests sent
//	possession.admin.call.retries          int     span             of which retries (THROTTLED, 429, 5xx, 401)
//	possession.admin.call.throttled        int     span             THROTTLED answers
//	possession.admin.call.wait.pacing      double  span             seconds waited for the shop's budget
//	possession.admin.call.wait.retry       double  span             seconds waited before retries
//	shopify.admin.deprecated_reason        string  span, event      X-Shopify-API-Deprecated-Reason
//	possession.admin.wait.reason           string  wait metric      "pacing", or the retry reason
//	possession.admin.retry.reason          string  retries metric   "throttled", "rate_limited", "unavailable", "unauthorized"
//
// The span also carries shopify.shop.domain, http.response.status_code
// and shopify.request_id (Shopify's X-Request-Id, for support).
//
//	Name                               Instrument  Unit        Attributes
//	possession.admin.calls             counter     {call}      possession.outcome, graphql.operation.type
//	possession.admin.call.duration     histogram   s           as possession.admin.calls
//	possession.admin.cost.used         counter     {point}     graphql.operation.type (actual cost Shopify charged)
//	possession.admin.wait.duration     histogram   s           possession.admin.wait.reason
//	possession.admin.retries           counter     {retry}     possession.admin.retry.reason
//	possession.admin.throttled         counter     {response}  (none)
//
// No shop becomes a metric attribute.
// # Webhooks
//
// The webhook middleware starts one span per delivery it answers,
// SpanWebhookDelivery ("possession.webhook.Deliver"), of kind internal, a
// child of the HTTP server span. Its attributes are set once the HMAC
// matched (before that, nothing the sender wrote is recorded): topic,
// shop domain, webhook ID, family and whether the delivery was a
// duplicate; then possession.outcome, and error.type on failure. The body
// never reaches telemetry.
//
//	Key                            Type    On                      Value
//	shopify.webhook.topic          string  delivery span, metrics  topic as sent: "orders/create" (metrics: verified only)
//	shopify.webhook.id             string  delivery span           X-Shopify-Webhook-Id, the deduplication key
//	shopify.webhook.family         string  delivery span           "classic" (X-Shopify-*) or "events" (shopify-*)
//	possession.webhook.duplicate   bool    delivery span           handled before: answered 200, handler not called
//	possession.signed_query.kind   string  signed-query metric     "app_proxy" or "oauth_callback"
//
// Outcomes (possession.outcome) of deliveries: "ok", "duplicate", or the
// webhook package's error name: method, header, empty_body,
// body_too_large, read_body, signature, no_keys, stale, in_progress,
// dedupe, timeout, handler, unknown_topic, payload. Of signed queries:
// "ok" or query, missing_param, duplicate_param, timestamp, state,
// signature, no_keys.
//
//	Name                                   Instrument  Unit        Attributes
//	possession.webhook.deliveries          counter     {delivery}  possession.outcome, shopify.webhook.topic (verified only)
//	possession.webhook.delivery.duration   histogram   s           as possession.webhook.deliveries
//	possession.webhook.signed_queries      counter     {query}     possession.signed_query.kind, possession.outcome
//
// The topic comes from an unsigned header; a sender holding one signed
// body could vary it freely, so the metric records at most 128 distinct
// topics per Verifier and "other" beyond.
//
// # Never exported
//
// The token, any part of it, and any secret; for access, no access or
// refresh token and no Shopify error description (free text that could
// echo what was sent). The sdk's leak test verifies
// 1,000 varied tokens with recording providers and scans every exported
// string for them.
package otel
