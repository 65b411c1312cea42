package webhooktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/webhook"
)

// The exactly-once scenario: every webhook is delivered Copies times
// concurrently, each copy to another of Instances backends sharing one
// Deduper, with Shopify's retries compressed by timeScale.
const (
	Webhooks  = 1000
	Copies    = 3
	Instances = 4

	// shortWebhooks replaces Webhooks under go test -short.
	shortWebhooks = 200
	// senders bounds the webhooks in flight at once.
	senders = 32
	// timeScale turns Shopify's 4 hours of retries into 1.44 s.
	timeScale = 1e-4

	topic  = "orders/create"
	secret = "webhooktest-client-secret-3f9a1c7e5b2d4068"
)

// errFirstTime is the failure of a handler that fails the first time.
var errFirstTime = errors.New("webhooktest: failing the first attempt on purpose")

// TestExactlyOnce runs the exactly-once scenario against the Deduper
// newDeduper returns (called once per subtest):
//
//   - "each webhook handled once": Webhooks webhooks, each delivered
//     Copies times concurrently to Instances backends (each its own
//     webhook.Verifier, Router and HTTP server, all sharing the Deduper):
//     the handler runs exactly once per webhook, never twice at the same
//     time, and every copy is eventually answered 2xx (a copy that meets a
//     live claim gets 503, and Shopify's retry);
//   - "a failed handler is retried and handled once": the same with a
//     handler that fails the first time it sees each webhook: the failure
//     releases the claim and is answered 500, Shopify's retry (of that
//     copy or another) handles it, and no webhook is handled twice.
//
// Under go test -short it delivers 200 webhooks instead of 1,000.
func TestExactlyOnce(t *testing.T, newDeduper func(t *testing.T) webhook.Deduper) {
	t.Helper()
	n := Webhooks
	if testing.Short() {
		n = shortWebhooks
	}
	t.Run("each webhook handled once", func(t *testing.T) {
		runExactlyOnce(t, newDeduper(t), n, false)
	})
	t.Run("a failed handler is retried and handled once", func(t *testing.T) {
		runExactlyOnce(t, newDeduper(t), n, true)
	})
}

// counts are per webhook ID, across every instance.
type counts struct {
	mu       sync.Mutex
	calls    map[string]int // handler invocations
	handled  map[string]int // invocations that succeeded
	running  map[string]int
	overlaps int // a handler started while another ran for the same ID
}

func (c *counts) handler(failFirst bool) webhook.HandlerFunc {
	return func(ctx context.Context, d *webhook.Delivery) error {
		c.mu.Lock()
		c.calls[d.WebhookID]++
		first := c.calls[d.WebhookID] == 1
		c.running[d.WebhookID]++
		if c.running[d.WebhookID] > 1 {
			c.overlaps++
		}
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.running[d.WebhookID]--
			c.mu.Unlock()
		}()
		// A little work, so that concurrent copies meet a live claim.
		time.Sleep(200 * time.Microsecond)
		if failFirst && first {
			return errFirstTime
		}
		c.mu.Lock()
		c.handled[d.WebhookID]++
		c.mu.Unlock()
		return nil
	}
}

func runExactlyOnce(t *testing.T, dd webhook.Deduper, n int, failFirst bool) {
	c := &counts{calls: map[string]int{}, handled: map[string]int{}, running: map[string]int{}}
	var hookMu sync.Mutex
	hookErrs := map[string]int{} // by error name
	urls := make([]string, Instances)
	for i := range urls {
		src, err := keysource.Static(secret)
		if err != nil {
			t.Fatal(err)
		}
		v, err := webhook.New(src, webhook.WithDeduper(dd),
			webhook.WithOnError(func(_ *http.Request, _ *webhook.Delivery, _ int, err error) {
				hookMu.Lock()
				hookErrs[webhook.ErrorName(err)]++
				hookMu.Unlock()
			}))
		if err != nil {
			t.Fatal(err)
		}
		rt := webhook.NewRouter()
		rt.Handle(topic, c.handler(failFirst))
		srv := httptest.NewServer(v.Middleware(rt))
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}

	sender := shopifytest.NewWebhookSender(secret, shopifytest.WithTimeScale(timeScale))
	t.Cleanup(sender.Close)
	ctx := context.Background()
	ids := make([]string, n)
	results := make([][]shopifytest.DeliveryResult, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				wh := sender.Prepare(shopifytest.Webhook{
					Topic: topic,
					Shop:  fmt.Sprintf("shop-%d.myshopify.com", i%17),
					Body:  fmt.Appendf(nil, `{"id":%d,"note":"webhooktest"}`, int64(820982911946154500)+int64(i)),
				})
				ids[i] = wh.ID
				targets := make([]string, Copies)
				for k := range targets {
					targets[k] = urls[(i+k)%Instances]
				}
				results[i] = sender.Deliver(ctx, wh, targets...)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	undelivered, failed500 := 0, 0
	for i, rs := range results {
		for _, r := range rs {
			if !r.Delivered {
				undelivered++
				if undelivered <= 3 {
					t.Errorf("webhook %d (%s) to %s never answered 2xx: statuses %v", i, ids[i], r.URL, r.Statuses)
				}
			}
			for _, s := range r.Statuses {
				if s == http.StatusInternalServerError {
					failed500++
				}
			}
		}
	}
	if undelivered > 0 {
		t.Errorf("%d of %d copies never answered 2xx", undelivered, n*Copies)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	total, wrong := 0, 0
	for i, id := range ids {
		total += c.handled[id]
		wantCalls := 1
		if failFirst {
			wantCalls = 2
		}
		if c.handled[id] != 1 || c.calls[id] != wantCalls {
			wrong++
			if wrong <= 3 {
				t.Errorf("webhook %d (%s): handled %d times in %d calls, want once in %d", i, id, c.handled[id], c.calls[id], wantCalls)
			}
		}
	}
	if total != n || wrong > 0 {
		t.Errorf("the handler succeeded %d times for %d webhooks (%d webhooks wrong), want exactly %d", total, n, wrong, n)
	}
	if c.overlaps > 0 {
		t.Errorf("a handler started %d times while another ran for the same webhook", c.overlaps)
	}
	if failFirst && failed500 < n {
		t.Errorf("%d attempts answered 500, want at least one per webhook (%d)", failed500, n)
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	t.Logf("%d webhooks x %d copies to %d instances: %d attempts; handled %d; errors reported: %v",
		n, Copies, Instances, sender.Attempts(), total, hookErrs)
}
