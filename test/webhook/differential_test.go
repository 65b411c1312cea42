package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/webhook"
)

const (
	secret      = "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"
	previous    = "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"
	wrongSecret = "shpss_00000000000000000000000000000000"
	shop        = "example-shop.myshopify.com"
)

// Deliberate differences between webhook and @shopify/shopify-api 13.1.0,
// each with its reason. Every corpus case that differs names one; the
// test checks both sides give exactly the listed results, so a change on
// either side shows.
var deliberate = map[string]string{
	"previous-secret": "signed with the previous client secret during a rotation: webhook tries the key source's previous keys " +
		"(as Shopify's Ruby library does with old_api_secret_key and its Python one with old_client_secret); " +
		"shopify-api 13.1.0 has one apiSecretKey",
	"raw-body-bytes": "the body is not valid UTF-8 or starts with a BOM: webhook signs the raw bytes, which is what Shopify signs; " +
		"the JavaScript library hashes the body after request.text() decoded it (invalid bytes replaced by U+FFFD, the BOM dropped)",
	"repeated-joined": "a repeated app proxy parameter: Shopify signs its values joined by \",\" (its docs; shopify-api's own " +
		"stringifyQueryForAppProxy joins arrays so); the Remix/React Router glue of 13.1.0 builds the query with " +
		"Object.fromEntries, which keeps the last value only, so it rejects Shopify's signature",
	"duplicate-security-param": "hmac, shop, signature or timestamp given twice: refused by webhook, as Shopify requires since 2026-08 " +
		"and shopify-api refuses after 13.1.0 (normalizeQuery, Shopify/shopify-app-js 857c598); 13.1.0 keeps the last value (Remix glue) " +
		"and accepts",
	"timestamp-required": "timestamp missing or not a decimal integer: webhook refuses it; 13.1.0 compares Number(timestamp), " +
		"and NaN passes its window check (fixed after 13.1.0 in Shopify/shopify-app-js d282da5); Number also reads hex and " +
		"surrounding spaces",
	"sort-by-bytes": "keys that differ in case: webhook sorts keys by bytes, as Shopify's Ruby (sort) and Python (sorted) " +
		"libraries do; the JavaScript library sorts with localeCompare, which puts \"alpha\" before \"Zeta\". Shopify's own " +
		"parameters are lower case, so this only decides for keys an app adds to its proxy URL",
	"bad-percent": "a value with a malformed %-escape: webhook refuses the query (400) where URLSearchParams keeps the text " +
		"as is; Shopify never sends one",
	"shop-required": "a signed app proxy query without shop: webhook requires the shop it exposes; the JavaScript library " +
		"checks only the signature",
	"space-%20": "a value with a space: Shopify signs it as %20; 13.1.0 canonicalises with URLSearchParams.toString, which " +
		"writes \"+\" (fixed after 13.1.0, Shopify/shopify-app-js#3102), so it rejects Shopify's signature and accepts a " +
		"\"+\"-signed one",
	"oauth-duplicate": "an OAuth callback parameter given twice: webhook refuses it (Shopify sends each once, and a repeated one " +
		"is read differently by different code); auth.callback keeps the last value",
	"code-required": "an OAuth callback without code: webhook refuses it up front; auth.callback validates the signature and " +
		"fails later, when it exchanges the missing code",
}

func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Categories both sides are reduced to.
const (
	valid         = "valid"
	invalidHMAC   = "invalid_hmac"
	missingHeader = "missing_header"
	missingBody   = "missing_body"
)

func jsCategory(r jsResult) string {
	switch {
	case r.Valid:
		return valid
	case r.Reason == "invalid_hmac":
		return invalidHMAC
	case r.Reason == "missing_hmac" || r.Reason == "missing_headers":
		return missingHeader
	case r.Reason == "missing_body":
		return missingBody
	}
	return "js:" + r.Reason + r.Error
}

func goCategory(status int, err error) string {
	switch {
	case status == http.StatusOK && err == nil:
		return valid
	case errors.Is(err, webhook.ErrSignature):
		return invalidHMAC
	case errors.Is(err, webhook.ErrHeader):
		return missingHeader
	case errors.Is(err, webhook.ErrEmptyBody):
		return missingBody
	}
	return fmt.Sprintf("go:%d %v", status, err)
}

