package access

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/shopifytest"
)

// A grant Shopify refused (invalid_grant, or a 401 for a token that
// cannot be refreshed) is buried for the whole fleet: a tombstone replaces
// the record under the lock, so no instance serves the refused token or
// asks Shopify about it again, the shop leaves Expiring, and the next
// session token exchanges a new grant once.

// clockedStore makes the env's MemoryStore keep its leases on the test
// clock, so a test ends a lease by advancing the clock instead of
// sleeping.
func (e *env) clockedStore() {
	e.store.Store.(*Memory).now = e.clock.Now
}

func (e *env) mustTombstone(key Key, version int64) {
	e.t.Helper()
	rec, err := e.store.Load(ctx, key)
	if err != nil || !rec.IsTombstone() || rec.Version != version || rec.RefreshToken != nil || !rec.AccessExpiresAt.IsZero() {
		e.t.Fatalf("stored %s: version %d, tombstone %v, %v; want a tombstone at version %d", key, rec.Version, rec.IsTombstone(), err, version)
	}
}

func TestRefusedGrantIsBuriedForTheFleet(t *testing.T) {
	key := Key{Shop: testShop, Mode: Offline}
	tests := []struct {
		name string
		// refuse makes Shopify refuse the shop's grant and has m find out,
		// returning the error m answered.
		refuse func(e *env, m *Manager, tok Token) error
	}{
		{"refresh refused in the margin (OfflineFor)", func(e *env, m *Manager, tok Token) error {
			e.fake.Revoke(testShop)
			e.clock.Advance(time.Hour - time.Minute)
			_, err := m.OfflineFor(ctx, testShop)
			return err
		}},
		{"401, then the refresh refused (RefreshAfterUnauthorized)", func(e *env, m *Manager, tok Token) error {
			e.fake.Revoke(testShop)
			_, err := m.RefreshAfterUnauthorized(ctx, tok)
			return err
		}},
		{"401 after the refresh token expired", func(e *env, m *Manager, tok Token) error {
			e.clock.Advance(91 * 24 * time.Hour)
			e.fake.Revoke(testShop)
			_, err := m.RefreshAfterUnauthorized(ctx, tok)
			return err
		}},
		{"both tokens expired (OfflineFor, no request)", func(e *env, m *Manager, tok Token) error {
			e.clock.Advance(91 * 24 * time.Hour)
			_, err := m.OfflineFor(ctx, testShop)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			m1, m2 := e.manager(), e.manager()
			s, id := e.session(testShop, "42")
			first, err := m1.Offline(ctx, s, id)
			if err != nil {
				t.Fatal(err)
			}
			// m2 has the token in its cache, as another instance would.
			if tok, err := m2.OfflineFor(ctx, testShop); err != nil || tok.Value() != first.Value() {
				t.Fatalf("m2: %v", err)
			}
			mustErrIs(t, tt.refuse(e, m1, first), ErrReauthorize)
			e.mustTombstone(key, 2)
			grants := e.fake.GrantCounts()

			// Every instance knows without asking Shopify: the 401 of the
			// token another instance still had cached (for at most the
			// cache TTL), then OfflineFor.
			for i, m := range []*Manager{m1, m2, e.manager()} {
				_, err := m.RefreshAfterUnauthorized(ctx, first)
				mustErrIs(t, err, ErrReauthorize)
				_, err = m.OfflineFor(ctx, testShop)
				mustErrIs(t, err, ErrReauthorize)
				_, err = m.MigrateToExpiring(ctx, testShop)
				mustErrIs(t, err, ErrReauthorize)
				if c := e.fake.GrantCounts(); c != grants {
					t.Fatalf("instance %d asked Shopify about a buried grant: %+v, then %+v", i, grants, c)
				}
			}
			due, err := e.store.Expiring(ctx, e.clock.Now().Add(time.Hour), 10)
			if err != nil || len(due) != 0 {
				t.Fatalf("Expiring = %v, %v; want the buried shop left out", due, err)
			}

			// The merchant opens the app on any instance: one exchange for
			// the fleet, a token Shopify honours, served everywhere.
			s, id = e.session(testShop, "42")
			var wg sync.WaitGroup
			toks := make([]Token, 6)
			errs := make([]error, len(toks))
			for i := range toks {
				m := []*Manager{m1, m2}[i%2]
				wg.Go(func() { toks[i], errs[i] = m.Offline(ctx, s, id) })
			}
			wg.Wait()
			for i := range toks {
				if errs[i] != nil || toks[i].Value() != toks[0].Value() || toks[i].Value() == first.Value() {
					t.Fatalf("caller %d after re-authorizing: %v (another token, or the refused one)", i, errs[i])
				}
			}
			if !e.fake.AccessTokenValid(testShop, toks[0].Value()) {
				t.Fatal("the token after re-authorizing is not honoured")
			}
			if c := e.fake.GrantCounts(); c.Exchange != grants.Exchange+1 {
				t.Fatalf("%d exchanges after re-authorizing, want 1", c.Exchange-grants.Exchange)
			}
			if rec, err := e.store.Load(ctx, key); err != nil || rec.Version != 3 || rec.IsTombstone() {
				t.Fatalf("stored after re-authorizing: version %d, %v; want version 3", rec.Version, err)
			}
			for _, m := range []*Manager{m1, m2} {
				if tok, err := m.OfflineFor(ctx, testShop); err != nil || tok.Value() != toks[0].Value() {
					t.Fatalf("OfflineFor after re-authorizing: %v", err)
				}
			}
		})
	}
}

