package shopifytest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ShopifyRetrySchedule is how long the sender waits before each retry of a
// delivery that was not answered 2xx within the timeout: 8 retries over 4
// hours, as Shopify documents. Shopify does not publish the intervals;
// these double from one minute and add up to 4 hours exactly (1, 2, 4, 8,
// 16, 32, 64 and 113 minutes). Compress them for tests with
// WithTimeScale.
var ShopifyRetrySchedule = []time.Duration{
	1 * time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
	16 * time.Minute, 32 * time.Minute, 64 * time.Minute, 113 * time.Minute,
}

// DefaultDeliveryTimeout is how long Shopify waits for an answer before it
// counts the attempt as failed.
const DefaultDeliveryTimeout = 5 * time.Second

// DefaultWebhookAPIVersion is the API version deliveries carry unless the
// Webhook says otherwise.
const DefaultWebhookAPIVersion = "2026-07"

// Webhook is one event to deliver. Zero fields get Shopify's values when
// delivered: a fresh webhook ID (the same for every attempt and target of
// one Deliver), a fresh event ID, TriggeredAt now, APIVersion
// DefaultWebhookAPIVersion.
type Webhook struct {
	Topic      string // "orders/create"
	Shop       string // "example.myshopify.com"
	APIVersion string
	ID         string // X-Shopify-Webhook-Id
	EventID    string // X-Shopify-Event-Id
	// TriggeredAt is when the event happened; every retry carries it.
	TriggeredAt time.Time
	Body        []byte
	// Events sends the events family's lower-case shopify-* headers
	// instead of the classic X-Shopify-* ones.
	Events bool
	// Header holds extra headers, sent as given (names not
	// canonicalised): for header-case variants and the events family's
	// shopify-handle, shopify-action, shopify-resource-id.
	Header http.Header
}

// WebhookSender delivers signed webhooks as Shopify does: HMAC-SHA256 of
// the raw body with the app's client secret, base64 in the HMAC header,
// POSTed with a 5 s timeout, retried on anything but 2xx on Shopify's
// schedule with the original payload and IDs. It counts attempts.
type WebhookSender struct {
	cfg      webhookConfig
	client   *http.Client
	own      *http.Transport // nil when the client was given
	attempts atomic.Int64
}

// WebhookOption configures a WebhookSender.
type WebhookOption interface{ applyWebhook(*webhookConfig) }

type webhookOptionFunc func(*webhookConfig)

func (f webhookOptionFunc) applyWebhook(c *webhookConfig) { f(c) }

type webhookConfig struct {
	secret   string
	schedule []time.Duration
	scale    float64
	timeout  time.Duration
	client   *http.Client
	now      func() time.Time
}

// WithSigningSecret signs with secret instead of the app's client secret
// (a previous secret during a rotation, a wrong one).
func WithSigningSecret(secret string) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) { c.secret = secret })
}

// WithRetrySchedule replaces ShopifyRetrySchedule: the waits before each
// retry (none: deliver once).
func WithRetrySchedule(waits ...time.Duration) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) { c.schedule = append([]time.Duration(nil), waits...) })
}

// WithTimeScale multiplies every retry wait by scale: 1e-4 turns Shopify's
// 4 hours into 1.44 s. The answer timeout is not scaled.
func WithTimeScale(scale float64) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) { c.scale = scale })
}

// WithDeliveryTimeout sets how long an attempt waits for its answer
// (default DefaultDeliveryTimeout).
func WithDeliveryTimeout(d time.Duration) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) { c.timeout = d })
}

// WithHTTPClient sends with c instead of the sender's own client.
func WithHTTPClient(c *http.Client) WebhookOption {
	return webhookOptionFunc(func(cfg *webhookConfig) { cfg.client = c })
}

// WithWebhookClock sets the clock that stamps TriggeredAt.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return webhookOptionFunc(func(c *webhookConfig) {
		if now != nil {
			c.now = now
		}
	})
}

// WebhookSender returns a sender signing with the fake app's client
// secret and stamping with the server's clock.
func (s *Server) WebhookSender(opts ...WebhookOption) *WebhookSender {
	return NewWebhookSender(s.cfg.clientSecret, append([]WebhookOption{WithWebhookClock(s.cfg.now)}, opts...)...)
}

