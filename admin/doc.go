// Package admin calls Shopify's Admin GraphQL API for the shops an app is
// installed on, without being throttled.
//
// # Calls
//
// A Client takes each shop's offline access token from the access
// Manager, and Do sends one GraphQL document with its variables and
// decodes the data into out:
//
//	c, err := admin.New(tokens, admin.WithAPIVersion("2026-10"))
//	...
//	var out struct{ Shop struct{ Name string } }
//	err = c.Do(ctx, "example.myshopify.com", `{ shop { name } }`, nil, &out)
//
// The API version is required (WithAPIVersion): Shopify supports a
// version for twelve months and then answers requests for it with the
// oldest supported one, so a default chosen by this library would change
// what a program's queries mean under it. When Shopify serves another
// version than the one asked for, the client logs it once.
//
// # Pacing
//
// Shopify meters each app and shop with a leaky bucket of cost points
// (GraphQL Admin API rate limits): a query's requested cost, computed by
// Shopify before it runs, must be in the bucket, or Shopify answers
// THROTTLED (HTTP 200) and runs nothing; the bucket refills at the
// shop's restore rate (100 points a second on the Standard plan, up to
// 2000 for enterprise). Every answer reports the bucket in
// extensions.cost.throttleStatus.
//
// The official clients send first and at best react: Shopify's JS client
// retries only HTTP 429 and 503 (reading Retry-After as milliseconds),
// so THROTTLED reaches the app as an error. This client paces itself.
// Each call reserves its estimated requested cost from the shop's Budget
// and waits (cost - available) / restoreRate before it is sent, bounded
// by ctx: a wait that would outlast ctx's deadline is refused at once.
// Every answer's throttleStatus corrects the budget. The first call for a
// shop, when nothing is known, is sent at once and teaches the budget;
// calls that arrive meanwhile wait for its answer.
//
// The estimate of a call's requested cost is the Cost call option if
// given, else the requested cost Shopify reported for the same query text
// before, else a static estimate by Shopify's documented rules
// (scalars 0, objects 1, connections 2 + first × the node's cost,
// mutations 10, at most 1000).
//
// # Sharing a budget across a fleet
//
// A Budget holds what is known of each shop's bucket and the points of
// requests about to be sent. The default, NewMemoryBudget, serves the
// Clients of one process; WithBudget shares another, such as the Redis
// budget in access/redisstore, so that N instances together stay under
// the shop's limit. A Budget that fails leaves the call unpaced (and
// recorded on its span), never failed.
//
// # Recovery
//
//   - THROTTLED: wait (requested - available) / restoreRate, then retry.
//   - 429: wait Retry-After seconds (capped by WithMaxRetryAfter), retry.
//   - 500, 502, 503, 504 and network errors: jittered exponential backoff
//     (0.5 s, 1 s, 2 s, ... ±50%), only for calls safe to send again.
//   - 401: the token source renews the token once (the access Manager
//     refreshes it once across the fleet, or reports that the shop must
//     re-authorize: access.ErrReauthorize), and the call is sent again if
//     it is safe to.
//
// Queries are safe to send again; a mutation is when the caller says so
// with RetrySafe (an idempotent one, such as tagsAdd). The THROTTLED, 429
// and 5xx retries of one call are bounded together by WithMaxRetries.
//
// # Errors
//
// Every error wraps one sentinel of errors.go (errors.Is). GraphQL errors
// come as a *GraphQLError and a mutation's userErrors as a *UserErrors
// (errors.As), with any data still decoded into out; HTTP-level failures
// as a *ResponseError with the status and attempts. Each carries
// Shopify's X-Request-Id for support (RequestID(err)). No error, log
// line or span holds an access token or a variable's value.
//
// X-Shopify-API-Deprecated-Reason is logged once per query (WithLogger)
// and recorded on the span.
//
// # Telemetry
//
// One client span per Do, SpanAdminDo in package otel, with the shop,
// operation type and name, API version, estimated, requested and actual
// cost, the last throttleStatus, attempts, retries, THROTTLED answers and
// the time waited for the budget and before retries. Metrics count calls
// by outcome, cost points used, waits and retries by reason, and THROTTLED
// answers; no shop is a metric attribute. See package otel for the names.
package admin