type webhookCase struct {
	name   string
	header [][2]string // header lines as sent, in order
	body   []byte
	want   string // category webhook must give
	diff   string // a key of deliberate; "" when both must agree
	jsWant string // the library's category, for a deliberate difference
}

// classicLines is a classic delivery's headers, signature by key.
func classicLines(key string, body []byte) [][2]string {
	return [][2]string{
		{"X-Shopify-Hmac-Sha256", sign(key, body)},
		{"X-Shopify-Topic", "orders/create"},
		{"X-Shopify-Shop-Domain", shop},
		{"X-Shopify-API-Version", "2026-07"},
		{"X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"},
		{"X-Shopify-Triggered-At", "2026-07-14T09:29:58.123456789Z"},
		{"X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"},
	}
}

func eventsLines(key string, body []byte) [][2]string {
	return [][2]string{
		{"shopify-hmac-sha256", sign(key, body)},
		{"shopify-topic", "orders/create"},
		{"shopify-shop-domain", shop},
		{"shopify-api-version", "2026-07"},
		{"shopify-webhook-id", "0c1f5bd6-3a6c-4bb8-9e05-0d3f2a8f7c11"},
		{"shopify-event-id", "5d3c2b1a-0f9e-4d8c-b7a6-9f8e7d6c5b4a"},
		{"shopify-triggered-at", "2026-07-14T09:29:59Z"},
		{"shopify-handle", "orders-sync"},
	}
}

// replace returns lines with name's value replaced (name matched
// case-insensitively; "" removes the line).
func replace(lines [][2]string, name, value string) [][2]string {
	var out [][2]string
	for _, l := range lines {
		if strings.EqualFold(l[0], name) {
			if value != "" {
				out = append(out, [2]string{l[0], value})
			}
			continue
		}
		out = append(out, l)
	}
	return out
}

func renameAll(lines [][2]string, f func(string) string) [][2]string {
	out := make([][2]string, len(lines))
	for i, l := range lines {
		out[i] = [2]string{f(l[0]), l[1]}
	}
	return out
}

// macWith finds a body whose base64 HMAC contains one of chars.
func macWith(chars string) []byte {
	for i := 0; ; i++ {
		b := fmt.Appendf(nil, `{"id":%d,"total_price":"10.00"}`, 820982911946154508+i)
		if strings.ContainsAny(sign(secret, b), chars) {
			return b
		}
	}
}

