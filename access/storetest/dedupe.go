package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/webhook"
)

// DeduperBackend is Backend for a webhook.Deduper: it makes one fresh,
// empty namespace per subtest and returns a function that opens a new
// client of it.
type DeduperBackend func(t *testing.T) (open func() webhook.Deduper)

// RunDeduper runs the conformance suite of webhook.Deduper against the
// deduplicator newBackend makes, each case in its own subtest (in
// parallel, with its own backend). Run calls it for every store that
// implements webhook.Deduper.
func RunDeduper(t *testing.T, newBackend DeduperBackend) {
	t.Helper()
	for _, c := range dedupeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			t.Cleanup(cancel)
			open := newBackend(t)
			c.run(&dedupeFixture{T: t, ctx: ctx, open: open, d: open()})
		})
	}
}

type dedupeFixture struct {
	*testing.T
	ctx  context.Context
	open func() webhook.Deduper
	d    webhook.Deduper
}

var dedupeCases = []struct {
	name string
	run  func(f *dedupeFixture)
}{
	{"ClaimOnce", claimOnce},
	{"CompletedIsDone", completedIsDone},
	{"ReleasedIsClaimedAgain", releasedIsClaimedAgain},
	{"StaleReleaseIsNoOp", staleReleaseIsNoOp},
	{"ClaimLeaseEnds", claimLeaseEnds},
	{"RetentionEnds", retentionEnds},
	{"CompleteWhateverClaimHolds", completeWhateverClaimHolds},
	{"ClaimNumbersGrow", claimNumbersGrow},
	{"IDsAreIndependent", idsAreIndependent},
	{"RejectsBadDurations", rejectsBadDurations},
	{"ConcurrentClaims", concurrentClaims},
	{"ContextCanceled", dedupeContextCanceled},
}

const deliveryID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"

// claim claims id on d and checks the outcome: want "claim" (a positive
// claim number, returned), "done" or "busy" (claimed elsewhere).
func (f *dedupeFixture) claim(d webhook.Deduper, id string, lease time.Duration, want string) int64 {
	f.Helper()
	c, done, err := d.ClaimDelivery(f.ctx, id, lease)
	if err != nil {
		f.Fatalf("ClaimDelivery(%q): %v", id, err)
	}
	got := "busy"
	switch {
	case c < 0 || (c > 0 && done):
		f.Fatalf("ClaimDelivery(%q) = %d, done %v: a claim is positive and never done", id, c, done)
	case c > 0:
		got = "claim"
	case done:
		got = "done"
	}
	if got != want {
		f.Fatalf("ClaimDelivery(%q) = %d, done %v (%s), want %s", id, c, done, got, want)
	}
	return c
}

func claimOnce(f *dedupeFixture) {
	c := f.claim(f.d, deliveryID, longLease, "claim")
	f.claim(f.d, deliveryID, longLease, "busy")
	f.claim(f.open(), deliveryID, longLease, "busy")
	_ = c
}

func completedIsDone(f *dedupeFixture) {
	c := f.claim(f.d, deliveryID, longLease, "claim")
	if err := f.d.CompleteDelivery(f.ctx, deliveryID, c, time.Hour); err != nil {
		f.Fatalf("CompleteDelivery: %v", err)
	}
	other := f.open()
	f.claim(other, deliveryID, longLease, "done")
	// Releasing after completion (a handler's deferred release) changes
	// nothing.
	if err := f.d.ReleaseDelivery(f.ctx, deliveryID, c); err != nil {
		f.Fatal(err)
	}
	f.claim(other, deliveryID, longLease, "done")
}

func releasedIsClaimedAgain(f *dedupeFixture) {
	// The handler failed: Shopify's retry must be handled.
	c1 := f.claim(f.d, deliveryID, longLease, "claim")
	if err := f.d.ReleaseDelivery(f.ctx, deliveryID, c1); err != nil {
		f.Fatalf("ReleaseDelivery: %v", err)
	}
	c2 := f.claim(f.open(), deliveryID, longLease, "claim")
	if c2 <= c1 {
		f.Fatalf("claim %d after %d: must grow", c2, c1)
	}
	// Releasing twice is a no-op, and does not free the new claim.
	if err := f.d.ReleaseDelivery(f.ctx, deliveryID, c1); err != nil {
		f.Fatal(err)
	}
	f.claim(f.d, deliveryID, longLease, "busy")
	// Releasing an id never claimed is a no-op.
	if err := f.d.ReleaseDelivery(f.ctx, "never-"+deliveryID, 1); err != nil {
		f.Fatal(err)
	}
}

