package access

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fleet code must survive a process dying at any line. These tests stop
// one Manager (the holder) between every two steps of a refresh, let
// another take over, and then let the stopped one resume: the survivor
// gets a token Shopify honours, the stale holder never overwrites what
// its successor stored, and the stored pair stays refreshable.

var errKilled = errors.New("test: the holder died here")

// killStore stops the first call at its kill point until released; the
// stopped call then returns errKilled (a dead process's call never
// completes for it).
type killStore struct {
	Store
	at       string // "lock", "reload", "cas-before", "cas-after", "unlock"
	armed    atomic.Bool
	loads    atomic.Int64
	stopped  chan struct{}
	release  chan struct{}
	casErrMu sync.Mutex
	casErrs  []error
}

func newKillStore(s Store, at string) *killStore {
	k := &killStore{Store: s, at: at, stopped: make(chan struct{}), release: make(chan struct{})}
	k.armed.Store(true)
	return k
}

func (k *killStore) stop(point string) bool {
	if k.at != point || !k.armed.CompareAndSwap(true, false) {
		return false
	}
	close(k.stopped)
	<-k.release
	return true
}

func (k *killStore) Load(ctx context.Context, key Key) (Record, error) {
	if k.loads.Add(1) == 2 && k.stop("reload") { // the re-read under the lock
		return Record{}, errKilled
	}
	return k.Store.Load(ctx, key)
}

func (k *killStore) Lock(ctx context.Context, key Key, d time.Duration) (Lease, error) {
	l, err := k.Store.Lock(ctx, key, d)
	if err == nil && k.stop("lock") {
		return Lease{}, errKilled
	}
	return l, err
}

func (k *killStore) CompareAndSwap(ctx context.Context, l Lease, r Record) error {
	if k.stop("cas-before") {
		return errKilled
	}
	err := k.Store.CompareAndSwap(ctx, l, r)
	k.casErrMu.Lock()
	k.casErrs = append(k.casErrs, err)
	k.casErrMu.Unlock()
	if err == nil && k.stop("cas-after") {
		return errKilled
	}
	return err
}

func (k *killStore) Unlock(ctx context.Context, l Lease) error {
	if k.stop("unlock") {
		return errKilled
	}
	return k.Store.Unlock(ctx, l)
}

// fleetManager makes a Manager on store with a short lease and real waits.
func (e *env) fleetManager(store Store, opts ...Option) *Manager {
	e.t.Helper()
	m := e.manager(append([]Option{WithLease(300 * time.Millisecond), WithRequestTimeout(200 * time.Millisecond), WithLockWait(3 * time.Second), WithCacheTTL(0)}, opts...)...)
	m.store = store
	m.cfg.sleep = sleepCtx
	m.cfg.jitter = halfJitter
	return m
}

func TestHolderKilledAtEveryStep(t *testing.T) {
	for _, at := range []string{"lock", "reload", "cas-before", "cas-after", "unlock"} {
		t.Run(at, func(t *testing.T) {
			e := newEnv(t)
			seed := e.fleetManager(e.store)
			s, id := e.session(testShop, "42")
			first, err := seed.Offline(ctx, s, id)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour + time.Second) // expired: a refresh is required

			ks := newKillStore(e.store.Store, at)
			holder := e.fleetManager(ks)
			holderDone := make(chan struct{})
			var holderTok Token
			var holderErr error
			go func() {
				defer close(holderDone)
				holderTok, holderErr = holder.OfflineFor(ctx, testShop)
			}()
			<-ks.stopped

			survivor := e.fleetManager(e.store)
			tok, err := survivor.OfflineFor(ctx, testShop)
			if err != nil {
				t.Fatalf("survivor: %v", err)
			}
			if tok.Value() == first.Value() || !e.fake.AccessTokenValid(testShop, tok.Value()) {
				t.Fatal("survivor got the expired token or one Shopify does not honour")
			}

			close(ks.release) // the stopped holder resumes
			<-holderDone
			if holderErr == nil && !e.fake.AccessTokenValid(testShop, holderTok.Value()) && at != "cas-after" && at != "unlock" {
				t.Errorf("the resumed holder returned a token Shopify does not honour")
			}
			ks.casErrMu.Lock()
			for _, err := range ks.casErrs {
				if at == "cas-after" || at == "unlock" {
					continue // its write happened first, before the survivor's
				}
				if !errors.Is(err, ErrFenced) && !errors.Is(err, ErrConflict) {
					t.Errorf("the stale holder's write was not refused: %v", err)
				}
			}
			ks.casErrMu.Unlock()

			// What is stored now is the survivor's pair, or a later one,
			// and it is live: the next refresh succeeds.
			reader := e.fleetManager(e.store)
			stored, err := reader.OfflineFor(ctx, testShop)
			if err != nil || !e.fake.AccessTokenValid(testShop, stored.Value()) {
				t.Fatalf("stored token after the crash: %v", err)
			}
			e.clock.Advance(time.Hour)
			next, err := reader.OfflineFor(ctx, testShop)
			if err != nil || next.Value() == stored.Value() || !e.fake.AccessTokenValid(testShop, next.Value()) {
				t.Fatalf("refresh after the crash: %v", err)
			}
		})
	}
}

// TestStaleHolderWriteIsFenced: the holder gets a new pair from Shopify and
// stalls past its lease before storing it; a successor takes the lock and
// refreshes (the grace rule lets it redeem the refresh token the holder
// used, since the holder's pair was never used); the holder's write is
// refused and it returns what the successor stored.
func TestStaleHolderWriteIsFenced(t *testing.T) {
	e := newEnv(t)
	seed := e.fleetManager(e.store)
	s, id := e.session(testShop, "42")
	if _, err := seed.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour + time.Second)

	stalled := make(chan struct{})
	resume := make(chan struct{})
	var once sync.Once
	var fencedErr atomic.Pointer[error]
	stall := &hookStore{Store: e.store.Store, beforeSwap: func() {
		once.Do(func() { close(stalled); <-resume })
	}, afterSwap: func(err error) { fencedErr.Store(&err) }}
	holder := e.fleetManager(stall)
	var holderTok Token
	var holderErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		holderTok, holderErr = holder.OfflineFor(ctx, testShop)
	}()
	<-stalled
	time.Sleep(350 * time.Millisecond) // real time: the store's lease runs on it

	successor := e.fleetManager(e.store)
	tok, err := successor.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatal(err)
	}
	close(resume)
	<-done
	if holderErr != nil {
		t.Fatalf("stale holder: %v", holderErr)
	}
	if p := fencedErr.Load(); p == nil || !errors.Is(*p, ErrFenced) {
		t.Fatalf("the stale holder's write was not fenced: %v", p)
	}
	if holderTok.Value() != tok.Value() {
		t.Error("the stale holder did not return what its successor stored")
	}
	if !e.fake.AccessTokenValid(testShop, tok.Value()) {
		t.Error("the successor's token is not honoured")
	}
	if c := e.fake.GrantCounts(); c.Refresh != 2 {
		t.Errorf("grant counts %+v: want the holder's and the successor's refresh", c)
	}
}

type hookStore struct {
	Store
	beforeSwap func()
	afterSwap  func(error)
}

func (h *hookStore) CompareAndSwap(ctx context.Context, l Lease, r Record) error {
	h.beforeSwap()
	err := h.Store.CompareAndSwap(ctx, l, r)
	h.afterSwap(err)
	return err
}
