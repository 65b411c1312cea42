package shopifytest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/shopifytest"
	"github.com/possession-dev/possession/webhook"
)

// seen records what a backend received.
type seen struct {
	mu       sync.Mutex
	ids      map[string]bool
	bodies   map[string]bool
	times    []time.Time
	statuses []int // to answer, in order; then 200
}

func (s *seen) handler(t *testing.T, v *webhook.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d, err := v.Verify(r.Header, body)
		if err != nil {
			t.Errorf("the sender's delivery does not verify: %v", err)
		}
		s.mu.Lock()
		s.ids[d.WebhookID+"|"+d.EventID+"|"+d.TriggeredAt.String()] = true
		s.bodies[string(body)] = true
		s.times = append(s.times, time.Now())
		status := 200
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		w.WriteHeader(status)
	})
}

func newSeen(statuses ...int) *seen {
	return &seen{ids: map[string]bool{}, bodies: map[string]bool{}, statuses: statuses}
}

func TestWebhookSenderSignsBothFamilies(t *testing.T) {
	srv := shopifytest.NewServer()
	defer srv.Close()
	src, err := keysource.Static(srv.ClientSecret())
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.New(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, events := range []bool{false, true} {
		s := newSeen()
		backend := httptest.NewServer(s.handler(t, v))
		sender := srv.WebhookSender()
		res := sender.Deliver(context.Background(), shopifytest.Webhook{
			Topic: "orders/create", Shop: "a.myshopify.com", Body: []byte(`{"id":1}`), Events: events,
		}, backend.URL)
		backend.Close()
		sender.Close()
		if !res[0].Delivered || len(res[0].Statuses) != 1 || sender.Attempts() != 1 {
			t.Errorf("events=%v: %+v, %d attempts", events, res, sender.Attempts())
		}
	}
}

func TestWebhookSenderRetries(t *testing.T) {
	secret := "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"
	src, _ := keysource.Static(secret)
	v, _ := webhook.New(src)
	cases := []struct {
		name      string
		statuses  []int
		attempts  int
		delivered bool
	}{
		{"2xx at once", nil, 1, true},
		{"201 counts as delivered", []int{201}, 1, true},
		{"two failures then 200", []int{500, 503}, 3, true},
		{"4xx is retried too", []int{401, 404}, 3, true},
		{"redirect is a failure, not followed", []int{307}, 2, true},
		{"never 2xx: 1 try and 8 retries", []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500}, 9, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSeen(c.statuses...)
			backend := httptest.NewServer(s.handler(t, v))
			defer backend.Close()
			// 1e-5: the 4 hours of retries take 144 ms.
			sender := shopifytest.NewWebhookSender(secret, shopifytest.WithTimeScale(1e-5))
			defer sender.Close()
			start := time.Now()
			res := sender.Deliver(context.Background(), shopifytest.Webhook{Topic: "orders/create", Shop: "a.myshopify.com", Body: []byte(`{"id":2}`)}, backend.URL)
			if got := len(res[0].Statuses); got != c.attempts || int(sender.Attempts()) != c.attempts || res[0].Delivered != c.delivered {
				t.Fatalf("%d attempts (%d counted), delivered %v: %v; want %d, %v", got, sender.Attempts(), res[0].Delivered, res[0].Statuses, c.attempts, c.delivered)
			}
			if len(s.ids) != 1 || len(s.bodies) != 1 {
				t.Errorf("retries changed the payload or IDs: %d ID sets, %d bodies", len(s.ids), len(s.bodies))
			}
			// The waits follow Shopify's schedule, scaled.
			var want time.Duration
			for i := 0; i < c.attempts-1; i++ {
				want += time.Duration(float64(shopifytest.ShopifyRetrySchedule[i]) * 1e-5)
			}
			if el := time.Since(start); el < want {
				t.Errorf("%d attempts took %v, less than the scaled schedule %v", c.attempts, el, want)
			}
		})
	}
}

func TestShopifyRetryScheduleIsEightRetriesOverFourHours(t *testing.T) {
	var sum time.Duration
	for _, d := range shopifytest.ShopifyRetrySchedule {
		sum += d
	}
	if len(shopifytest.ShopifyRetrySchedule) != 8 || sum != 4*time.Hour {
		t.Fatalf("%d retries over %v", len(shopifytest.ShopifyRetrySchedule), sum)
	}
}

func TestWebhookSenderTimeoutIsAFailure(t *testing.T) {
	secret := "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"
	var calls atomic.Int32
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer backend.Close()
	defer close(release)
	sender := shopifytest.NewWebhookSender(secret, shopifytest.WithDeliveryTimeout(50*time.Millisecond), shopifytest.WithTimeScale(1e-5))
	defer sender.Close()
	res := sender.Deliver(context.Background(), shopifytest.Webhook{Topic: "t", Shop: "a.myshopify.com", Body: []byte("{}")}, backend.URL)
	if len(res[0].Statuses) != 2 || res[0].Statuses[0] != 0 || !res[0].Delivered {
		t.Fatalf("statuses %v", res[0].Statuses)
	}
}

func TestWebhookSenderDeliversToSeveralConcurrently(t *testing.T) {
	secret := "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"
	var inFlight, most atomic.Int32
	arrived := make(chan struct{}, 4)
	gate := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-gate
		inFlight.Add(-1)
	}))
	defer backend.Close()
	sender := shopifytest.NewWebhookSender(secret)
	defer sender.Close()
	go func() {
		for range 4 {
			<-arrived
		}
		close(gate) // all four were in flight at once
	}()
	res := sender.Deliver(context.Background(), shopifytest.Webhook{Topic: "t", Shop: "a.myshopify.com", Body: []byte("{}")},
		backend.URL+"/1", backend.URL+"/2", backend.URL+"/3", backend.URL+"/4")
	if most.Load() != 4 || len(res) != 4 {
		t.Fatalf("at most %d in flight, %d results", most.Load(), len(res))
	}
	for _, r := range res {
		if !r.Delivered {
			t.Errorf("%s: %v", r.URL, r.Statuses)
		}
	}
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestWebhookSenderOptions(t *testing.T) {
	const current, previous = "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", "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"
	src, _ := keysource.Static(current, previous)
	v, _ := webhook.New(src)
	at := time.Date(2026, 7, 14, 9, 29, 58, 123456789, time.UTC)
	var got webhook.Delivery
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d, err := v.Verify(r.Header, body)
		if err != nil {
			t.Errorf("Verify: %v", err)
		}
		got = d
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer backend.Close()
	ct := &countingTransport{}
	sender := shopifytest.NewWebhookSender(current,
		shopifytest.WithSigningSecret(previous),
		shopifytest.WithWebhookClock(func() time.Time { return at }),
		shopifytest.WithHTTPClient(&http.Client{Transport: ct}),
		shopifytest.WithRetrySchedule(), // deliver once
	)
	defer sender.Close()
	res := sender.Deliver(context.Background(), shopifytest.Webhook{Topic: "shop/update", Shop: "a.myshopify.com", Body: []byte(`{"id":5}`)}, backend.URL)
	if len(res[0].Statuses) != 1 || res[0].Delivered || ct.n.Load() != 1 {
		t.Fatalf("result %+v, %d requests through the given client", res[0], ct.n.Load())
	}
	if got.KeyID != "static:previous" || !got.TriggeredAt.Equal(at) || got.APIVersion != shopifytest.DefaultWebhookAPIVersion || got.EventID == "" {
		t.Fatalf("delivery %+v", got)
	}
}
