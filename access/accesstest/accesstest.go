// Package accesstest holds test helpers for access: a manual clock, and
// RunFleet, the fleet harness that runs several independent Managers on
// one shared store against shopifytest and checks the fleet rules
// (one refresh per shop and expiry, no revoked pair stored, bounded
// retries, a dead lock holder taken over and fenced).
//
// Store implementations run RunFleet from their own tests with a factory
// that opens a new client of one shared backing store per call, so that
// each Manager talks to the store through its own connection:
//
//	func TestFleet(t *testing.T) {
//		db := startDatabase(t)
//		accesstest.RunFleet(t, func(t *testing.T) access.Store { return newClient(t, db) })
//	}
//
// RunFleetProcesses runs the same fleet from separate OS processes (the
// test binary re-executed), on real time with tokens that live seconds:
//
//	func TestFleetProcesses(t *testing.T) {
//		accesstest.RunFleetProcesses(t,
//			func(t *testing.T) string { return startDatabase(t).Address() },
//			func(t *testing.T, addr string) access.Store { return newClient(t, addr) })
//	}
//
// access/storetest checks a store's contract method by method; RunFleet
// and RunFleetProcesses check that Managers built on it behave as a fleet.
package accesstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// Clock is a clock that tests advance by hand, safe for concurrent use.
// Pass its Now to access.WithClock, shopifytest.WithClock and
// sdk.WithClock so that tests move time instead of sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Fleet size and load of RunFleet.
const (
	// Managers is how many independent Managers RunFleet builds (each on
	// its own store client).
	Managers = 8
	// CallersPerManager is how many goroutines call each Manager at once.
	CallersPerManager = 4
	// Rounds is how many token lifetimes the once-per-expiry test crosses.
	Rounds = 6
)

// RunFleet runs the fleet tests on the stores open returns. open is called
// once per Manager and must return a client of the same backing store
// each time (a new connection to one database, or the same MemoryStore).
// Every subtest uses shops of its own, named randomly, so the backing
// store may be shared with other tests and reused across runs.
func RunFleet(t *testing.T, open func(t *testing.T) access.Store) {
	t.Run("OncePerExpiry", func(t *testing.T) { onePerExpiry(t, open) })
	t.Run("ExchangeOnce", func(t *testing.T) { exchangeOnce(t, open) })
	t.Run("ShopifyFailing", func(t *testing.T) { shopifyFailing(t, open) })
	t.Run("ShopifyDownTokenValid", func(t *testing.T) { shopifyDownTokenValid(t, open) })
	t.Run("HolderDies", func(t *testing.T) { holderDies(t, open) })
}

// fleet is one fake Shopify, a clock and Managers on their own clients.
type fleet struct {
	t         *testing.T
	transport *http.Transport
	clock     *Clock
	fake      *shopifytest.Server
	shop      string
	managers  []*access.Manager
	open      func(t *testing.T) access.Store
}

func newFleet(t *testing.T, open func(t *testing.T) access.Store, opts ...access.Option) *fleet {
	t.Helper()
	clock := NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	fake := shopifytest.NewServer(shopifytest.WithClock(clock.Now),
		shopifytest.WithApp("fleet-client-id", "fleet-client-secret-0123456789abcdef0123"))
	t.Cleanup(fake.Close)
	f := &fleet{t: t, clock: clock, fake: fake, shop: randomShop(), open: open, transport: &http.Transport{}}
	t.Cleanup(f.transport.CloseIdleConnections)
	for range Managers {
		f.managers = append(f.managers, f.manager(open(t), opts...))
	}
	return f
}

func randomShop() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "fleet-" + hex.EncodeToString(b) + ".myshopify.com"
}

func (f *fleet) manager(store access.Store, opts ...access.Option) *access.Manager {
	f.t.Helper()
	src, err := keysource.Static(f.fake.ClientSecret())
	if err != nil {
		f.t.Fatal(err)
	}
	all := append([]access.Option{
		access.WithShopifyBaseURL(f.fake.URL),
		access.WithHTTPClient(&http.Client{Transport: f.transport}),
		access.WithClock(f.clock.Now),
		access.WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond),
	}, opts...)
	m, err := access.New(f.fake.ClientID(), src, store, all...)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// session mints and verifies a POS session token for the fleet's shop.
func (f *fleet) session() (*sdk.Session, string) {
	f.t.Helper()
	m := sdktest.Minter{Secret: f.fake.ClientSecret(), ClientID: f.fake.ClientID(), Shop: f.shop, UserID: "42", Now: f.clock.Now}
	tok := m.Admin()
	v, err := sdk.New(keysource.MustStatic(f.fake.ClientSecret()), sdk.WithClientID(f.fake.ClientID()), sdk.WithClock(f.clock.Now), sdk.WithCacheSize(0))
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := v.Verify(context.Background(), tok)
	if err != nil {
		f.t.Fatal(err)
	}
	return s, tok
}

// result is one caller's answer.
type result struct {
	tok access.Token
	err error
}

