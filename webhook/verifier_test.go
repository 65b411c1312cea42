package webhook_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/webhook"
)

// bodyWithMAC returns a body whose base64 HMAC contains one of chars, for
// the URL-safe alphabet cases.
func bodyWithMAC(t *testing.T, chars string) string {
	t.Helper()
	for i := range 1000 {
		b := orderBody[:len(orderBody)-1] + `,"n":` + strings.Repeat("1", i%7+1) + string(rune('0'+i%10)) + `}`
		if strings.ContainsAny(signBody(secret, []byte(b)), chars) {
			return b
		}
	}
	t.Fatal("no body found")
	return ""
}

func TestNew(t *testing.T) {
	src := rotatingSource(t)
	cases := []struct {
		name string
		src  keysource.Source
		opts []webhook.Option
		ok   bool
	}{
		{name: "defaults", src: src, ok: true},
		{name: "nil source", src: nil},
		{name: "zero body limit", src: src, opts: []webhook.Option{webhook.WithMaxBodySize(0)}},
		{name: "zero timeout", src: src, opts: []webhook.Option{webhook.WithHandlerTimeout(0)}},
		{name: "timeout at Shopify's 5 s", src: src, opts: []webhook.Option{webhook.WithHandlerTimeout(5 * time.Second)}},
		{name: "timeout just under 5 s", src: src, opts: []webhook.Option{webhook.WithHandlerTimeout(4900 * time.Millisecond)}, ok: true},
		{name: "max age zero", src: src, opts: []webhook.Option{webhook.WithMaxAge(0, webhook.StaleDrop)}},
		{name: "unknown stale policy", src: src, opts: []webhook.Option{webhook.WithMaxAge(time.Hour, webhook.StalePolicy(9))}},
		{name: "max age", src: src, opts: []webhook.Option{webhook.WithMaxAge(time.Hour, webhook.StaleFlag)}, ok: true},
		{name: "nil option ignored", src: src, opts: []webhook.Option{nil}, ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := webhook.New(c.src, c.opts...)
			if c.ok != (err == nil) || (err == nil) != (v != nil) {
				t.Fatalf("New = %v, %v; want ok=%v", v, err, c.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "webhook: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	plusBody := bodyWithMAC(t, "+/")
	type edit func(h http.Header)
	set := func(k, v string) edit { return func(h http.Header) { h[http.CanonicalHeaderKey(k)] = []string{v} } }
	del := func(k string) edit { return func(h http.Header) { h.Del(k) } }
	add := func(k, v string) edit { return func(h http.Header) { h.Add(k, v) } }
	macOf := func(key, body string) string { return signBody(key, []byte(body)) }
	cases := []struct {
		name    string
		body    string
		header  func(string) http.Header
		edits   []edit
		want    error
		family  webhook.Family
		keyID   string
		eventID string
	}{
		{name: "classic", body: orderBody, header: classicHeader, family: webhook.Classic, keyID: "static:current", eventID: "98880550-7158-44d4-b7cd-2c97c8a091b5"},
		{name: "classic without event ID", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-Event-Id")}, family: webhook.Classic, keyID: "static:current"},
		{name: "events", body: orderBody, header: eventsHeader, family: webhook.Events, keyID: "static:current", eventID: "5d3c2b1a-0f9e-4d8c-b7a6-9f8e7d6c5b4a"},
		{name: "previous secret", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", macOf(previous, orderBody))}, family: webhook.Classic, keyID: "static:previous", eventID: "98880550-7158-44d4-b7cd-2c97c8a091b5"},
		{name: "events, previous secret", body: orderBody, header: eventsHeader, edits: []edit{set("shopify-hmac-sha256", macOf(previous, orderBody))}, family: webhook.Events, keyID: "static:previous", eventID: "5d3c2b1a-0f9e-4d8c-b7a6-9f8e7d6c5b4a"},
		{name: "wrong secret", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", macOf(wrongSecret, orderBody))}, want: webhook.ErrSignature},
		{name: "body changed by one byte", body: strings.Replace(orderBody, "598.94", "598.95", 1), header: func(string) http.Header { return classicHeader(orderBody) }, want: webhook.ErrSignature},
		{name: "empty body", body: "", header: classicHeader, want: webhook.ErrEmptyBody},
		{name: "missing HMAC", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-Hmac-Sha256")}, want: webhook.ErrHeader},
		{name: "empty HMAC", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", "")}, want: webhook.ErrHeader},
		{name: "two HMAC headers", body: orderBody, header: classicHeader, edits: []edit{add("X-Shopify-Hmac-Sha256", macOf(secret, orderBody))}, want: webhook.ErrSignature},
		{name: "HMAC without padding", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", strings.TrimRight(macOf(secret, orderBody), "="))}, want: webhook.ErrSignature},
		{name: "HMAC in the URL-safe alphabet", body: plusBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", strings.NewReplacer("+", "-", "/", "_").Replace(macOf(secret, plusBody)))}, want: webhook.ErrSignature},
		{name: "HMAC with a space inside", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", macOf(secret, orderBody)[:20]+" "+macOf(secret, orderBody)[20:])}, want: webhook.ErrSignature},
		{name: "HMAC with a trailing newline", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", macOf(secret, orderBody)+"\n")}, want: webhook.ErrSignature},
		{name: "HMAC in hex", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Hmac-Sha256", strings.Repeat("ab", 32))}, want: webhook.ErrSignature},
		{name: "missing topic", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-Topic")}, want: webhook.ErrHeader},
		{name: "missing shop", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-Shop-Domain")}, want: webhook.ErrHeader},
		{name: "missing API version", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-API-Version")}, want: webhook.ErrHeader},
		{name: "missing webhook ID", body: orderBody, header: classicHeader, edits: []edit{del("X-Shopify-Webhook-Id")}, want: webhook.ErrHeader},
		{name: "empty webhook ID", body: orderBody, header: classicHeader, edits: []edit{set("X-Shopify-Webhook-Id", "")}, want: webhook.ErrHeader},
		{name: "repeated topic", body: orderBody, header: classicHeader, edits: []edit{add("X-Shopify-Topic", "app/uninstalled")}, want: webhook.ErrHeader},
		{name: "events without event ID", body: orderBody, header: eventsHeader, edits: []edit{del("shopify-event-id")}, want: webhook.ErrHeader},
		{name: "events HMAC with classic headers", body: orderBody, header: classicHeader, edits: []edit{set("shopify-hmac-sha256", macOf(secret, orderBody)), del("X-Shopify-Hmac-Sha256")}, want: webhook.ErrHeader},
		{name: "both families: events wins", body: orderBody, header: func(b string) http.Header {
			h := eventsHeader(b)
			for k, v := range classicHeader(b) {
				h[k] = v
			}
			return h
		}, family: webhook.Events, keyID: "static:current", eventID: "5d3c2b1a-0f9e-4d8c-b7a6-9f8e7d6c5b4a"},
		{name: "events HMAC wrong, classic right: events wins", body: orderBody, header: func(b string) http.Header {
			h := classicHeader(b)
			h.Set("shopify-hmac-sha256", macOf(wrongSecret, b))
			return h
		}, want: webhook.ErrSignature},
		{name: "Shopify's spelling in a hand-built header", body: orderBody, header: func(b string) http.Header {
			h := classicHeader(b)
			h["X-Shopify-API-Version"] = h["X-Shopify-Api-Version"]
			delete(h, "X-Shopify-Api-Version")
			return h
		}, family: webhook.Classic, keyID: "static:current", eventID: "98880550-7158-44d4-b7cd-2c97c8a091b5"},
		{name: "one header under two spellings, neither canonical", body: orderBody, header: func(b string) http.Header {
			h := classicHeader(b)
			delete(h, "X-Shopify-Topic")
			h["x-shopify-topic"] = []string{"orders/create"}
			h["X-SHOPIFY-TOPIC"] = []string{"orders/create"}
			return h
		}, want: webhook.ErrHeader},
		{name: "canonical names win over other spellings", body: orderBody, header: func(b string) http.Header {
			h := classicHeader(b)
			h["x-shopify-topic"] = []string{"app/uninstalled"}
			return h
		}, family: webhook.Classic, keyID: "static:current", eventID: "98880550-7158-44d4-b7cd-2c97c8a091b5"},
		{name: "header names not canonicalised", body: orderBody, header: func(b string) http.Header {
			h := http.Header{}
			for k, v := range classicHeader(b) {
				h[strings.ToLower(k)] = v
			}
			return h
		}, family: webhook.Classic, keyID: "static:current", eventID: "98880550-7158-44d4-b7cd-2c97c8a091b5"},
	}
	v := newVerifier(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.header(c.body)
			for _, e := range c.edits {
				e(h)
			}
			d, err := v.Verify(h, []byte(c.body))
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("Verify error = %v, want %v", err, c.want)
				}
				if d.WebhookID != "" || d.Body != nil {
					t.Errorf("Verify returned a delivery with its error: %+v", d)
				}
				if strings.Contains(err.Error(), macOf(secret, c.body)) || strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks the signature or the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if d.Family != c.family || d.KeyID != c.keyID || d.EventID != c.eventID {
				t.Errorf("family %v key %q event %q, want %v %q %q", d.Family, d.KeyID, d.EventID, c.family, c.keyID, c.eventID)
			}
			if d.Topic != "orders/create" || d.Shop != shop || d.APIVersion != "2026-07" || d.WebhookID == "" || string(d.Body) != c.body {
				t.Errorf("delivery %+v", d)
			}
			if d.TriggeredAt.IsZero() || d.Stale {
				t.Errorf("triggered at %v, stale %v", d.TriggeredAt, d.Stale)
			}
		})
	}
}

func TestVerifyMissingHeadersListed(t *testing.T) {
	h := classicHeader(orderBody)
	h.Del("X-Shopify-Topic")
	h.Del("X-Shopify-Webhook-Id")
	h.Add("X-Shopify-Shop-Domain", "other.myshopify.com")
	_, err := newVerifier(t).Verify(h, []byte(orderBody))
	if !errors.Is(err, webhook.ErrHeader) {
		t.Fatal(err)
	}
	for _, want := range []string{"missing X-Shopify-Topic, X-Shopify-Webhook-Id", "repeated X-Shopify-Shop-Domain"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// noKeys is a source that has no usable keys yet.
type noKeys struct{}

func (noKeys) Keyring() *keysource.Keyring { return nil }

func TestVerifyNoKeys(t *testing.T) {
	v, err := webhook.New(noKeys{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(classicHeader(orderBody), []byte(orderBody)); !errors.Is(err, webhook.ErrNoKeys) {
		t.Fatalf("Verify = %v, want ErrNoKeys", err)
	}
}

// A rotation: the source's keyring changes under a live Verifier.
type swapSource struct{ ring *keysource.Keyring }

func (s *swapSource) Keyring() *keysource.Keyring { return s.ring }

func TestVerifyFollowsKeyringChanges(t *testing.T) {
	ring := func(secrets ...string) *keysource.Keyring {
		keys := make([]keysource.Key, len(secrets))
		for i, s := range secrets {
			keys[i] = keysource.Key{ID: "k" + itoa(i), Secret: keysource.NewSecret(s)}
		}
		r, err := keysource.NewKeyring(now, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	src := &swapSource{ring: ring(previous)}
	v, err := webhook.New(src)
	if err != nil {
		t.Fatal(err)
	}
	h := classicHeader(orderBody) // signed with secret
	if _, err := v.Verify(h, []byte(orderBody)); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("before the rotation: %v", err)
	}
	src.ring = ring(secret, previous)
	d, err := v.Verify(h, []byte(orderBody))
	if err != nil || d.KeyID != "k0" {
		t.Fatalf("after the rotation: %v, key %q", err, d.KeyID)
	}
	src.ring = ring(wrongSecret)
	if _, err := v.Verify(h, []byte(orderBody)); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("after the secret is gone: %v", err)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestVerifyStaleness(t *testing.T) {
	cases := []struct {
		name        string
		policy      webhook.StalePolicy
		triggeredAt string
		want        error
		stale       bool
	}{
		{name: "fresh, flag", policy: webhook.StaleFlag, triggeredAt: now.Add(-59 * time.Minute).Format(time.RFC3339Nano)},
		{name: "old, flag", policy: webhook.StaleFlag, triggeredAt: now.Add(-61 * time.Minute).Format(time.RFC3339Nano), stale: true},
		{name: "old, drop", policy: webhook.StaleDrop, triggeredAt: now.Add(-3 * time.Hour).Format(time.RFC3339), want: webhook.ErrStale},
		{name: "future, drop", policy: webhook.StaleDrop, triggeredAt: now.Add(time.Hour).Format(time.RFC3339)},
		{name: "absent, drop", policy: webhook.StaleDrop, triggeredAt: ""},
		{name: "unreadable, drop", policy: webhook.StaleDrop, triggeredAt: "yesterday"},
		{name: "old, no policy", triggeredAt: now.Add(-30 * 24 * time.Hour).Format(time.RFC3339)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []webhook.Option
			if c.policy != 0 {
				opts = append(opts, webhook.WithMaxAge(time.Hour, c.policy))
			}
			v := newVerifier(t, opts...)
			h := classicHeader(orderBody)
			h.Set("X-Shopify-Triggered-At", c.triggeredAt)
			d, err := v.Verify(h, []byte(orderBody))
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			if d.Stale != c.stale {
				t.Errorf("Stale = %v, want %v", d.Stale, c.stale)
			}
			if err == nil && c.triggeredAt != "" && c.triggeredAt != "yesterday" && d.TriggeredAt.IsZero() {
				t.Error("TriggeredAt not read")
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{webhook.Classic.String(), "classic"},
		{webhook.Events.String(), "events"},
		{webhook.Family(0).String(), "unknown"},
		{webhook.StaleFlag.String(), "flag"},
		{webhook.StaleDrop.String(), "drop"},
		{webhook.StalePolicy(0).String(), "unknown"},
		{webhook.ErrorName(nil), ""},
		{webhook.ErrorName(errors.New("x")), "other"},
		{webhook.ErrorName(webhook.ErrTimeout), "timeout"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
