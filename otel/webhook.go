package otel

import "go.opentelemetry.io/otel/attribute"

// SpanWebhookDelivery names the one span the webhook middleware starts
// for each delivery it answers.
const SpanWebhookDelivery = "possession.webhook.Deliver"

// Attribute keys of webhook deliveries and signed queries. The values
// come from Shopify's headers, which the body's HMAC does not cover: the
// topic is put on metrics only for deliveries whose HMAC matched, and
// only for a bounded number of distinct topics.
const (
	// WebhookTopicKey is the delivery's topic as sent: "orders/create".
	WebhookTopicKey = attribute.Key("shopify.webhook.topic")
	// WebhookIDKey is the delivery's webhook ID (the deduplication key).
	WebhookIDKey = attribute.Key("shopify.webhook.id")
	// WebhookFamilyKey is the delivery's header family: "classic" or
	// "events".
	WebhookFamilyKey = attribute.Key("shopify.webhook.family")
	// WebhookDuplicateKey tells whether the delivery had been handled
	// before (answered 200 without calling the handler).
	WebhookDuplicateKey = attribute.Key("possession.webhook.duplicate")
	// SignedQueryKindKey is the kind of signed query verified:
	// "app_proxy" or "oauth_callback".
	SignedQueryKindKey = attribute.Key("possession.signed_query.kind")
)

// Metric names of the webhook package.
const (
	// MetricWebhookDeliveries counts answered deliveries (unit
	// {delivery}) by OutcomeKey ("ok", "duplicate", or the error.type
	// value) and, for deliveries whose HMAC matched, WebhookTopicKey.
	MetricWebhookDeliveries = "possession.webhook.deliveries"
	// MetricWebhookDeliveryDuration is a histogram of how long answering
	// a delivery took, in seconds, with the attributes of
	// MetricWebhookDeliveries.
	MetricWebhookDeliveryDuration = "possession.webhook.delivery.duration"
	// MetricSignedQueries counts app proxy and OAuth callback
	// verifications (unit {query}) by SignedQueryKindKey and OutcomeKey.
	MetricSignedQueries = "possession.webhook.signed_queries"
)
