package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/webhook"
)

// hookRecord is one call of the error hook.
type hookRecord struct {
	status int
	err    error
	d      *webhook.Delivery
}

type hookLog struct {
	mu    sync.Mutex
	calls []hookRecord
}

func (l *hookLog) hook(_ *http.Request, d *webhook.Delivery, status int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, hookRecord{status, err, d})
}

func (l *hookLog) last(t *testing.T) hookRecord {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.calls) == 0 {
		t.Fatal("the error hook was not called")
	}
	return l.calls[len(l.calls)-1]
}

func (l *hookLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

func post(body string, h http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	for k, v := range h {
		r.Header[k] = v
	}
	return r
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

var errOrderDB = errors.New("orders database unavailable")

func TestMiddleware(t *testing.T) {
	cases := []struct {
		name    string
		opts    []webhook.Option
		req     func() *http.Request
		handler webhook.HandlerFunc
		next    http.Handler // instead of a Router with handler for orders/create
		status  int
		want    error // reported to the hook; nil: hook not called
		wantIs  error // a second error the reported one must wrap
		called  bool
		allow   string
	}{
		{name: "handled", req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 200, called: true},
		{name: "events family handled", req: func() *http.Request { return post(orderBody, eventsHeader(orderBody)) }, status: 200, called: true},
		{name: "GET", req: func() *http.Request { return httptest.NewRequest(http.MethodGet, "/webhooks", nil) }, status: 405, want: webhook.ErrMethod, allow: "POST"},
		{name: "PUT with a valid delivery", req: func() *http.Request {
			r := post(orderBody, classicHeader(orderBody))
			r.Method = http.MethodPut
			return r
		}, status: 405, want: webhook.ErrMethod, allow: "POST"},
		{name: "body over the limit", opts: []webhook.Option{webhook.WithMaxBodySize(16)}, req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 413, want: webhook.ErrBodyTooLarge},
		{name: "body over the limit, no Content-Length", opts: []webhook.Option{webhook.WithMaxBodySize(16)}, req: func() *http.Request {
			r := post(orderBody, classicHeader(orderBody))
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(orderBody))
			return r
		}, status: 413, want: webhook.ErrBodyTooLarge},
		{name: "body exactly at the limit", opts: []webhook.Option{webhook.WithMaxBodySize(int64(len(orderBody)))}, req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 200, called: true},
		{name: "unreadable body", req: func() *http.Request {
			r := post("", classicHeader(orderBody))
			r.ContentLength = -1
			r.Body = io.NopCloser(errReader{})
			return r
		}, status: 400, want: webhook.ErrReadBody},
		{name: "empty body", req: func() *http.Request { return post("", classicHeader(orderBody)) }, status: 400, want: webhook.ErrEmptyBody},
		{name: "invalid HMAC", req: func() *http.Request {
			return post(strings.Replace(orderBody, "jon", "jan", 1), classicHeader(orderBody))
		}, status: 401, want: webhook.ErrSignature},
		{name: "missing HMAC", req: func() *http.Request {
			h := classicHeader(orderBody)
			h.Del("X-Shopify-Hmac-Sha256")
			return post(orderBody, h)
		}, status: 400, want: webhook.ErrHeader},
		{name: "missing topic", req: func() *http.Request {
			h := classicHeader(orderBody)
			h.Del("X-Shopify-Topic")
			return post(orderBody, h)
		}, status: 400, want: webhook.ErrHeader},
		{name: "unknown topic", req: func() *http.Request {
			h := classicHeader(orderBody)
			h.Set("X-Shopify-Topic", "products/update")
			return post(orderBody, h)
		}, status: 404, want: webhook.ErrUnknownTopic},
		{name: "topic in the GraphQL spelling", req: func() *http.Request {
			h := classicHeader(orderBody)
			h.Set("X-Shopify-Topic", "ORDERS_CREATE")
			return post(orderBody, h)
		}, status: 200, called: true},
		{name: "handler error", handler: func(context.Context, *webhook.Delivery) error { return fmt.Errorf("save order: %w", errOrderDB) },
			req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 500, want: webhook.ErrHandler, wantIs: errOrderDB, called: true},
		{name: "handler payload error", handler: func(context.Context, *webhook.Delivery) error {
			return fmt.Errorf("%w: no line items", webhook.ErrPayload)
		},
			req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 400, want: webhook.ErrPayload, called: true},
		{name: "handler panic", handler: func(context.Context, *webhook.Delivery) error { panic("nil map") },
			req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 500, want: webhook.ErrHandler, called: true},
		{name: "http handler answering 418", next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}), req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 418, want: webhook.ErrHandler},
		{name: "http handler writing nothing", next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
			req: func() *http.Request { return post(orderBody, classicHeader(orderBody)) }, status: 200},
		{name: "stale, dropped", opts: []webhook.Option{webhook.WithMaxAge(time.Minute, webhook.StaleDrop)}, req: func() *http.Request {
			h := classicHeader(orderBody)
			h.Set("X-Shopify-Triggered-At", now.Add(-time.Hour).Format(time.RFC3339))
			return post(orderBody, h)
		}, status: 200, want: webhook.ErrStale},
		{name: "stale, flagged", opts: []webhook.Option{webhook.WithMaxAge(time.Minute, webhook.StaleFlag)},
			handler: func(_ context.Context, d *webhook.Delivery) error {
				if !d.Stale {
					return errors.New("not flagged")
				}
				return nil
			},
			req: func() *http.Request {
				h := classicHeader(orderBody)
				h.Set("X-Shopify-Triggered-At", now.Add(-time.Hour).Format(time.RFC3339))
				return post(orderBody, h)
			}, status: 200, called: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log hookLog
			v := newVerifier(t, append([]webhook.Option{webhook.WithOnError(log.hook)}, c.opts...)...)
			called := false
			next := c.next
			if next == nil {
				rt := webhook.NewRouter()
				rt.HandleFunc("orders/create", func(ctx context.Context, d *webhook.Delivery) error {
					called = true
					if c.handler != nil {
						return c.handler(ctx, d)
					}
					return nil
				})
				next = rt
			}
			w := httptest.NewRecorder()
			v.Middleware(next).ServeHTTP(w, c.req())
			if w.Code != c.status {
				t.Errorf("status %d, want %d (body %q)", w.Code, c.status, w.Body)
			}
			if called != c.called {
				t.Errorf("handler called: %v, want %v", called, c.called)
			}
			if c.allow != "" && w.Header().Get("Allow") != c.allow {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
			if c.want == nil {
				if n := log.count(); n != 0 {
					t.Errorf("hook called %d times: %v", n, log.last(t).err)
				}
				return
			}
			rec := log.last(t)
			if !errors.Is(rec.err, c.want) || rec.status != c.status {
				t.Errorf("hook got %d %v, want %d %v", rec.status, rec.err, c.status, c.want)
			}
			if c.wantIs != nil && !errors.Is(rec.err, c.wantIs) {
				t.Errorf("hook error %v does not wrap %v", rec.err, c.wantIs)
			}
			verified := c.status != 400 && c.status != 401 && c.status != 405 && c.status != 413
			if c.want == webhook.ErrPayload {
				verified = true
			}
			if (rec.d != nil) != verified {
				t.Errorf("hook delivery %v, want one: %v", rec.d, verified)
			}
		})
	}
}

