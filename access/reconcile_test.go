package access

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/shopifytest"
)

// A holder's refresh and its successor's can reach Shopify in either
// order once the holder's lease has ended under it (a process paused with
// its request on the way: its own timers are paused too, so its request
// timeout does not fire). Shopify keeps the pair it issued last; these
// tests check that the fleet ends up storing that pair whichever it is.

// holdTransport stalls the first token request it carries until release
// is closed: before the fake sees it (the request is late: Shopify
// processes it after any request sent meanwhile), or after the fake
// answered it (the answer is late: Shopify processed it first). It
// ignores the request's context while it stalls, as a paused process
// does.
type holdTransport struct {
	next     http.RoundTripper
	late     bool // true: stall before the fake sees the request
	armed    atomic.Bool
	held     chan struct{} // closed once the request is stalled
	answered chan struct{} // closed once the fake answered it
	release  chan struct{}
}

func newHoldTransport(t *testing.T, late bool) *holdTransport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	h := &holdTransport{next: tr, late: late, held: make(chan struct{}), answered: make(chan struct{}), release: make(chan struct{})}
	h.armed.Store(true)
	return h
}

func (h *holdTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != tokenPath || !h.armed.CompareAndSwap(true, false) {
		return h.next.RoundTrip(req)
	}
	close(h.held)
	if h.late {
		<-h.release
	}
	resp, err := h.next.RoundTrip(req.Clone(context.WithoutCancel(req.Context())))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	close(h.answered)
	if !h.late {
		<-h.release
	}
	return resp, nil
}

// reconcileRun is what one run of the two-holder scenario produced.
type reconcileRun struct {
	e                 *env
	holderTok         Token
	holderErr         error
	successorTok      Token
	successorFrom     time.Time // the fake's clock around the successor's call
	successorTo       time.Time
	holderSwaps       []error // the holder's store writes, in order
	scopeChecksHolder int     // access_scopes.json requests during the holder's return
}

// runTwoHolders seeds an expired pair, lets the holder send its refresh
// and stall (late or with a late answer), lets the successor take over
// once the holder's lease ended, refresh and store, and then lets the
// holder go on.
func runTwoHolders(t *testing.T, late bool) *reconcileRun {
	e := newEnv(t)
	seed := e.fleetManager(e.store)
	s, id := e.session(testShop, "42")
	if _, err := seed.Offline(ctx, s, id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour + time.Second) // expired: only a refresh helps

	hold := newHoldTransport(t, late)
	var swapMu sync.Mutex
	var swaps []error
	recorder := &hookStore{Store: e.store.Store, beforeSwap: func() {}, afterSwap: func(err error) {
		swapMu.Lock()
		swaps = append(swaps, err)
		swapMu.Unlock()
	}}
	holder := e.fleetManager(recorder, WithHTTPClient(&http.Client{Transport: hold}))
	r := &reconcileRun{e: e}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.holderTok, r.holderErr = holder.OfflineFor(ctx, testShop)
	}()
	<-hold.held
	if !late {
		<-hold.answered
	}

	// The successor waits for the holder's lease to end (real time), then
	// refreshes with the refresh token the holder sent too.
	successor := e.fleetManager(e.store)
	r.successorFrom = e.clock.Now()
	tok, err := successor.OfflineFor(ctx, testShop)
	r.successorTo = e.clock.Now()
	if err != nil {
		t.Fatalf("successor: %v", err)
	}
	r.successorTok = tok
	if !e.fake.AccessTokenValidDuring(testShop, tok.Value(), r.successorFrom, r.successorTo) {
		t.Fatal("the successor got a token Shopify did not honour when it was served")
	}
	checks := e.fake.Requests(shopifytest.RouteAccessScopes)

	close(hold.release)
	<-done
	r.scopeChecksHolder = e.fake.Requests(shopifytest.RouteAccessScopes) - checks
	swapMu.Lock()
	r.holderSwaps = append([]error(nil), swaps...)
	swapMu.Unlock()
	return r
}