func TestRejectedTokenWithoutRefreshIsBuried(t *testing.T) {
	t.Run("non-expiring offline", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		tok := storeNonExpiring(t, e, m)
		e.fake.Revoke(testShop)
		_, err := m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize)
		e.mustTombstone(Key{Shop: testShop, Mode: Offline}, 2)
		_, err = e.manager().OfflineFor(ctx, testShop)
		mustErrIs(t, err, ErrReauthorize)
		if ne, err := e.store.NonExpiring(ctx, "", 10); err != nil || len(ne) != 0 {
			t.Fatalf("NonExpiring = %v, %v; want the buried shop left out", ne, err)
		}
		// An import replaces the tombstone (the app installed again
		// through the authorization code grant).
		plain := e.fake.IssueAccessToken(testShop, shopifytest.DefaultScope, 0)
		if _, err := m.ImportOffline(ctx, testShop, plain, shopifytest.DefaultScope); err != nil {
			t.Fatalf("import over a tombstone: %v", err)
		}
		if got, err := e.manager().OfflineFor(ctx, testShop); err != nil || got.Value() != plain {
			t.Fatalf("after the import: %v", err)
		}
		if n := e.fake.Requests(shopifytest.RouteOAuthAccessToken); n != 0 {
			t.Errorf("%d token requests, want none", n)
		}
	})
	t.Run("online", func(t *testing.T) {
		e := newEnv(t)
		m := e.manager()
		s, id := e.session(testShop, "77")
		tok, err := m.Online(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}
		e.fake.Revoke(testShop)
		_, err = m.RefreshAfterUnauthorized(ctx, tok)
		mustErrIs(t, err, ErrReauthorize)
		e.mustTombstone(tok.Key(), 2)
		// The same user's next request exchanges instead of serving the
		// rejected token until it expires.
		again, err := e.manager().Online(ctx, s, id)
		if err != nil || again.Value() == tok.Value() || !e.fake.AccessTokenValid(testShop, again.Value()) {
			t.Fatalf("Online after the 401: %v (the rejected token, or one not honoured)", err)
		}
	})
}

