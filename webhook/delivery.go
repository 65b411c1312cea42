package webhook

import (
	"net/http"
	"strings"
	"time"
)

// Family tells which set of headers a delivery came with.
type Family uint8

const (
	// Classic deliveries carry X-Shopify-Hmac-Sha256, X-Shopify-Topic,
	// X-Shopify-Shop-Domain, X-Shopify-API-Version, X-Shopify-Webhook-Id
	// and optionally X-Shopify-Event-Id, X-Shopify-Triggered-At.
	Classic Family = iota + 1
	// Events deliveries (Shopify's newer events family) carry the same
	// values in lower-case headers without the X- prefix:
	// shopify-hmac-sha256, shopify-topic, shopify-shop-domain,
	// shopify-api-version, shopify-webhook-id, shopify-event-id (required)
	// and optionally shopify-triggered-at, shopify-handle,
	// shopify-action, shopify-resource-id.
	Events
)

// String returns "classic" or "events".
func (f Family) String() string {
	switch f {
	case Classic:
		return "classic"
	case Events:
		return "events"
	}
	return "unknown"
}

// Delivery is one verified webhook request. Only Body is signed: Shopify's
// HMAC covers the body, not the headers, so Topic, Shop and the IDs are
// what the sender claims. The compliance handlers therefore take the shop
// from the signed body and refuse a body that names another shop.
type Delivery struct {
	// Family is the header set the delivery came with. A request carrying
	// the events family's shopify-hmac-sha256 is read as Events, as
	// Shopify's own library does.
	Family Family
	// Topic is the topic header as sent: "orders/create".
	Topic string
	// Shop is the shop's domain: "example.myshopify.com".
	Shop string
	// APIVersion is the Admin API version of the payload: "2026-07".
	APIVersion string
	// WebhookID identifies the delivery; every retry of it carries the
	// same ID. It is the key the Deduper remembers.
	WebhookID string
	// EventID identifies the event the delivery reports (several
	// subscriptions can deliver one event). Required in the events
	// family, optional in the classic one.
	EventID string
	// TriggeredAt is when the event happened; a retry carries the
	// original time. Zero when the header is absent or not RFC 3339.
	TriggeredAt time.Time
	// Stale is set when WithMaxAge is configured with StaleFlag and
	// TriggeredAt is older than the bound.
	Stale bool
	// KeyID names the key whose HMAC matched: the current secret's, or a
	// previous one's during a rotation. Never the secret.
	KeyID string
	// Body is the raw body, exactly as signed. Shared: do not modify it.
	Body []byte
	// Header is the request's header, for the headers Delivery does not
	// name (X-Shopify-Name, shopify-handle, ...).
	Header http.Header
}

// headerNames is one family's header names, in http.Header's canonical
// form.
type headerNames struct {
	hmac, topic, shop, apiVersion, webhookID, eventID, triggeredAt string
}

var (
	classicHeaders = headerNames{
		hmac:        "X-Shopify-Hmac-Sha256",
		topic:       "X-Shopify-Topic",
		shop:        "X-Shopify-Shop-Domain",
		apiVersion:  "X-Shopify-Api-Version",
		webhookID:   "X-Shopify-Webhook-Id",
		eventID:     "X-Shopify-Event-Id",
		triggeredAt: "X-Shopify-Triggered-At",
	}
	eventsHeaders = headerNames{
		hmac:        "Shopify-Hmac-Sha256",
		topic:       "Shopify-Topic",
		shop:        "Shopify-Shop-Domain",
		apiVersion:  "Shopify-Api-Version",
		webhookID:   "Shopify-Webhook-Id",
		eventID:     "Shopify-Event-Id",
		triggeredAt: "Shopify-Triggered-At",
	}
)

// headerValues returns the values of header key (in canonical form).
// net/http canonicalises header names, so the direct lookup finds them;
// a header built by other code (a serverless adapter) may hold lower-case
// names, which the fallback finds.
func headerValues(h http.Header, key string) []string {
	if v, ok := h[key]; ok {
		return v
	}
	for k, v := range h {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// detectFamily returns the family of the headers: Events when the events
// family's HMAC header is present and not empty, Classic otherwise.
func detectFamily(h http.Header) (Family, *headerNames) {
	if v := headerValues(h, eventsHeaders.hmac); len(v) > 0 && v[0] != "" {
		return Events, &eventsHeaders
	}
	return Classic, &classicHeaders
}

// headerProblem records the required headers that are missing or
// repeated, for one error message.
type headerProblem struct {
	missing, repeated []string
}

// required returns the one non-empty value of header key, or records why
// there is none.
func (p *headerProblem) required(h http.Header, key string) string {
	v := headerValues(h, key)
	switch {
	case len(v) == 0 || v[0] == "":
		p.missing = append(p.missing, key)
		return ""
	case len(v) > 1:
		p.repeated = append(p.repeated, key)
		return ""
	}
	return v[0]
}

func (p *headerProblem) empty() bool { return len(p.missing) == 0 && len(p.repeated) == 0 }

func (p *headerProblem) String() string {
	var b strings.Builder
	if len(p.missing) > 0 {
		b.WriteString("missing ")
		b.WriteString(strings.Join(p.missing, ", "))
	}
	if len(p.repeated) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("repeated ")
		b.WriteString(strings.Join(p.repeated, ", "))
	}
	return b.String()
}

// optional returns the first value of header key, "" if absent.
func optional(h http.Header, key string) string {
	if v := headerValues(h, key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseTriggeredAt reads an RFC 3339 time ("2026-07-01T12:00:00.123Z"),
// the zero time for anything else: the header is informative, and a
// delivery Shopify signed is not refused over it.
func parseTriggeredAt(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