// storm has every Manager's callers ask for the shop's token at once;
// half of them as handlers with a session token (Offline), half as
// background jobs (OfflineFor).
func (f *fleet) storm() []result {
	s, id := f.session()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var out []result
	start := make(chan struct{})
	for _, m := range f.managers {
		for c := range CallersPerManager {
			wg.Go(func() {
				<-start
				var r result
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if c%2 == 0 {
					r.tok, r.err = m.Offline(ctx, s, id)
				} else {
					r.tok, r.err = m.OfflineFor(ctx, f.shop)
				}
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	return out
}

// stored reads the shop's token through a new Manager on a new client,
// with no cache: what the store holds.
func (f *fleet) stored() (access.Token, error) {
	m := f.manager(f.open(f.t), access.WithCacheTTL(0))
	return m.OfflineFor(context.Background(), f.shop)
}

func onePerExpiry(t *testing.T, open func(t *testing.T) access.Store) {
	f := newFleet(t, open)
	s, id := f.session()
	first, err := f.managers[0].Offline(context.Background(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	life := first.ExpiresAt.Sub(f.clock.Now())
	prev := first.Value()
	for round := 1; round <= Rounds; round++ {
		// Into the refresh margin (the default 5 min), still valid: every
		// caller at once decides that the token is due.
		f.clock.Advance(life - access.DefaultRefreshMargin + time.Second)
		before := f.fake.Requests(shopifytest.RouteOAuthAccessToken)
		results := f.storm()
		if n := f.fake.Requests(shopifytest.RouteOAuthAccessToken) - before; n != 1 {
			t.Fatalf("round %d: %d requests reached Shopify for %d callers on %d managers, want exactly 1 refresh", round, n, len(results), Managers)
		}
		var got string
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("round %d: caller %d: %v", round, i, r.err)
			}
			if !f.fake.AccessTokenValid(f.shop, r.tok.Value()) {
				t.Fatalf("round %d: caller %d got a token Shopify does not honour", round, i)
			}
			if got == "" {
				got = r.tok.Value()
			} else if r.tok.Value() != got {
				t.Fatalf("round %d: callers got different tokens", round)
			}
		}
		if got == prev {
			t.Fatalf("round %d: not refreshed", round)
		}
		if f.fake.AccessTokenValid(f.shop, prev) {
			t.Fatalf("round %d: the previous token was not revoked by the refresh", round)
		}
		st, err := f.stored()
		if err != nil || st.Value() != got {
			t.Fatalf("round %d: the store holds another token than the callers got (%v)", round, err)
		}
		prev = got
		// Advance to the token's issue time + life in the next round: it
		// was issued now.
		life = st.ExpiresAt.Sub(f.clock.Now())
	}
	if c := f.fake.GrantCounts(); c.Refresh != Rounds || c.Exchange != 1 || c.Refused != 0 {
		t.Errorf("grant counts %+v: want %d refreshes, 1 exchange, nothing refused", c, Rounds)
	}
}

func exchangeOnce(t *testing.T, open func(t *testing.T) access.Store) {
	f := newFleet(t, open)
	s, id := f.session()
	var wg sync.WaitGroup
	tokens := make([]access.Token, len(f.managers)*CallersPerManager)
	errs := make([]error, len(tokens))
	for i := range tokens {
		m := f.managers[i%len(f.managers)]
		wg.Go(func() { tokens[i], errs[i] = m.Offline(context.Background(), s, id) })
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i].Value() != tokens[0].Value() || !f.fake.AccessTokenValid(f.shop, tokens[i].Value()) {
			t.Fatalf("caller %d got another token or one Shopify does not honour", i)
		}
	}
	if c := f.fake.GrantCounts(); c.Exchange != 1 {
		t.Errorf("%d exchanges for the first token of a shop, want 1", c.Exchange)
	}
}

// faults returns n faults cycling through 503, 429 (Retry-After 0) and
// 500.
func faults(n int) []shopifytest.Fault {
	kinds := []shopifytest.Fault{{Status: 503}, {Status: 429, RetryAfter: "0"}, {Status: 500}}
	out := make([]shopifytest.Fault, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)]
	}
	return out
}

func shopifyFailing(t *testing.T, open func(t *testing.T) access.Store) {
	f := newFleet(t, open)
	s, id := f.session()
	if _, err := f.managers[0].Offline(context.Background(), s, id); err != nil {
		t.Fatal(err)
	}
	// Expired: nothing valid to serve, so callers must wait for a refresh.
	f.clock.Advance(time.Hour + time.Second)
	const failures = 10
	f.fake.Inject(shopifytest.RouteOAuthAccessToken, faults(failures)...)
	before := f.fake.Requests(shopifytest.RouteOAuthAccessToken)
	results := f.storm()
	n := f.fake.Requests(shopifytest.RouteOAuthAccessToken) - before
	// Bounded: at most every Manager's attempts, not every caller's.
	if limit := Managers * access.DefaultMaxAttempts; n > limit {
		t.Errorf("%d requests for %d callers: a stampede (limit %d)", n, len(results), limit)
	}
	ok := 0
	for i, r := range results {
		switch {
		case r.err == nil:
			if !f.fake.AccessTokenValid(f.shop, r.tok.Value()) {
				t.Fatalf("caller %d got a token Shopify does not honour", i)
			}
			ok++
		case errors.Is(r.err, access.ErrUnavailable) || errors.Is(r.err, access.ErrLockTimeout):
		default:
			t.Fatalf("caller %d: %v, want a token or ErrUnavailable", i, r.err)
		}
	}
	f.fake.ClearFaults(shopifytest.RouteOAuthAccessToken)
	if n <= failures && ok > 0 {
		t.Errorf("%d callers got a token although every request failed", ok)
	}
	// Shopify back: the fleet recovers with one refresh (if none
	// succeeded yet) and serves a live token.
	after := f.storm()
	for i, r := range after {
		if r.err != nil || !f.fake.AccessTokenValid(f.shop, r.tok.Value()) {
			t.Fatalf("after recovery, caller %d: %v", i, r.err)
		}
	}
	st, err := f.stored()
	if err != nil || !f.fake.AccessTokenValid(f.shop, st.Value()) {
		t.Fatalf("stored token after recovery: %v", err)
	}
	t.Logf("%d requests during %d failures for %d callers; %d callers served", n, failures, len(results), ok)
}

func shopifyDownTokenValid(t *testing.T, open func(t *testing.T) access.Store) {
	f := newFleet(t, open)
	s, id := f.session()
	first, err := f.managers[0].Offline(context.Background(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour - time.Minute) // due, still valid
	f.fake.Inject(shopifytest.RouteOAuthAccessToken, faults(1000)...)
	defer f.fake.ClearFaults(shopifytest.RouteOAuthAccessToken)
	before := f.fake.Requests(shopifytest.RouteOAuthAccessToken)
	results := f.storm()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v: the stored token is still valid and must be served", i, r.err)
		}
		if r.tok.Value() != first.Value() {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if n, limit := f.fake.Requests(shopifytest.RouteOAuthAccessToken)-before, Managers*access.DefaultMaxAttempts; n > limit {
		t.Errorf("%d requests while Shopify is down, limit %d", n, limit)
	}
}

// dyingStore stops its Manager (the holder) right before its first write,
// after Shopify issued the new pair: the holder's process is frozen there
// until resumed.
type dyingStore struct {
	access.Store
	stopped chan struct{}
	resume  chan struct{}
	once    atomic.Bool
	err     atomic.Pointer[error]
}

func (d *dyingStore) CompareAndSwap(ctx context.Context, l access.Lease, r access.Record) error {
	if d.once.CompareAndSwap(false, true) {
		close(d.stopped)
		<-d.resume
		err := d.Store.CompareAndSwap(ctx, l, r)
		d.err.Store(&err)
		return err
	}
	return d.Store.CompareAndSwap(ctx, l, r)
}

func holderDies(t *testing.T, open func(t *testing.T) access.Store) {
	const lease = 500 * time.Millisecond
	short := []access.Option{access.WithLease(lease), access.WithRequestTimeout(300 * time.Millisecond), access.WithLockWait(5 * time.Second), access.WithCacheTTL(0)}
	f := newFleet(t, open, short...)
	s, id := f.session()
	if _, err := f.managers[0].Offline(context.Background(), s, id); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour + time.Second) // expired: only a refresh helps

	dying := &dyingStore{Store: open(t), stopped: make(chan struct{}), resume: make(chan struct{})}
	holder := f.manager(dying, short...)
	var holderTok access.Token
	var holderErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		holderTok, holderErr = holder.OfflineFor(context.Background(), f.shop)
	}()
	<-dying.stopped
	start := time.Now()

	// The fleet waits for the holder's lease to end, then one of them
	// refreshes (the grace rule lets it redeem the refresh token the
	// frozen holder redeemed, whose pair was never used).
	results := f.storm()
	took := time.Since(start)
	var got string
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if got == "" {
			got = r.tok.Value()
		}
		if r.tok.Value() != got || !f.fake.AccessTokenValid(f.shop, got) {
			t.Fatalf("caller %d: another token, or one Shopify does not honour", i)
		}
	}
	if took < lease/2 {
		t.Errorf("the fleet took over after %v, before the holder's %v lease could end", took, lease)
	}

	close(dying.resume)
	<-done
	if p := dying.err.Load(); p == nil || !errors.Is(*p, access.ErrFenced) {
		var e error
		if p != nil {
			e = *p
		}
		t.Fatalf("the frozen holder's write after its lease ended was not fenced: %v", e)
	}
	if holderErr != nil || holderTok.Value() != got {
		t.Errorf("the resumed holder returned %v, want its successor's stored token", holderErr)
	}
	st, err := f.stored()
	if err != nil || st.Value() != got {
		t.Fatalf("store after the takeover: %v", err)
	}
	// The stored pair is live: the next refresh works.
	f.clock.Advance(time.Hour)
	next, err := f.managers[0].OfflineFor(context.Background(), f.shop)
	if err != nil || next.Value() == got || !f.fake.AccessTokenValid(f.shop, next.Value()) {
		t.Fatalf("refresh after the takeover: %v", err)
	}
}