func webhookCorpus() []webhookCase {
	order := []byte(`{"id":820982911946154508,"email":"jon@example.com","total_price":"598.94","note":"Ölfarben, 5 × 🎨"}`)
	changed := bytes.Replace(order, []byte("598.94"), []byte("598.95"), 1)
	urlSafe := macWith("+/")
	big := bytes.Repeat([]byte(`{"line_items":[{"sku":"IPOD2008PINK"}]},`), 1<<20/40)
	big = append(append([]byte("["), big[:len(big)-1]...), ']')
	notUTF8 := []byte("{\"note\":\"caf\xe9\"}")
	bom := append([]byte("\xef\xbb\xbf"), order...)
	mac := sign(secret, order)

	both := append(eventsLines(secret, order), classicLines(secret, order)...)
	return []webhookCase{
		{name: "classic", header: classicLines(secret, order), body: order, want: valid},
		{name: "events family", header: eventsLines(secret, order), body: order, want: valid},
		{name: "both families", header: both, body: order, want: valid},
		{name: "body changed by one byte", header: classicLines(secret, order), body: changed, want: invalidHMAC},
		{name: "events, body changed by one byte", header: eventsLines(secret, order), body: changed, want: invalidHMAC},
		{name: "wrong secret", header: classicLines(wrongSecret, order), body: order, want: invalidHMAC},
		{name: "previous secret", header: classicLines(previous, order), body: order, want: valid, diff: "previous-secret", jsWant: invalidHMAC},
		{name: "events, previous secret", header: eventsLines(previous, order), body: order, want: valid, diff: "previous-secret", jsWant: invalidHMAC},
		{name: "empty body signed as empty", header: classicLines(secret, nil), body: nil, want: missingBody},
		{name: "empty body, no HMAC", header: replace(classicLines(secret, nil), "X-Shopify-Hmac-Sha256", ""), body: nil, want: missingBody},
		{name: "header names lower case", header: renameAll(classicLines(secret, order), strings.ToLower), body: order, want: valid},
		{name: "header names upper case", header: renameAll(classicLines(secret, order), strings.ToUpper), body: order, want: valid},
		{name: "Shopify's spelling X-Shopify-Hmac-SHA256", header: renameAll(classicLines(secret, order), func(s string) string {
			return strings.Replace(s, "Hmac-Sha256", "Hmac-SHA256", 1)
		}), body: order, want: valid},
		{name: "events names capitalised", header: renameAll(eventsLines(secret, order), func(s string) string {
			parts := strings.Split(s, "-")
			for i, p := range parts {
				parts[i] = strings.ToUpper(p[:1]) + p[1:]
			}
			return strings.Join(parts, "-")
		}), body: order, want: valid},
		{name: "HMAC without padding", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", strings.TrimRight(mac, "=")), body: order, want: invalidHMAC},
		{name: "HMAC with extra padding", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", mac+"=="), body: order, want: invalidHMAC},
		{name: "HMAC in the URL-safe alphabet", header: replace(classicLines(secret, urlSafe), "X-Shopify-Hmac-Sha256",
			strings.NewReplacer("+", "-", "/", "_").Replace(sign(secret, urlSafe))), body: urlSafe, want: invalidHMAC},
		{name: "HMAC URL-safe without padding", header: replace(classicLines(secret, urlSafe), "X-Shopify-Hmac-Sha256",
			strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(sign(secret, urlSafe)), "=")), body: urlSafe, want: invalidHMAC},
		{name: "HMAC with a space inside", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", mac[:22]+" "+mac[22:]), body: order, want: invalidHMAC},
		{name: "HMAC with a tab inside", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", mac[:22]+"\t"+mac[22:]), body: order, want: invalidHMAC},
		{name: "HMAC with surrounding spaces (trimmed by HTTP)", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", "  "+mac+" "), body: order, want: valid},
		{name: "HMAC in hex", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", fmt.Sprintf("%x", mustDecode(mac))), body: order, want: invalidHMAC},
		{name: "HMAC case flipped", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", swapCase(mac)), body: order, want: invalidHMAC},
		{name: "two HMAC headers", header: append(classicLines(secret, order), [2]string{"X-Shopify-Hmac-Sha256", mac}), body: order, want: invalidHMAC},
		{name: "HMAC missing", header: replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", ""), body: order, want: missingHeader},
		{name: "topic missing", header: replace(classicLines(secret, order), "X-Shopify-Topic", ""), body: order, want: missingHeader},
		{name: "shop missing", header: replace(classicLines(secret, order), "X-Shopify-Shop-Domain", ""), body: order, want: missingHeader},
		{name: "API version missing", header: replace(classicLines(secret, order), "X-Shopify-API-Version", ""), body: order, want: missingHeader},
		{name: "webhook ID missing", header: replace(classicLines(secret, order), "X-Shopify-Webhook-Id", ""), body: order, want: missingHeader},
		{name: "classic without event ID", header: replace(classicLines(secret, order), "X-Shopify-Event-Id", ""), body: order, want: valid},
		{name: "events without event ID", header: replace(eventsLines(secret, order), "shopify-event-id", ""), body: order, want: missingHeader},
		{name: "events HMAC, classic other headers", header: append(replace(classicLines(secret, order), "X-Shopify-Hmac-Sha256", ""),
			[2]string{"shopify-hmac-sha256", mac}), body: order, want: missingHeader},
		{name: "wrong secret and topic missing", header: replace(classicLines(wrongSecret, order), "X-Shopify-Topic", ""), body: order, want: invalidHMAC},
		{name: "1 MiB body", header: classicLines(secret, big), body: big, want: valid},
		{name: "body not UTF-8, signed over its bytes", header: classicLines(secret, notUTF8), body: notUTF8, want: valid, diff: "raw-body-bytes", jsWant: invalidHMAC},
		{name: "body with a BOM, signed over its bytes", header: classicLines(secret, bom), body: bom, want: valid, diff: "raw-body-bytes", jsWant: invalidHMAC},
	}
}

func mustDecode(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 32
		case 'A' <= r && r <= 'Z':
			return r + 32
		}
		return r
	}, s)
}

// send posts body with the header lines as given (names not
// canonicalised, repeated lines kept).
func send(t *testing.T, url string, c webhookCase, id string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.header {
		req.Header[l[0]] = append(req.Header[l[0]], l[1])
	}
	req.Header["X-Case"] = []string{id}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestDifferentialWebhooks sends every case of the corpus, over HTTP, to
// webhook's Middleware and to shopify.webhooks.validate of
// @shopify/shopify-api 13.1.0, and compares the verdicts.
func TestDifferentialWebhooks(t *testing.T) {
	js := startJSReference(t, secret)
	src, err := keysource.Static(secret, previous)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	errs := map[string]error{}
	v, err := webhook.New(src, webhook.WithMaxBodySize(2<<20), webhook.WithOnError(func(r *http.Request, _ *webhook.Delivery, _ int, err error) {
		mu.Lock()
		errs[r.Header.Get("X-Case")] = err
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // delivery IDs webhook read, by case
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		d, _ := webhook.DeliveryFrom(r.Context())
		mu.Lock()
		ids[r.Header.Get("X-Case")] = d.WebhookID
		mu.Unlock()
	})))
	defer srv.Close()

	agreed, differed := 0, 0
	for i, c := range webhookCorpus() {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprint(i)
			resp := send(t, srv.URL, c, id)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			got := goCategory(resp.StatusCode, errs[id])
			mu.Unlock()

			jresp := send(t, js.url, c, id)
			var jr jsResult
			if err := json.NewDecoder(jresp.Body).Decode(&jr); err != nil {
				t.Fatal(err)
			}
			jresp.Body.Close()
			jgot := jsCategory(jr)

			if got != c.want {
				t.Errorf("webhook: %s, want %s", got, c.want)
			}
			if c.diff == "" {
				if jgot != got {
					t.Errorf("disagreement: webhook %s, shopify-api %s %+v", got, jgot, jr)
				}
				mu.Lock()
				wid := ids[id]
				mu.Unlock()
				if got == valid && wid != jr.WebhookID {
					t.Errorf("webhook ID: webhook read %q, shopify-api %q", wid, jr.WebhookID)
				}
				agreed++
				return
			}
			if _, ok := deliberate[c.diff]; !ok {
				t.Fatalf("unlisted difference %q", c.diff)
			}
			if jgot != c.jsWant || jgot == got {
				t.Errorf("deliberate difference %q: shopify-api %s, want %s (webhook %s)", c.diff, jgot, c.jsWant, got)
			}
			differed++
		})
	}
	t.Logf("webhooks: %d cases agree, %d differ deliberately", agreed, differed)
}

// TestSenderAgainstShopifyJS: what shopifytest's sender signs, Shopify's
// own library accepts, in both header families.
func TestSenderAgainstShopifyJS(t *testing.T) {
	js := startJSReference(t, secret)
	sender := shopifytest.NewWebhookSender(secret, shopifytest.WithRetrySchedule())
	defer sender.Close()
	for _, events := range []bool{false, true} {
		wh := sender.Prepare(shopifytest.Webhook{Topic: "orders/create", Shop: shop, Body: []byte(`{"id":820982911946154508}`), Events: events})
		req, err := sender.NewRequest(context.Background(), js.url, wh)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var jr jsResult
		err = json.NewDecoder(resp.Body).Decode(&jr)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		family := map[bool]string{false: "webhooks", true: "events"}[events]
		if !jr.Valid || jr.WebhookType != family || jr.WebhookID != wh.ID || jr.Topic != "ORDERS_CREATE" {
			t.Errorf("events=%v: shopify-api says %+v", events, jr)
		}
	}
}

// TestAppProxyQueryAgainstShopifyJS: shopifytest's app proxy signing is
// what Shopify's own library accepts.
func TestAppProxyQueryAgainstShopifyJS(t *testing.T) {
	js := startJSReference(t, secret)
	now := time.Now()
	q := shopifytest.AppProxyQuery(secret, url.Values{
		"shop": {shop}, "path_prefix": {"/apps/loyalty"}, "logged_in_customer_id": {"6573215908014"}, "q": {"red shoes"},
	}, now)
	for _, kind := range []string{"appProxy", "appProxyQs"} {
		if jr := js.query(t, kind, q, "", now); !jr.Valid {
			t.Errorf("%s: shopify-api rejects shopifytest.AppProxyQuery: %+v", kind, jr)
		}
	}
}