func TestMiddlewareHandlerSeesDeliveryAndBody(t *testing.T) {
	v := newVerifier(t)
	var got *webhook.Delivery
	var body []byte
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = webhook.DeliveryFrom(r.Context())
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("X-App", "seen")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "queued")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusAccepted || w.Body.String() != "queued" || w.Header().Get("X-App") != "seen" {
		t.Fatalf("answer %d %q %v: the handler's response must pass through", w.Code, w.Body, w.Header())
	}
	if got == nil || got.WebhookID != "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043" || string(body) != orderBody {
		t.Fatalf("delivery %+v, body %q", got, body)
	}
	if _, ok := webhook.DeliveryFrom(context.Background()); ok {
		t.Error("DeliveryFrom on a bare context")
	}
}

func TestRouterNotBehindMiddleware(t *testing.T) {
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/create", func(context.Context, *webhook.Delivery) error { return nil })
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", w.Code)
	}
}

func TestRouterRegistrationMistakesPanic(t *testing.T) {
	ok := func(context.Context, *webhook.Delivery) error { return nil }
	for _, c := range []struct {
		name string
		fn   func(rt *webhook.Router)
	}{
		{"empty topic", func(rt *webhook.Router) { rt.HandleFunc("", ok) }},
		{"nil handler", func(rt *webhook.Router) { rt.Handle("orders/create", nil) }},
		{"nil func", func(rt *webhook.Router) { rt.HandleFunc("orders/create", nil) }},
		{"twice in two spellings", func(rt *webhook.Router) {
			rt.HandleFunc("orders/create", ok)
			rt.HandleFunc("ORDERS_CREATE", ok)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			c.fn(webhook.NewRouter())
		})
	}
}

