package webhooktest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/webhook"
)

// Durations of the contract checks: short enough to wait out, long enough
// that a store on a busy machine answers within them.
const (
	shortLease = 150 * time.Millisecond
	longLease  = time.Minute
	shortKeep  = 150 * time.Millisecond
	pastShort  = 400 * time.Millisecond
)

// TestDeduper checks that the Deduper newDeduper returns keeps
// webhook.Deduper's contract. newDeduper is called once per subtest and
// may register cleanups on its t.
func TestDeduper(t *testing.T, newDeduper func(t *testing.T) webhook.Deduper) {
	t.Helper()
	ctx := context.Background()
	id := func(t *testing.T) string { return "wh-" + t.Name() }

	claim := func(t *testing.T, d webhook.Deduper, id string, lease time.Duration) (int64, bool) {
		t.Helper()
		c, done, err := d.ClaimDelivery(ctx, id, lease)
		if err != nil {
			t.Fatalf("ClaimDelivery(%q): %v", id, err)
		}
		if c < 0 || (c > 0 && done) {
			t.Fatalf("ClaimDelivery(%q) = (%d, %v): want a positive claim, done, or neither", id, c, done)
		}
		return c, done
	}
	wantFree := func(t *testing.T, d webhook.Deduper, id string, after int64) int64 {
		t.Helper()
		c, done := claim(t, d, id, longLease)
		if c <= 0 || done {
			t.Fatalf("ClaimDelivery(%q) = (%d, %v), want a new claim", id, c, done)
		}
		if c <= after {
			t.Fatalf("ClaimDelivery(%q) = %d, want a claim larger than the earlier %d", id, c, after)
		}
		return c
	}
	wantHeld := func(t *testing.T, d webhook.Deduper, id string) {
		t.Helper()
		if c, done := claim(t, d, id, longLease); c != 0 || done {
			t.Fatalf("ClaimDelivery(%q) = (%d, %v), want (0, false): claimed by a live holder", id, c, done)
		}
	}
	wantDone := func(t *testing.T, d webhook.Deduper, id string) {
		t.Helper()
		if c, done := claim(t, d, id, longLease); c != 0 || !done {
			t.Fatalf("ClaimDelivery(%q) = (%d, %v), want (0, true): handled", id, c, done)
		}
	}
	complete := func(t *testing.T, d webhook.Deduper, id string, c int64, keep time.Duration) {
		t.Helper()
		if err := d.CompleteDelivery(ctx, id, c, keep); err != nil {
			t.Fatalf("CompleteDelivery(%q, %d): %v", id, c, err)
		}
	}
	release := func(t *testing.T, d webhook.Deduper, id string, c int64) {
		t.Helper()
		if err := d.ReleaseDelivery(ctx, id, c); err != nil {
			t.Fatalf("ReleaseDelivery(%q, %d): %v", id, c, err)
		}
	}

	t.Run("first claim owns the delivery", func(t *testing.T) {
		wantFree(t, newDeduper(t), id(t), 0)
	})
	t.Run("a live claim holds off others", func(t *testing.T) {
		d := newDeduper(t)
		wantFree(t, d, id(t), 0)
		wantHeld(t, d, id(t))
		wantHeld(t, d, id(t))
	})
	t.Run("ids are independent", func(t *testing.T) {
		d := newDeduper(t)
		wantFree(t, d, id(t)+"-a", 0)
		wantFree(t, d, id(t)+"-b", 0)
	})
	t.Run("release frees for a larger claim", func(t *testing.T) {
		d := newDeduper(t)
		c1 := wantFree(t, d, id(t), 0)
		release(t, d, id(t), c1)
		c2 := wantFree(t, d, id(t), c1)
		release(t, d, id(t), c2)
		wantFree(t, d, id(t), c2)
	})
	t.Run("complete records done", func(t *testing.T) {
		d := newDeduper(t)
		c := wantFree(t, d, id(t), 0)
		complete(t, d, id(t), c, time.Hour)
		wantDone(t, d, id(t))
		wantDone(t, d, id(t))
	})
	t.Run("release never frees a done delivery", func(t *testing.T) {
		d := newDeduper(t)
		c := wantFree(t, d, id(t), 0)
		complete(t, d, id(t), c, time.Hour)
		release(t, d, id(t), c)
		wantDone(t, d, id(t))
	})
	t.Run("a lease ends by itself", func(t *testing.T) {
		d := newDeduper(t)
		c1, _ := claim(t, d, id(t), shortLease)
		if c1 <= 0 {
			t.Fatalf("first claim = %d", c1)
		}
		time.Sleep(pastShort)
		wantFree(t, d, id(t), c1)
	})
	t.Run("release of a superseded claim is a no-op", func(t *testing.T) {
		d := newDeduper(t)
		c1, _ := claim(t, d, id(t), shortLease)
		if c1 <= 0 {
			t.Fatalf("first claim = %d", c1)
		}
		time.Sleep(pastShort)
		wantFree(t, d, id(t), c1) // the second holder, for a long lease
		release(t, d, id(t), c1)  // the first holder, late
		wantHeld(t, d, id(t))
	})
	t.Run("complete by a superseded claim still records done", func(t *testing.T) {
		d := newDeduper(t)
		c1, _ := claim(t, d, id(t), shortLease)
		if c1 <= 0 {
			t.Fatalf("first claim = %d", c1)
		}
		time.Sleep(pastShort)
		c2 := wantFree(t, d, id(t), c1)
		complete(t, d, id(t), c1, time.Hour) // the first holder's handler ran
		wantDone(t, d, id(t))
		release(t, d, id(t), c2) // the second holder failed: still done
		wantDone(t, d, id(t))
	})
	t.Run("done ends after the retention", func(t *testing.T) {
		d := newDeduper(t)
		c := wantFree(t, d, id(t), 0)
		complete(t, d, id(t), c, shortKeep)
		wantDone(t, d, id(t))
		time.Sleep(pastShort)
		wantFree(t, d, id(t), c)
	})
	t.Run("concurrent claims: one winner", func(t *testing.T) {
		d := newDeduper(t)
		const n = 32
		var wg sync.WaitGroup
		claims := make([]int64, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				claims[i], _, errs[i] = d.ClaimDelivery(ctx, id(t), longLease)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("ClaimDelivery: %v", errs[i])
			}
			if claims[i] > 0 {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent claims won, want exactly 1", won, n)
		}
	})
	t.Run("a cancelled context is an error", func(t *testing.T) {
		d := newDeduper(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := d.ClaimDelivery(cctx, id(t), longLease); err == nil {
			t.Fatal("ClaimDelivery with a cancelled context: no error")
		}
	})
}
