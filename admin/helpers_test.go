package admin

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/shopifytest"
)

const (
	testShop    = "admin-test.myshopify.com"
	testVersion = "2026-10"
)

var simStart = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// fakeToken is a credential of fakeTokens.
type fakeToken struct{ value string }

func (t fakeToken) Value() string { return t.value }

// errReauthorizeForTest stands in for access.ErrReauthorize.
var errReauthorizeForTest = errors.New("test: the shop must re-authorize")

// fakeTokens hands out tokens the fake Shopify issued, and renews them
// after a 401 by issuing a new one (as a refresh would), or fails with
// errReauthorizeForTest when canRefresh is false.
type fakeTokens struct {
	srv *shopifytest.Server

	mu         sync.Mutex
	current    map[string]string
	refreshes  int
	canRefresh bool
	tokenErr   error
}

func newFakeTokens(srv *shopifytest.Server) *fakeTokens {
	return &fakeTokens{srv: srv, current: map[string]string{}, canRefresh: true}
}

func (f *fakeTokens) token(_ context.Context, shop string) (credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenErr != nil {
		return nil, f.tokenErr
	}
	if f.current[shop] == "" {
		f.current[shop] = f.srv.IssueAccessToken(shop, "read_products,write_orders", 0)
	}
	return fakeToken{f.current[shop]}, nil
}

func (f *fakeTokens) refresh(_ context.Context, rejected credential) (credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if !f.canRefresh {
		return nil, errReauthorizeForTest
	}
	for shop, v := range f.current {
		if v == rejected.Value() {
			f.current[shop] = f.srv.IssueAccessToken(shop, "read_products,write_orders", 0)
			return fakeToken{f.current[shop]}, nil
		}
	}
	return nil, errReauthorizeForTest
}

func (f *fakeTokens) refreshCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// rig is a fake Shopify on a simulated clock and a client of it.
type rig struct {
	t      *testing.T
	clock  *shopifytest.SimClock
	srv    *shopifytest.Server
	tokens *fakeTokens
	logs   *logRecorder
}

func newRig(t *testing.T, maximum, rate float64, srvOpts ...shopifytest.Option) *rig {
	t.Helper()
	clock := shopifytest.NewSimClock(simStart)
	srv := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock.Now), shopifytest.WithAdminBucket(maximum, rate)}, srvOpts...)...)
	t.Cleanup(srv.Close)
	return &rig{t: t, clock: clock, srv: srv, tokens: newFakeTokens(srv), logs: &logRecorder{}}
}

func (r *rig) client(opts ...Option) *Client {
	r.t.Helper()
	base := []Option{
		WithAPIVersion(testVersion), WithShopifyBaseURL(r.srv.URL), WithClock(r.clock),
		WithRandom(func() float64 { return 0.5 }), WithLogger(slog.New(r.logs)),
	}
	c, err := newClient(r.tokens, append(base, opts...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// run runs fn as a worker of the simulated clock and waits for it.
func (r *rig) run(fn func()) {
	r.clock.Go(fn)
	r.clock.Wait()
}

// logRecorder is a slog.Handler that keeps records.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

func (h *logRecorder) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		out = append(out, r.Message)
	}
	return out
}

func (h *logRecorder) attr(i int, key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var v string
	h.records[i].Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}
