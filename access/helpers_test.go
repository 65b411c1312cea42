package access

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// testClock is a clock tests advance by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testShop = "possession-test.myshopify.com"

// env is one fake Shopify, one store and a clock shared by every Manager
// a test makes.
type env struct {
	t     *testing.T
	clock *testClock
	fake  *shopifytest.Server
	store *countingStore
	// sleeps records every wait the Managers asked for (they return at
	// once: no test sleeps).
	sleepMu sync.Mutex
	sleeps  []time.Duration
}

func newEnv(t *testing.T, opts ...shopifytest.Option) *env {
	t.Helper()
	clock := newTestClock()
	fake := shopifytest.NewServer(append([]shopifytest.Option{shopifytest.WithClock(clock.Now)}, opts...)...)
	t.Cleanup(fake.Close)
	return &env{t: t, clock: clock, fake: fake, store: &countingStore{Store: MemoryStore()}}
}

// manager makes a Manager against the fake. Waits return at once and are
// recorded in e.sleeps.
func (e *env) manager(opts ...Option) *Manager {
	e.t.Helper()
	src, err := keysource.Static(e.fake.ClientSecret())
	if err != nil {
		e.t.Fatal(err)
	}
	all := append([]Option{
		WithShopifyBaseURL(e.fake.URL),
		WithClock(e.clock.Now),
	}, opts...)
	m, err := New(e.fake.ClientID(), src, e.store, all...)
	if err != nil {
		e.t.Fatal(err)
	}
	m.cfg.sleep = func(ctx context.Context, d time.Duration) error {
		e.sleepMu.Lock()
		e.sleeps = append(e.sleeps, d)
		e.sleepMu.Unlock()
		return ctx.Err()
	}
	m.cfg.jitter = func(d time.Duration) time.Duration { return d }
	return m
}

func (e *env) recordedSleeps() []time.Duration {
	e.sleepMu.Lock()
	defer e.sleepMu.Unlock()
	return append([]time.Duration(nil), e.sleeps...)
}

func (e *env) minter(shop, user string) sdktest.Minter {
	return sdktest.Minter{Secret: e.fake.ClientSecret(), ClientID: e.fake.ClientID(), Shop: shop, UserID: user, Now: e.clock.Now}
}

// session mints a POS session token for shop and user and verifies it
// with the sdk, as a backend's handler would.
func (e *env) session(shop, user string) (*sdk.Session, string) {
	e.t.Helper()
	tok := e.minter(shop, user).Admin()
	return e.verify(tok), tok
}

// offline is m.Offline for a fresh session of shop and user, which must
// succeed: the first step of most tests.
func (e *env) offline(t testing.TB, m *Manager, shop, user string) Token {
	t.Helper()
	s, id := e.session(shop, user)
	tok, err := m.Offline(ctx, s, id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *env) verify(tok string) *sdk.Session {
	e.t.Helper()
	// Checkout sessions too: tests check that the Manager refuses them.
	v, err := sdk.New(keysource.MustStatic(e.fake.ClientSecret()), sdk.WithClientID(e.fake.ClientID()), sdk.WithClock(e.clock.Now), sdk.WithCacheSize(0),
		sdk.WithKinds(sdk.KindAdmin, sdk.KindCheckout))
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := v.Verify(context.Background(), tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// countingStore counts the calls that reach a store and can hook them.
type countingStore struct {
	Store
	loads, locks, swaps atomic.Int64
	// beforeSwap, if set, runs before every CompareAndSwap.
	beforeSwap atomic.Pointer[func(Lease, Record)]
	swapErr    atomic.Pointer[error]
}

func (s *countingStore) Load(ctx context.Context, k Key) (Record, error) {
	s.loads.Add(1)
	return s.Store.Load(ctx, k)
}

func (s *countingStore) Lock(ctx context.Context, k Key, d time.Duration) (Lease, error) {
	s.locks.Add(1)
	return s.Store.Lock(ctx, k, d)
}

func (s *countingStore) CompareAndSwap(ctx context.Context, l Lease, r Record) error {
	s.swaps.Add(1)
	if f := s.beforeSwap.Load(); f != nil {
		(*f)(l, r)
	}
	if e := s.swapErr.Load(); e != nil {
		return *e
	}
	return s.Store.CompareAndSwap(ctx, l, r)
}

func (s *countingStore) ops() int64 { return s.loads.Load() + s.locks.Load() + s.swaps.Load() }

func mustErrIs(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("error %q does not wrap %q", err, target)
		}
	}
}