// checkStoredLive checks that the store holds a pair Shopify honours, and
// that it can be refreshed: the fleet is not left with a revoked pair.
func (r *reconcileRun) checkStoredLive(t *testing.T) Token {
	t.Helper()
	reader := r.e.fleetManager(r.e.store)
	stored, err := reader.OfflineFor(ctx, testShop)
	if err != nil {
		t.Fatalf("stored token: %v", err)
	}
	if !r.e.fake.AccessTokenValid(testShop, stored.Value()) {
		t.Fatal("the store holds an access token Shopify revoked")
	}
	r.e.clock.Advance(time.Hour)
	next, err := reader.OfflineFor(ctx, testShop)
	if err != nil || next.Value() == stored.Value() || !r.e.fake.AccessTokenValid(testShop, next.Value()) {
		t.Fatalf("the stored pair could not be refreshed: %v", err)
	}
	return stored
}

// TestReconcileHolderProcessedLast: the holder's refresh request reaches
// Shopify after its successor's, so Shopify issues the holder a pair that
// revokes the one the successor stored (the refresh token was in grace:
// the successor's pair was never used). The holder's write is fenced; it
// asks Shopify whether its pair is honoured, learns that it is, and
// stores it over the revoked pair.
func TestReconcileHolderProcessedLast(t *testing.T) {
	r := runTwoHolders(t, true)
	if r.holderErr != nil {
		t.Fatalf("holder: %v", r.holderErr)
	}
	if r.e.fake.AccessTokenValid(testShop, r.successorTok.Value()) {
		t.Fatal("the successor's pair is still honoured: the holder's request was not processed last")
	}
	if !r.e.fake.AccessTokenValid(testShop, r.holderTok.Value()) {
		t.Error("the holder's caller got a token Shopify does not honour")
	}
	if len(r.holderSwaps) != 2 || !errors.Is(r.holderSwaps[0], ErrFenced) || r.holderSwaps[1] != nil {
		t.Errorf("the holder's writes returned %v: want ErrFenced, then its pair stored after the check", r.holderSwaps)
	}
	if r.scopeChecksHolder != 1 {
		t.Errorf("%d token checks after the fenced write, want 1", r.scopeChecksHolder)
	}
	stored := r.checkStoredLive(t)
	if stored.Value() != r.holderTok.Value() {
		t.Error("the store holds another token than the holder returned")
	}
	if c := r.e.fake.GrantCounts(); c.Refresh != 3 || c.RefreshInGrace != 1 || c.Refused != 0 {
		t.Errorf("grant counts %+v: want the successor's refresh, the holder's in grace, and the check's follow-up refresh", c)
	}
}

// TestReconcileHolderProcessedFirst: Shopify processes the holder's
// refresh first, but its answer is late; the successor's refresh revokes
// the holder's pair. The holder's write is fenced, its check is refused,
// and it serves what the successor stored, which stays stored.
func TestReconcileHolderProcessedFirst(t *testing.T) {
	r := runTwoHolders(t, false)
	if r.holderErr != nil {
		t.Fatalf("holder: %v", r.holderErr)
	}
	if len(r.holderSwaps) != 1 || !errors.Is(r.holderSwaps[0], ErrFenced) {
		t.Fatalf("the holder's writes returned %v: want only ErrFenced", r.holderSwaps)
	}
	if r.scopeChecksHolder != 1 {
		t.Errorf("%d token checks after the fenced write, want 1", r.scopeChecksHolder)
	}
	if r.holderTok.Value() != r.successorTok.Value() {
		t.Error("the holder did not serve its successor's stored token")
	}
	if !r.e.fake.AccessTokenValid(testShop, r.successorTok.Value()) {
		t.Fatal("the successor's token is not honoured")
	}
	stored := r.checkStoredLive(t)
	if stored.Value() != r.successorTok.Value() {
		t.Error("the successor's pair was replaced")
	}
	if c := r.e.fake.GrantCounts(); c.Refresh != 3 || c.RefreshInGrace != 1 || c.Refused != 0 {
		t.Errorf("grant counts %+v: want the holder's refresh, the successor's in grace, and the follow-up refresh", c)
	}
}