func TestMiddlewareTimeout(t *testing.T) {
	var log hookLog
	dd := newMapDeduper()
	v := newVerifier(t, webhook.WithHandlerTimeout(50*time.Millisecond), webhook.WithDeduper(dd), webhook.WithOnError(log.hook))
	release := make(chan error)
	finished := make(chan struct{})
	ctxErr := make(chan error, 1)
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/create", func(ctx context.Context, d *webhook.Delivery) error {
		defer close(finished)
		<-ctx.Done()
		ctxErr <- ctx.Err()
		return <-release
	})
	h := v.Middleware(rt)

	start := time.Now()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("answered after %v, want about the 50 ms timeout", el)
	}
	if rec := log.last(t); !errors.Is(rec.err, webhook.ErrTimeout) {
		t.Errorf("hook: %v", rec.err)
	}
	if err := <-ctxErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("handler context: %v, want deadline exceeded", err)
	}

	// While the late handler runs, its claim holds off Shopify's retry.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusServiceUnavailable || !errors.Is(log.last(t).err, webhook.ErrInProgress) {
		t.Fatalf("retry during the late handler: %d %v", w.Code, log.last(t).err)
	}

	// The late handler succeeds: the delivery is done, and the next retry
	// is a duplicate.
	release <- nil
	<-finished
	waitFor(t, func() bool {
		_, done, _ := dd.ClaimDelivery(context.Background(), "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", time.Minute)
		return done
	})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != "duplicate" {
		t.Fatalf("retry after the late success: %d %q", w.Code, w.Body)
	}
}

func TestMiddlewareTimeoutThenFailureReleases(t *testing.T) {
	dd := newMapDeduper()
	v := newVerifier(t, webhook.WithHandlerTimeout(20*time.Millisecond), webhook.WithDeduper(dd))
	finished := make(chan struct{})
	calls := 0
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/create", func(ctx context.Context, d *webhook.Delivery) error {
		calls++
		if calls == 1 {
			defer close(finished)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	h := v.Middleware(rt)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", w.Code)
	}
	<-finished
	// The release happens right after the handler returns.
	waitFor(t, func() bool {
		w = httptest.NewRecorder()
		h.ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
		return w.Code == http.StatusOK
	})
	if calls != 2 {
		t.Fatalf("handler called %d times, want 2", calls)
	}
}

// waitFor polls cond: the one thing a test must wait for is a goroutine
// the middleware started, which no clock can hurry.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// faultyDeduper wraps mapDeduper with injected errors.
type faultyDeduper struct {
	*mapDeduper
	claimErr, completeErr, releaseErr error
	released                          int
}

func (f *faultyDeduper) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (int64, bool, error) {
	if f.claimErr != nil {
		return 0, false, f.claimErr
	}
	return f.mapDeduper.ClaimDelivery(ctx, id, lease)
}

func (f *faultyDeduper) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	if f.completeErr != nil {
		return f.completeErr
	}
	return f.mapDeduper.CompleteDelivery(ctx, id, claim, retention)
}

