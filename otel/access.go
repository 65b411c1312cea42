package otel

import "go.opentelemetry.io/otel/attribute"

// Span names of the access Manager: one span per request to Shopify's
// token endpoint (all attempts of one grant), per store operation, per
// wait for another holder's fleet-wide lock, and per check whether
// Shopify honours a token (made only after a fenced write, to reconcile;
// OutcomeKey "honoured", "refused" or "error").
const (
	SpanAccessExchange = "possession.access.exchange"
	SpanAccessRefresh  = "possession.access.refresh"
	SpanAccessMigrate  = "possession.access.migrate"
	SpanAccessStore    = "possession.access.store"
	SpanAccessLockWait = "possession.access.lock_wait"
	SpanAccessCheck    = "possession.access.check"
)

// Attribute keys of access telemetry. Values are shop domains, modes and
// outcomes, never a token.
const (
	// AccessModeKey is "offline" or "online".
	AccessModeKey = attribute.Key("possession.access.mode")
	// AccessGrantKey is the kind of token request: see the AccessGrant*
	// values.
	AccessGrantKey = attribute.Key("possession.access.grant")
	// AccessStoreOperationKey is the store method: "load", "lock",
	// "unlock", "compare_and_swap", "delete", "expiring".
	AccessStoreOperationKey = attribute.Key("possession.access.store.operation")
	// AccessAttemptsKey is how many requests one grant took.
	AccessAttemptsKey = attribute.Key("possession.access.attempts")
	// ShopifyRequestIDKey is Shopify's X-Request-Id, for support.
	ShopifyRequestIDKey = attribute.Key("shopify.request_id")
	// HTTPResponseStatusCodeKey is the HTTP status of Shopify's last
	// answer (semantic convention http.response.status_code).
	HTTPResponseStatusCodeKey = attribute.Key("http.response.status_code")
)

// Values of AccessGrantKey.
const (
	AccessGrantExchangeOffline = "exchange_offline"
	AccessGrantExchangeOnline  = "exchange_online"
	AccessGrantRefresh         = "refresh"
	AccessGrantMigrate         = "migrate"
)

// Metric instrument names of the access Manager.
const (
	// MetricAccessGrants counts token requests to Shopify (unit {grant}),
	// each with all its retries, by AccessGrantKey and OutcomeKey ("ok"
	// or the error.type value): refreshes are the grant "refresh".
	MetricAccessGrants = "possession.access.grants"
	// MetricAccessGrantDuration is a histogram of how long one grant took,
	// retries included, in seconds, with the attributes of
	// MetricAccessGrants.
	MetricAccessGrantDuration = "possession.access.grant.duration"
	// MetricAccessLockWait is a histogram of how long callers waited for
	// another holder of a shop's fleet-wide lock, in seconds, by
	// OutcomeKey: "acquired", "served" (another instance stored a fresh
	// token meanwhile), "timeout", "error".
	MetricAccessLockWait = "possession.access.lock_wait.duration"
	// MetricAccessStoreDuration is a histogram of store operation
	// latency, in seconds, by AccessStoreOperationKey and OutcomeKey ("ok",
	// "not_found", "locked", "conflict", "fenced", "error").
	MetricAccessStoreDuration = "possession.access.store.duration"
	// MetricAccessTokensExpiring is a gauge (unit {token}) of the stored
	// tokens whose access token expires within the refresh margin,
	// already expired ones included (counted up to 1,000 per collection).
	MetricAccessTokensExpiring = "possession.access.tokens.expiring"
)
