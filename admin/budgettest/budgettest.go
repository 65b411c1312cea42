// Package budgettest is the conformance suite of admin.Budget: every
// implementation (admin.MemoryBudget, access/redisstore's Budget) runs
// Run, so that each paces a fleet the same way.
//
//	func TestBudget(t *testing.T) {
//		budgettest.Run(t, func(t *testing.T) admin.Budget { return newBudget(t) })
//	}
//
// Each case gets a new, empty Budget from the factory and drives it with
// explicit times (Budgets take the time as an argument), so no case
// waits.
package budgettest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/admin"
)

// Start is the time the cases begin at.
var Start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func status(max, avail, rate float64) *admin.ThrottleStatus {
	return &admin.ThrottleStatus{MaximumAvailable: max, CurrentlyAvailable: avail, RestoreRate: rate}
}

// learn makes b know shop's bucket: maximum max, avail available now,
// restoring rate per second.
func learn(t *testing.T, b admin.Budget, shop string, max, avail, rate float64, now time.Time) {
	t.Helper()
	ctx := context.Background()
	r, err := b.Reserve(ctx, shop, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Settle(ctx, r, admin.Answer{Sent: true, Charged: 1, Status: status(max, avail, rate)}, now); err != nil {
		t.Fatal(err)
	}
}

func settle(t *testing.T, b admin.Budget, r admin.Reservation, a admin.Answer, now time.Time) {
	t.Helper()
	if err := b.Settle(context.Background(), r, a, now); err != nil {
		t.Fatal(err)
	}
}

func reserve(t *testing.T, b admin.Budget, shop string, cost float64, now time.Time) admin.Reservation {
	t.Helper()
	r, err := b.Reserve(context.Background(), shop, cost, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Shop != shop || r.Cost != cost || r.ID == "" {
		t.Fatalf("reservation %+v for %s, cost %v", r, shop, cost)
	}
	if d := r.SendAt.Sub(now.Add(r.Wait)); d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("reservation sends at %v, want now + wait = %v", r.SendAt, now.Add(r.Wait))
	}
	return r
}

func wantWait(t *testing.T, r admin.Reservation, want time.Duration) {
	t.Helper()
	if !r.Known {
		t.Fatalf("reservation %+v: budget unknown", r)
	}
	// Implementations may keep whole milliseconds.
	if d := r.Wait - want; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("wait %v, want %v", r.Wait, want)
	}
}