func (f *faultyDeduper) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	f.released++
	if f.releaseErr != nil {
		return f.releaseErr
	}
	return f.mapDeduper.ReleaseDelivery(ctx, id, claim)
}

var errStoreDown = errors.New("connection refused")

func TestMiddlewareDedupe(t *testing.T) {
	const id = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
	cases := []struct {
		name     string
		dd       func() *faultyDeduper
		before   func(t *testing.T, dd webhook.Deduper) // state before the delivery
		fail     bool                                   // the handler fails
		status   int
		word     string
		want     error // reported; nil: no hook call
		called   bool
		released int
		after    string // "done", "free" or "held"
	}{
		{name: "first delivery", status: 200, word: "ok", called: true, after: "done"},
		{name: "duplicate", before: func(t *testing.T, dd webhook.Deduper) {
			c, _, _ := dd.ClaimDelivery(context.Background(), id, time.Minute)
			_ = dd.CompleteDelivery(context.Background(), id, c, time.Hour)
		}, status: 200, word: "duplicate", after: "done"},
		{name: "claimed by a live holder", before: func(t *testing.T, dd webhook.Deduper) {
			_, _, _ = dd.ClaimDelivery(context.Background(), id, time.Minute)
		}, status: 503, word: "in_progress", want: webhook.ErrInProgress, after: "held"},
		{name: "handler fails: released", fail: true, status: 500, word: "handler", want: webhook.ErrHandler, called: true, released: 1, after: "free"},
		{name: "claim fails", dd: func() *faultyDeduper { return &faultyDeduper{mapDeduper: newMapDeduper(), claimErr: errStoreDown} },
			status: 503, word: "dedupe", want: webhook.ErrDedupe},
		{name: "complete fails: still 200", dd: func() *faultyDeduper { return &faultyDeduper{mapDeduper: newMapDeduper(), completeErr: errStoreDown} },
			status: 200, word: "ok", want: webhook.ErrDedupe, called: true, after: "held"},
		{name: "release fails: still 500", dd: func() *faultyDeduper { return &faultyDeduper{mapDeduper: newMapDeduper(), releaseErr: errStoreDown} },
			fail: true, status: 500, word: "handler", want: webhook.ErrHandler, called: true, released: 1, after: "held"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dd := &faultyDeduper{mapDeduper: newMapDeduper()}
			if c.dd != nil {
				dd = c.dd()
			}
			if c.before != nil {
				c.before(t, dd.mapDeduper)
			}
			var log hookLog
			v := newVerifier(t, webhook.WithDeduper(dd), webhook.WithOnError(log.hook))
			called := false
			rt := webhook.NewRouter()
			rt.HandleFunc("orders/create", func(context.Context, *webhook.Delivery) error {
				called = true
				if c.fail {
					return errOrderDB
				}
				return nil
			})
			w := httptest.NewRecorder()
			v.Middleware(rt).ServeHTTP(w, post(orderBody, classicHeader(orderBody)))
			if w.Code != c.status || strings.TrimSpace(w.Body.String()) != c.word {
				t.Errorf("answer %d %q, want %d %q", w.Code, w.Body, c.status, c.word)
			}
			if called != c.called {
				t.Errorf("handler called %v, want %v", called, c.called)
			}
			if dd.released != c.released {
				t.Errorf("released %d times, want %d", dd.released, c.released)
			}
			if c.want == nil {
				if log.count() != 0 {
					t.Errorf("hook called: %v", log.last(t).err)
				}
			} else if rec := log.last(t); !errors.Is(rec.err, c.want) || rec.status != c.status {
				t.Errorf("hook %d %v, want %d %v", rec.status, rec.err, c.status, c.want)
			}
			if c.after == "" {
				return
			}
			claim, done, err := dd.mapDeduper.ClaimDelivery(context.Background(), id, time.Minute)
			got := "held"
			switch {
			case err != nil:
				t.Fatal(err)
			case done:
				got = "done"
			case claim > 0:
				got = "free"
			}
			if got != c.after {
				t.Errorf("afterwards the delivery is %s, want %s", got, c.after)
			}
		})
	}
}
