package webhook

import "errors"

// Sentinel errors. Every error this package returns or reports through
// WithOnError wraps exactly one of them, so callers branch with errors.Is.
// Messages name what was wrong (which header, which parameter) and never
// contain a secret, a signature or a body.
var (
	// ErrMethod: a webhook request that is not a POST (405).
	ErrMethod = errors.New("webhook: method not allowed")
	// ErrHeader: a required Shopify header is missing or empty, or given
	// more than once (400).
	ErrHeader = errors.New("webhook: missing or repeated header")
	// ErrEmptyBody: the request has no body; Shopify always sends one (400).
	ErrEmptyBody = errors.New("webhook: empty body")
	// ErrBodyTooLarge: the body is larger than WithMaxBodySize (413).
	ErrBodyTooLarge = errors.New("webhook: body too large")
	// ErrReadBody: the body could not be read (the sender went away) (400).
	ErrReadBody = errors.New("webhook: body could not be read")
	// ErrSignature: the HMAC (webhook header, app proxy signature or OAuth
	// hmac) matches none of the source's keys (401).
	ErrSignature = errors.New("webhook: invalid signature")
	// ErrNoKeys: the key source has no usable keys (503).
	ErrNoKeys = errors.New("webhook: no keys available")
	// ErrStale: the delivery was triggered longer ago than WithMaxAge
	// allows and the policy is StaleDrop; the middleware answers 200 so
	// that Shopify stops retrying it.
	ErrStale = errors.New("webhook: delivery too old")
	// ErrInProgress: another holder is handling this delivery right now
	// (503, so that Shopify retries later).
	ErrInProgress = errors.New("webhook: delivery being handled elsewhere")
	// ErrDedupe: the Deduper failed; the delivery is not handled, so that
	// it is not handled twice (503, Shopify retries).
	ErrDedupe = errors.New("webhook: deduplication failed")
	// ErrTimeout: the handler did not finish within WithHandlerTimeout
	// (503, Shopify retries; the claim is settled when the handler ends).
	ErrTimeout = errors.New("webhook: handler timed out")
	// ErrHandler: the handler failed (returned an error, answered non-2xx
	// or panicked) (500, Shopify retries).
	ErrHandler = errors.New("webhook: handler failed")
	// ErrUnknownTopic: the Router has no handler for the delivery's topic
	// (404, as Shopify's own library answers).
	ErrUnknownTopic = errors.New("webhook: no handler for topic")
	// ErrPayload: a compliance or lifecycle payload is not the JSON Shopify
	// sends, or names another shop than the delivery's header (400).
	ErrPayload = errors.New("webhook: invalid payload")

	// ErrQuery: an app proxy or OAuth query is malformed (bad
	// percent-encoding, invalid UTF-8, a shop that is not a myshopify.com
	// domain) (400).
	ErrQuery = errors.New("webhook: malformed query")
	// ErrMissingParam: a required query parameter (signature, hmac,
	// timestamp, shop, code, state) is missing or empty (401).
	ErrMissingParam = errors.New("webhook: missing query parameter")
	// ErrDuplicateParam: hmac, shop, signature, timestamp (or, in an
	// OAuth callback, any parameter) appears more than once (400).
	ErrDuplicateParam = errors.New("webhook: duplicated query parameter")
	// ErrTimestamp: the query's timestamp is not a decimal integer or is
	// more than 90 seconds away from now (401).
	ErrTimestamp = errors.New("webhook: timestamp outside the allowed window")
	// ErrState: the OAuth callback's state is not the one the caller
	// issued (401).
	ErrState = errors.New("webhook: OAuth state mismatch")
)

// sentinels pairs every sentinel with its short name: the error.type and
// possession.outcome telemetry values and ErrorName's result.
var sentinels = [...]struct {
	err  error
	name string
}{
	{ErrMethod, "method"},
	{ErrHeader, "header"},
	{ErrEmptyBody, "empty_body"},
	{ErrBodyTooLarge, "body_too_large"},
	{ErrReadBody, "read_body"},
	{ErrSignature, "signature"},
	{ErrNoKeys, "no_keys"},
	{ErrStale, "stale"},
	{ErrInProgress, "in_progress"},
	{ErrDedupe, "dedupe"},
	{ErrTimeout, "timeout"},
	{ErrHandler, "handler"},
	{ErrUnknownTopic, "unknown_topic"},
	{ErrPayload, "payload"},
	{ErrQuery, "query"},
	{ErrMissingParam, "missing_param"},
	{ErrDuplicateParam, "duplicate_param"},
	{ErrTimestamp, "timestamp"},
	{ErrState, "state"},
}

func sentinelIndex(err error) int {
	for i := range sentinels {
		if errors.Is(err, sentinels[i].err) {
			return i
		}
	}
	return -1
}

// ErrorName returns the short, stable name of the sentinel err wraps
// ("signature", "header", ...), "" for nil and "other" for an error of no
// sentinel here. Useful as a metric label or a log field.
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	if i := sentinelIndex(err); i >= 0 {
		return sentinels[i].name
	}
	return "other"
}

// sentinelText returns the message of the sentinel err wraps.
func sentinelText(err error) string {
	if i := sentinelIndex(err); i >= 0 {
		return sentinels[i].err.Error()
	}
	return "webhook: error"
}
