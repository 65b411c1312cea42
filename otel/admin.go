package otel

import "go.opentelemetry.io/otel/attribute"

// SpanAdminDo names the one span each admin Client.Do call starts, of kind
// client: every attempt, wait and retry of the call is inside it.
const SpanAdminDo = "possession.admin.Do"

// Attribute keys of Admin API calls. Values are shop domains, operation
// names, costs and counts: never a token, never a variable's value.
const (
	// GraphQLOperationTypeKey is "query", "mutation" or "subscription"
	// (semantic convention graphql.operation.type); "unknown" when the
	// document could not be read.
	GraphQLOperationTypeKey = attribute.Key("graphql.operation.type")
	// GraphQLOperationNameKey is the operation's name (semantic convention
	// graphql.operation.name), absent for anonymous operations.
	GraphQLOperationNameKey = attribute.Key("graphql.operation.name")
	// AdminAPIVersionKey is the Admin API version asked for: "2026-10".
	AdminAPIVersionKey = attribute.Key("shopify.admin.api_version")
	// AdminServedVersionKey is the version Shopify answered with, when it
	// differs from the one asked for (a retired version falls forward).
	AdminServedVersionKey = attribute.Key("shopify.admin.served_api_version")
	// AdminCostRequestedKey is Shopify's requestedQueryCost of the last
	// answer.
	AdminCostRequestedKey = attribute.Key("shopify.admin.cost.requested")
	// AdminCostActualKey is Shopify's actualQueryCost of the answer that
	// ran the query.
	AdminCostActualKey = attribute.Key("shopify.admin.cost.actual")
	// AdminCostEstimateKey is the cost the client reserved before sending.
	AdminCostEstimateKey = attribute.Key("possession.admin.cost.estimate")
	// AdminBudgetAvailableKey, AdminBudgetMaximumKey and
	// AdminBudgetRestoreRateKey are the last answer's throttleStatus
	// (currentlyAvailable, maximumAvailable, restoreRate).
	AdminBudgetAvailableKey   = attribute.Key("shopify.admin.budget.available")
	AdminBudgetMaximumKey     = attribute.Key("shopify.admin.budget.maximum")
	AdminBudgetRestoreRateKey = attribute.Key("shopify.admin.budget.restore_rate")
	// AdminAttemptsKey is how many requests the call sent.
	AdminAttemptsKey = attribute.Key("possession.admin.call.attempts")
	// AdminRetriesKey is how many of them were retries (after THROTTLED,
	// 429, 5xx or a 401).
	AdminRetriesKey = attribute.Key("possession.admin.call.retries")
	// AdminThrottledKey is how many answers were THROTTLED.
	AdminThrottledKey = attribute.Key("possession.admin.call.throttled")
	// AdminPacingWaitKey is how long, in seconds, the call waited for the
	// shop's budget before sending.
	AdminPacingWaitKey = attribute.Key("possession.admin.call.wait.pacing")
	// AdminRetryWaitKey is how long, in seconds, the call waited before
	// retries.
	AdminRetryWaitKey = attribute.Key("possession.admin.call.wait.retry")
	// AdminDeprecatedReasonKey is X-Shopify-API-Deprecated-Reason, when
	// Shopify flagged deprecated use.
	AdminDeprecatedReasonKey = attribute.Key("shopify.admin.deprecated_reason")
	// AdminWaitReasonKey says why a wait happened: see the AdminWait*
	// values.
	AdminWaitReasonKey = attribute.Key("possession.admin.wait.reason")
	// AdminRetryReasonKey says why a call was retried: see the AdminRetry*
	// values.
	AdminRetryReasonKey = attribute.Key("possession.admin.retry.reason")
)

// Values of AdminWaitReasonKey and AdminRetryReasonKey.
const (
	// AdminWaitPacing: the budget did not hold the call's estimated cost.
	AdminWaitPacing = "pacing"
	// AdminRetryThrottled: Shopify answered THROTTLED.
	AdminRetryThrottled = "throttled"
	// AdminRetryRateLimited: Shopify answered 429 (Retry-After).
	AdminRetryRateLimited = "rate_limited"
	// AdminRetryUnavailable: 500/502/503/504 or no answer (backoff).
	AdminRetryUnavailable = "unavailable"
	// AdminRetryUnauthorized: 401, retried once with a renewed token.
	AdminRetryUnauthorized = "unauthorized"
)

// Span event names of Admin API calls.
const (
	// EventAdminDeprecation is added when Shopify flags deprecated use,
	// with AdminDeprecatedReasonKey.
	EventAdminDeprecation = "shopify.admin.deprecation"
	// EventAdminBudgetError is added when the shared budget (WithBudget)
	// failed; the call went on unpaced. exception.message says why.
	EventAdminBudgetError = "possession.admin.budget_error"
)

// Metric instrument names of the admin Client. No shop is a metric
// attribute.
const (
	// MetricAdminCalls counts Do calls (unit {call}) by OutcomeKey ("ok"
	// or the error.type value) and GraphQLOperationTypeKey.
	MetricAdminCalls = "possession.admin.calls"
	// MetricAdminCallDuration is a histogram of how long a Do call took,
	// waits and retries included, in seconds, with the attributes of
	// MetricAdminCalls.
	MetricAdminCallDuration = "possession.admin.call.duration"
	// MetricAdminCost counts the cost points Shopify charged (actual
	// cost; unit {point}) by GraphQLOperationTypeKey.
	MetricAdminCost = "possession.admin.cost.used"
	// MetricAdminWait is a histogram of each wait before a send, in
	// seconds, by AdminWaitReasonKey (pacing, or the retry reason).
	MetricAdminWait = "possession.admin.wait.duration"
	// MetricAdminRetries counts retries (unit {retry}) by
	// AdminRetryReasonKey.
	MetricAdminRetries = "possession.admin.retries"
	// MetricAdminThrottled counts THROTTLED answers (unit {response}).
	MetricAdminThrottled = "possession.admin.throttled"
)
