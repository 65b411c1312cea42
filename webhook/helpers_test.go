package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/webhook"
)

// Shaped like Shopify client secrets ("shpss_" and 32 hex digits).
const (
	secret      = "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"
	previous    = "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"
	wrongSecret = "shpss_00000000000000000000000000000000"
	shop        = "example-shop.myshopify.com"
)

// now is the fixed time of every test clock.
var now = time.Date(2026, 7, 14, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return now }

func rotatingSource(t testing.TB) keysource.Source {
	t.Helper()
	src, err := keysource.Static(secret, previous)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newVerifier(t testing.TB, opts ...webhook.Option) *webhook.Verifier {
	t.Helper()
	v, err := webhook.New(rotatingSource(t), append([]webhook.Option{webhook.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signBody is Shopify's webhook signature, computed independently of the
// package: base64(HMAC-SHA256(secret, body)).
func signBody(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

const orderBody = `{"id":820982911946154508,"email":"jon@example.com","total_price":"598.94"}`

// classicHeader is a complete classic-family header set for body.
func classicHeader(body string) http.Header {
	h := http.Header{}
	h.Set("X-Shopify-Hmac-Sha256", signBody(secret, []byte(body)))
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("X-Shopify-Shop-Domain", shop)
	h.Set("X-Shopify-API-Version", "2026-07")
	h.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
	h.Set("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5")
	h.Set("X-Shopify-Triggered-At", "2026-07-14T09:29:58.123456789Z")
	return h
}

// eventsHeader is a complete events-family header set for body.
func eventsHeader(body string) http.Header {
	h := http.Header{}
	h.Set("shopify-hmac-sha256", signBody(secret, []byte(body)))
	h.Set("shopify-topic", "orders/create")
	h.Set("shopify-shop-domain", shop)
	h.Set("shopify-api-version", "2026-07")
	h.Set("shopify-webhook-id", "0c1f5bd6-3a6c-4bb8-9e05-0d3f2a8f7c11")
	h.Set("shopify-event-id", "5d3c2b1a-0f9e-4d8c-b7a6-9f8e7d6c5b4a")
	h.Set("shopify-triggered-at", "2026-07-14T09:29:59Z")
	h.Set("shopify-handle", "orders-sync")
	h.Set("shopify-action", "create")
	h.Set("shopify-resource-id", "gid://shopify/Order/820982911946154508")
	return h
}

// signAppProxy signs params as Shopify signs an app proxy query (sorted
// keys, key=value with repeated values joined by ",", nothing between
// pairs, hex HMAC) and returns the raw query with signature added.
func signAppProxy(key string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var msg strings.Builder
	for _, k := range keys {
		msg.WriteString(k + "=" + strings.Join(params[k], ","))
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg.String()))
	q := url.Values{}
	for k, vs := range params {
		q[k] = vs
	}
	q.Set("signature", hex.EncodeToString(m.Sum(nil)))
	return q.Encode()
}

// oauthEscape is the form encoding Shopify signs OAuth queries with,
// derived from url.QueryEscape: QueryEscape leaves A-Z a-z 0-9 - _ . ~
// and writes a space as "+"; URLSearchParams (and so Shopify) leaves *
// and escapes ~, and Shopify writes a space as %20.
func oauthEscape(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "%2A", "*")
	return strings.ReplaceAll(e, "~", "%7E")
}

// signOAuth signs params as Shopify signs an OAuth callback and returns
// the raw query with hmac added.
func signOAuth(key string, params url.Values) string { return signOAuthWith(key, params, oauthEscape) }

// signOAuthPlus signs with "+" for a space, as npm @shopify/shopify-api
// 13.1.0 canonicalises (URLSearchParams.toString): not what Shopify signs.
func signOAuthPlus(key string, params url.Values) string {
	return signOAuthWith(key, params, func(s string) string {
		return strings.ReplaceAll(oauthEscape(s), "%20", "+")
	})
}

func signOAuthWith(key string, params url.Values, escape func(string) string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = escape(k) + "=" + escape(params[k][0])
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(strings.Join(pairs, "&")))
	q := url.Values{}
	for k, vs := range params {
		q[k] = vs
	}
	q.Set("hmac", hex.EncodeToString(m.Sum(nil)))
	return q.Encode()
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