// Run runs the conformance cases against Budgets from newBudget.
func Run(t *testing.T, newBudget func(t *testing.T) admin.Budget) {
	const shop = "budget.myshopify.com"
	ctx := context.Background()

	t.Run("unknown shop: nothing reserved", func(t *testing.T) {
		b := newBudget(t)
		r := reserve(t, b, shop, 50, Start)
		if r.Known || r.Wait != 0 {
			t.Fatalf("unknown shop: %+v", r)
		}
		settle(t, b, r, admin.Answer{Sent: true, Charged: 50}, Start)
		if r := reserve(t, b, shop, 50, Start); r.Known {
			t.Fatal("a settlement without a status taught the budget")
		}
	})

	t.Run("learns from a status, then paces in order", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 50, 10, Start)
		wantWait(t, reserve(t, b, shop, 50, Start), 0)
		wantWait(t, reserve(t, b, shop, 50, Start), 5*time.Second)
		wantWait(t, reserve(t, b, shop, 20, Start), 7*time.Second)
	})

	t.Run("refills at the restore rate up to the maximum", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 0, 10, Start)
		wantWait(t, reserve(t, b, shop, 30, Start.Add(2*time.Second)), time.Second)
		// An hour later: full, never more.
		later := Start.Add(time.Hour)
		wantWait(t, reserve(t, b, shop, 100, later), 0)
		wantWait(t, reserve(t, b, shop, 10, later), time.Second)
	})

	t.Run("the maximum caps what is pending too", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		reserve(t, b, shop, 60, Start) // sent, not yet answered
		// A minute later the bucket holds at most 100 - 60 for others.
		wantWait(t, reserve(t, b, shop, 50, Start.Add(time.Minute)), time.Second)
	})

	t.Run("an answer sets the level, less the others pending", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		r1 := reserve(t, b, shop, 50, Start)
		reserve(t, b, shop, 30, Start) // still pending
		// Shopify charged r1 only 10 (refund) and reports 90 available.
		settle(t, b, r1, admin.Answer{Sent: true, Charged: 10, Status: status(100, 90, 10)}, Start)
		// 90 - 30 pending = 60 left: a 70-point call waits 1 s.
		wantWait(t, reserve(t, b, shop, 70, Start), time.Second)
	})

	t.Run("another consumer seen in an answer is waited for", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		r := reserve(t, b, shop, 10, Start)
		// Someone else spent 80: Shopify reports 10 after this call.
		settle(t, b, r, admin.Answer{Sent: true, Charged: 10, Status: status(100, 10, 10)}, Start)
		wantWait(t, reserve(t, b, shop, 50, Start), 4*time.Second)
	})

	t.Run("answers out of order: the older one does not undo the newer", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		r1 := reserve(t, b, shop, 50, Start)
		r2 := reserve(t, b, shop, 30, Start)
		// Shopify ran r1, then r2 (0.1 s later), but r2's answer comes
		// first: 100 - 50 - 30 + 1 refilled.
		settle(t, b, r2, admin.Answer{Sent: true, Charged: 30, Status: status(100, 21, 10)}, Start.Add(100*time.Millisecond))
		// r1's answer, written before r2 ran: 51. Taken as is it would
		// forget r2's 30 points.
		settle(t, b, r1, admin.Answer{Sent: true, Charged: 50, Status: status(100, 51, 10)}, Start.Add(200*time.Millisecond))
		// 51 - 30 = 21 left: a 30-point call waits 0.9 s.
		wantWait(t, reserve(t, b, shop, 30, Start.Add(200*time.Millisecond)), 900*time.Millisecond)
	})

	t.Run("answers out of order at one instant", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		// Both reserved and sent at Start, after the answer that taught
		// the budget (which therefore counts in both answers).
		r1 := reserve(t, b, shop, 50, Start)
		r2 := reserve(t, b, shop, 30, Start)
		settle(t, b, r2, admin.Answer{Sent: true, Charged: 30, Status: status(100, 20, 10)}, Start)
		settle(t, b, r1, admin.Answer{Sent: true, Charged: 50, Status: status(100, 50, 10)}, Start)
		// 50 - 30 = 20 left (the learning answer not subtracted again).
		wantWait(t, reserve(t, b, shop, 20, Start), 0)
		wantWait(t, reserve(t, b, shop, 10, Start), time.Second)
	})

	t.Run("a THROTTLED answer took nothing", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		r1 := reserve(t, b, shop, 50, Start)
		// Throttled: someone else left only 40.
		settle(t, b, r1, admin.Answer{Sent: true, Charged: 0, Status: status(100, 40, 10)}, Start)
		r2 := reserve(t, b, shop, 30, Start)
		settle(t, b, r2, admin.Answer{Sent: true, Charged: 30, Status: status(100, 10, 10)}, Start)
		// 10 left, not 10 - 50.
		wantWait(t, reserve(t, b, shop, 10, Start), 0)
	})

	t.Run("a reservation never sent gives its points back", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 50, 10, Start)
		wantWait(t, reserve(t, b, shop, 50, Start), 0)
		r := reserve(t, b, shop, 50, Start)
		wantWait(t, r, 5*time.Second)
		settle(t, b, r, admin.Answer{}, Start)
		wantWait(t, reserve(t, b, shop, 50, Start), 5*time.Second)
		// Settling twice changes nothing.
		settle(t, b, r, admin.Answer{}, Start)
		wantWait(t, reserve(t, b, shop, 10, Start), 6*time.Second)
	})

	t.Run("an unsettled reservation stops counting when it expires", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 100, 10, Start)
		r := reserve(t, b, shop, 100, Start) // its holder dies
		if r.Expires.Before(Start.Add(r.Wait)) {
			t.Fatalf("expires %v before its send time", r.Expires)
		}
		after := r.Expires.Add(time.Millisecond)
		// By then the level refilled; and the cap no longer counts r.
		wantWait(t, reserve(t, b, shop, 100, after), 0)
	})

	t.Run("an unusable status is ignored", func(t *testing.T) {
		b := newBudget(t)
		r := reserve(t, b, shop, 1, Start)
		settle(t, b, r, admin.Answer{Sent: true, Charged: 1, Status: status(100, 5, 0)}, Start)
		if r := reserve(t, b, shop, 1, Start); r.Known {
			t.Fatal("a zero restore rate was taken")
		}
	})

	t.Run("shops are apart", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 100, 0, 10, Start)
		if r := reserve(t, b, "other.myshopify.com", 50, Start); r.Known {
			t.Fatal("another shop is known")
		}
		learn(t, b, "other.myshopify.com", 100, 100, 10, Start)
		wantWait(t, reserve(t, b, "other.myshopify.com", 50, Start), 0)
		wantWait(t, reserve(t, b, shop, 10, Start), time.Second)
	})

	t.Run("concurrent reservations line up", func(t *testing.T) {
		b := newBudget(t)
		learn(t, b, shop, 1000, 100, 100, Start)
		const n = 40
		waits := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := b.Reserve(ctx, shop, 10, Start)
				if err != nil {
					t.Error(err)
					return
				}
				waits[i] = r.Wait
			})
		}
		wg.Wait()
		// 100 points now, 10 each: ten go now, then one every 100 ms,
		// each wait taken once.
		seen := map[time.Duration]int{}
		for _, w := range waits {
			seen[w.Round(10*time.Millisecond)]++
		}
		if seen[0] != 10 {
			t.Fatalf("%d reservations without a wait, want 10: %v", seen[0], waits)
		}
		for k := 1; k <= n-10; k++ {
			if seen[time.Duration(k)*100*time.Millisecond] != 1 {
				t.Fatalf("waits %v: want one at each 100 ms step", waits)
			}
		}
	})
}