// NewWebhookSender returns a sender signing with clientSecret. Close
// releases its idle connections.
func NewWebhookSender(clientSecret string, opts ...WebhookOption) *WebhookSender {
	cfg := webhookConfig{
		secret:   clientSecret,
		schedule: ShopifyRetrySchedule,
		scale:    1,
		timeout:  DefaultDeliveryTimeout,
		now:      time.Now,
	}
	for _, o := range opts {
		o.applyWebhook(&cfg)
	}
	ws := &WebhookSender{cfg: cfg, client: cfg.client}
	if ws.client == nil {
		ws.own = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		}
		ws.client = &http.Client{
			Transport: ws.own,
			// Shopify does not follow redirects: a 3xx is a failed attempt.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return ws
}

// Close closes the idle connections of the sender's own client.
func (ws *WebhookSender) Close() {
	if ws.own != nil {
		ws.own.CloseIdleConnections()
	}
}

// Attempts returns how many requests the sender has made.
func (ws *WebhookSender) Attempts() int64 { return ws.attempts.Load() }

// Sign returns base64(HMAC-SHA256(secret, body)), the HMAC header's value.
func (ws *WebhookSender) Sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(ws.cfg.secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Prepare fills wh's zero fields as Deliver does (IDs, time, API version)
// and returns it: to deliver the very same webhook again later, as Shopify
// does when it retries.
func (ws *WebhookSender) Prepare(wh Webhook) Webhook {
	if wh.ID == "" {
		wh.ID = newUUID()
	}
	if wh.EventID == "" {
		wh.EventID = newUUID()
	}
	if wh.TriggeredAt.IsZero() {
		wh.TriggeredAt = ws.cfg.now()
	}
	if wh.APIVersion == "" {
		wh.APIVersion = DefaultWebhookAPIVersion
	}
	return wh
}

// NewRequest returns one signed attempt of wh (prepared: see Prepare) to
// url.
func (ws *WebhookSender) NewRequest(ctx context.Context, url string, wh Webhook) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(wh.Body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	// Shopify's spelling on the wire; set without canonicalisation.
	names := [...]string{"X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Shopify-Shop-Domain",
		"X-Shopify-API-Version", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Triggered-At"}
	if wh.Events {
		names = [...]string{"shopify-hmac-sha256", "shopify-topic", "shopify-shop-domain",
			"shopify-api-version", "shopify-webhook-id", "shopify-event-id", "shopify-triggered-at"}
	}
	values := [...]string{ws.Sign(wh.Body), wh.Topic, wh.Shop, wh.APIVersion, wh.ID, wh.EventID,
		wh.TriggeredAt.UTC().Format(time.RFC3339Nano)}
	for i, name := range names {
		if values[i] != "" {
			h[name] = []string{values[i]}
		}
	}
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{"Shopify-Captain-Hook"}
	for k, v := range wh.Header {
		h[k] = append([]string(nil), v...)
	}
	return req, nil
}

// DeliveryResult is what happened to one Deliver target.
type DeliveryResult struct {
	URL string
	// Statuses has one entry per attempt: the HTTP status, or 0 when the
	// attempt got no answer within the timeout (or could not connect).
	Statuses []int
	// Delivered tells whether an attempt was answered 2xx.
	Delivered bool
}

// Deliver prepares wh and delivers it to every url concurrently, each
// target with its own retries, and returns when every target answered 2xx
// or ran out of retries (or ctx ended). Every attempt to every target
// carries the same payload, webhook ID and event ID, as Shopify's do when
// one event is delivered to several instances.
func (ws *WebhookSender) Deliver(ctx context.Context, wh Webhook, urls ...string) []DeliveryResult {
	wh = ws.Prepare(wh)
	results := make([]DeliveryResult, len(urls))
	var wg sync.WaitGroup
	for i, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = ws.deliverOne(ctx, wh, url)
		}()
	}
	wg.Wait()
	return results
}

func (ws *WebhookSender) deliverOne(ctx context.Context, wh Webhook, url string) DeliveryResult {
	res := DeliveryResult{URL: url}
	for attempt := 0; ; attempt++ {
		status := ws.attempt(ctx, url, wh)
		res.Statuses = append(res.Statuses, status)
		if status >= 200 && status <= 299 {
			res.Delivered = true
			return res
		}
		if attempt >= len(ws.cfg.schedule) {
			return res
		}
		wait := time.Duration(float64(ws.cfg.schedule[attempt]) * ws.cfg.scale)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return res
		}
	}
}

// attempt makes one request and returns its status, 0 for no answer.
func (ws *WebhookSender) attempt(ctx context.Context, url string, wh Webhook) int {
	ws.attempts.Add(1)
	ctx, cancel := context.WithTimeout(ctx, ws.cfg.timeout)
	defer cancel()
	req, err := ws.NewRequest(ctx, url, wh)
	if err != nil {
		return 0
	}
	resp, err := ws.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var discard [512]byte
	for {
		if _, err := resp.Body.Read(discard[:]); err != nil {
			break
		}
	}
	return resp.StatusCode
}

// newUUID returns a random (version 4) UUID, the shape of Shopify's
// webhook and event IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}