func staleReleaseIsNoOp(f *dedupeFixture) {
	// A handler that outlived its claim's lease releases after another
	// instance claimed the delivery: the newer claim survives.
	c1 := f.claim(f.d, deliveryID, shortLease, "claim")
	other := f.open()
	c2 := f.waitClaim(other, deliveryID, longLease)
	if c2 <= c1 {
		f.Fatalf("claim %d after %d: must grow", c2, c1)
	}
	if err := f.d.ReleaseDelivery(f.ctx, deliveryID, c1); err != nil {
		f.Fatal(err)
	}
	f.claim(f.d, deliveryID, longLease, "busy")
	for _, forged := range []int64{0, -1, c2 + 1} {
		if err := f.d.ReleaseDelivery(f.ctx, deliveryID, forged); err != nil {
			f.Fatal(err)
		}
		f.claim(f.d, deliveryID, longLease, "busy")
	}
	if err := other.ReleaseDelivery(f.ctx, deliveryID, c2); err != nil {
		f.Fatal(err)
	}
	f.claim(f.d, deliveryID, longLease, "claim")
}

// waitClaim polls until id can be claimed on d (a previous claim's lease
// or a done record's retention ended).
func (f *dedupeFixture) waitClaim(d webhook.Deduper, id string, lease time.Duration) int64 {
	f.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, _, err := d.ClaimDelivery(f.ctx, id, lease)
		if err != nil {
			f.Fatalf("ClaimDelivery(%q): %v", id, err)
		}
		if c > 0 {
			return c
		}
		if time.Now().After(deadline) {
			f.Fatalf("ClaimDelivery(%q): not claimable after %v: claims and done records must end", id, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func claimLeaseEnds(f *dedupeFixture) {
	// A handler's process died mid-delivery: once the claim's lease ends,
	// Shopify's retry is handled elsewhere.
	start := time.Now()
	c1 := f.claim(f.d, deliveryID, shortLease, "claim")
	c2 := f.waitClaim(f.open(), deliveryID, longLease)
	if waited := time.Since(start); waited < shortLease {
		f.Fatalf("claimed again after %v, before the first claim's lease of %v ended", waited, shortLease)
	}
	if c2 <= c1 {
		f.Fatalf("claim %d after %d: must grow", c2, c1)
	}
}

func retentionEnds(f *dedupeFixture) {
	c := f.claim(f.d, deliveryID, longLease, "claim")
	start := time.Now()
	if err := f.d.CompleteDelivery(f.ctx, deliveryID, c, shortLease); err != nil {
		f.Fatal(err)
	}
	f.claim(f.d, deliveryID, longLease, "done")
	c2 := f.waitClaim(f.open(), deliveryID, longLease)
	if waited := time.Since(start); waited < shortLease {
		f.Fatalf("claimed again %v after completion, before its retention of %v ended", waited, shortLease)
	}
	if c2 <= c {
		f.Fatalf("claim %d after %d: must grow", c2, c)
	}
}

func completeWhateverClaimHolds(f *dedupeFixture) {
	// The first handler ran past its lease and a second instance claimed
	// the delivery; the first then completes: the handler ran, so the
	// delivery is done, and the second instance's release cannot undo it.
	c1 := f.claim(f.d, deliveryID, shortLease, "claim")
	other := f.open()
	c2 := f.waitClaim(other, deliveryID, longLease)
	if err := f.d.CompleteDelivery(f.ctx, deliveryID, c1, time.Hour); err != nil {
		f.Fatal(err)
	}
	f.claim(other, deliveryID, longLease, "done")
	if err := other.ReleaseDelivery(f.ctx, deliveryID, c2); err != nil {
		f.Fatal(err)
	}
	f.claim(f.d, deliveryID, longLease, "done")

	// Completing an id nobody claimed records it too.
	if err := f.d.CompleteDelivery(f.ctx, "unclaimed-"+deliveryID, 0, time.Hour); err != nil {
		f.Fatal(err)
	}
	f.claim(other, "unclaimed-"+deliveryID, longLease, "done")
}

func claimNumbersGrow(f *dedupeFixture) {
	// Across clients and ids, and after a done record ended: every claim
	// number is larger than all before it.
	clients := []webhook.Deduper{f.d, f.open(), f.open()}
	var last int64
	for i := range 12 {
		d := clients[i%len(clients)]
		id := fmt.Sprintf("%s-%d", deliveryID, i%2)
		c := f.claim(d, id, longLease, "claim")
		if c <= last {
			f.Fatalf("claim %d: number %d after %d, must grow", i, c, last)
		}
		last = c
		if err := clients[(i+1)%len(clients)].ReleaseDelivery(f.ctx, id, c); err != nil {
			f.Fatal(err)
		}
	}
	c := f.claim(f.d, deliveryID, longLease, "claim")
	if err := f.d.CompleteDelivery(f.ctx, deliveryID, c, shortLease); err != nil {
		f.Fatal(err)
	}
	if again := f.waitClaim(clients[1], deliveryID, longLease); again <= c {
		f.Fatalf("claim %d after the done record of claim %d ended: must grow", again, c)
	}
}

func idsAreIndependent(f *dedupeFixture) {
	ids := []string{
		deliveryID, strings.ToUpper(deliveryID), deliveryID + " ", "a:b", "a", "a*", "*",
		"ünïcode-😀", strings.Repeat("x", 512), "with\nnewline", "with'quote\"", "%", "_",
	}
	claims := map[string]int64{}
	for _, id := range ids {
		claims[id] = f.claim(f.d, id, longLease, "claim")
	}
	other := f.open()
	for i, id := range ids {
		switch i % 3 {
		case 0:
			if err := other.CompleteDelivery(f.ctx, id, claims[id], time.Hour); err != nil {
				f.Fatal(err)
			}
		case 1:
			if err := other.ReleaseDelivery(f.ctx, id, claims[id]); err != nil {
				f.Fatal(err)
			}
		}
	}
	for i, id := range ids {
		want := []string{"done", "claim", "busy"}[i%3]
		f.claim(f.d, id, longLease, want)
	}
}

func rejectsBadDurations(f *dedupeFixture) {
	for _, d := range []time.Duration{0, -time.Second} {
		if c, done, err := f.d.ClaimDelivery(f.ctx, deliveryID, d); err == nil {
			f.Fatalf("ClaimDelivery with lease %v = %d, %v, nil; want an error", d, c, done)
		}
	}
	// The refused calls claimed nothing.
	f.claim(f.open(), deliveryID, longLease, "claim")
}

func concurrentClaims(f *dedupeFixture) {
	// Shopify delivers the same webhook to several instances at once:
	// exactly one claims each delivery.
	const instances, deliveries = 8, 10
	clients := make([]webhook.Deduper, instances)
	for i := range clients {
		clients[i] = f.open()
	}
	wins := make([]int, deliveries)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, instances*deliveries)
	start := make(chan struct{})
	for _, d := range clients {
		for n := range deliveries {
			wg.Go(func() {
				<-start
				c, done, err := d.ClaimDelivery(f.ctx, fmt.Sprintf("%s-%d", deliveryID, n), longLease)
				switch {
				case err != nil:
					errs <- err
				case done:
					errs <- fmt.Errorf("delivery %d reported done, never completed", n)
				case c > 0:
					mu.Lock()
					wins[n]++
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		f.Fatal(err)
	}
	for n, w := range wins {
		if w != 1 {
			f.Fatalf("delivery %d claimed %d times by %d concurrent instances, want exactly once", n, w, instances)
		}
	}
}

func dedupeContextCanceled(f *dedupeFixture) {
	c := f.claim(f.d, deliveryID, longLease, "claim")
	ctx, cancel := context.WithCancel(f.ctx)
	cancel()
	d := f.open()
	calls := []struct {
		name string
		call func() error
	}{
		{"ClaimDelivery", func() error { _, _, err := d.ClaimDelivery(ctx, "other-"+deliveryID, longLease); return err }},
		{"CompleteDelivery", func() error { return d.CompleteDelivery(ctx, deliveryID, c, time.Hour) }},
		{"ReleaseDelivery", func() error { return d.ReleaseDelivery(ctx, deliveryID, c) }},
	}
	for _, call := range calls {
		if err := call.call(); !errors.Is(err, context.Canceled) {
			f.Errorf("%s with a canceled context: %v, want context.Canceled", call.name, err)
		}
	}
	// None of them did anything.
	f.claim(f.d, deliveryID, longLease, "busy")
	f.claim(f.d, "other-"+deliveryID, longLease, "claim")
}