// TestExpiringIsNotFilledByDeadGrants: a refresher pages through
// Expiring; shops whose grant Shopify refused must not take the page from
// the live shop that needs it.
func TestExpiringIsNotFilledByDeadGrants(t *testing.T) {
	e := newEnv(t)
	m := e.manager()
	var dead []string
	for i := range 4 {
		shop := string(rune('a'+i)) + "-dead.myshopify.com"
		s, id := e.session(shop, "42")
		if _, err := m.Offline(ctx, s, id); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, shop)
	}
	e.clock.Advance(time.Minute) // the live shop expires after the dead ones
	live := e.offline(t, m, testShop, "42")
	for _, shop := range dead {
		e.fake.Revoke(shop)
	}
	e.clock.Advance(time.Hour - 2*time.Minute) // every shop is due
	// The refresher: one page as long as the dead shops, twice.
	for round := range 2 {
		page, err := e.store.Expiring(ctx, e.clock.Now().Add(DefaultRefreshMargin), len(dead))
		if err != nil {
			t.Fatal(err)
		}
		var refreshed bool
		for _, k := range page {
			tok, err := m.OfflineFor(ctx, k.Shop)
			switch {
			case k.Shop == testShop && err == nil:
				refreshed = tok.Value() != live.Value()
			case !slices.Contains(dead, k.Shop) || !errors.Is(err, ErrReauthorize):
				t.Fatalf("round %d: %s: %v", round, k.Shop, err)
			}
		}
		if round == 1 && !refreshed {
			t.Fatalf("round %d: page %v: the dead shops took the live shop's place", round, page)
		}
	}
	if c := e.fake.GrantCounts(); c.Refresh != len(dead)+1 || c.Refused != len(dead) {
		t.Errorf("grants %+v: want one refresh per shop, the dead ones refused once each", c)
	}
}

// stallStore stops the second Load (the re-read under the lock) of the
// Manager using it after it has read, until released: a holder frozen
// with what it read while its lease ends.
type stallStore struct {
	Store
	loads   int
	mu      sync.Mutex
	stalled chan struct{}
	resume  chan struct{}
	swapErr error
}

func (s *stallStore) Load(ctx context.Context, k Key) (Record, error) {
	rec, err := s.Store.Load(ctx, k)
	s.mu.Lock()
	s.loads++
	n := s.loads
	s.mu.Unlock()
	if n == 2 {
		close(s.stalled)
		<-s.resume
	}
	return rec, err
}

func (s *stallStore) CompareAndSwap(ctx context.Context, l Lease, r Record) error {
	err := s.Store.CompareAndSwap(ctx, l, r)
	s.mu.Lock()
	if s.swapErr == nil {
		s.swapErr = err
	}
	s.mu.Unlock()
	return err
}

// adminCall uses tok with the fake's Admin API, as an app's call would
// (it ends the grace of the refresh token tok's grant replaced).
func adminCall(t *testing.T, e *env, tok Token) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.fake.URL+"/admin/api/2026-10/graphql.json", strings.NewReader(`{"query":"{ shop { name } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = testShop
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", tok.Value())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("admin call: %d", res.StatusCode)
	}
}

// TestStaleHolderCannotBuryItsSuccessor: a holder reads the record, then
// stalls past its lease; its successor refreshes and the app uses the new
// token, which ends the old refresh token's grace. The stale holder's
// refresh is then refused (invalid_grant), but its tombstone is fenced:
// the successor's token stays stored and is what the stale holder
// returns.
func TestStaleHolderCannotBuryItsSuccessor(t *testing.T) {
	e := newEnv(t)
	e.clockedStore()
	seed := e.manager(WithCacheTTL(0))
	s, id := e.session(testShop, "42")
	if _, err := seed.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour - time.Minute) // due

	st := &stallStore{Store: e.store, stalled: make(chan struct{}), resume: make(chan struct{})}
	holder := e.manager(WithCacheTTL(0))
	holder.store = st
	var held Token
	var heldErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		held, heldErr = holder.OfflineFor(ctx, testShop)
	}()
	<-st.stalled
	e.clock.Advance(DefaultLease + time.Second) // the holder's lease ends

	successor := e.manager(WithCacheTTL(0))
	tok, err := successor.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	adminCall(t, e, tok)
	close(st.resume)
	<-done

	if heldErr != nil || held.Value() != tok.Value() {
		t.Fatalf("stale holder: %v; want its successor's token", heldErr)
	}
	if !errors.Is(st.swapErr, ErrFenced) {
		t.Fatalf("the stale holder's tombstone: %v, want ErrFenced", st.swapErr)
	}
	if c := e.fake.GrantCounts(); c.Refresh != 2 || c.Refused != 1 {
		t.Fatalf("grants %+v: want the successor's refresh and the stale holder's, refused", c)
	}
	stored, err := e.manager(WithCacheTTL(0)).OfflineFor(ctx, testShop)
	if err != nil || stored.Value() != tok.Value() || !e.fake.AccessTokenValid(testShop, stored.Value()) {
		t.Fatalf("stored: %v; want the successor's live token", err)
	}
}
