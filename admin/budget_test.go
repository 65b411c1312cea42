package admin

import (
	"context"
	"testing"
	"time"
)

func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	b := NewMemoryBudget()
	now := simStart
	status := func(avail float64) *ThrottleStatus {
		return &ThrottleStatus{MaximumAvailable: 100, CurrentlyAvailable: avail, RestoreRate: 10}
	}

	// Unknown shop: nothing reserved, the call learns.
	r, err := b.Reserve(ctx, "a.myshopify.com", 50, now)
	if err != nil || r.Known || r.Wait != 0 {
		t.Fatalf("unknown shop: %+v, %v", r, err)
	}
	if err := b.Settle(ctx, r, true, status(50), now); err != nil {
		t.Fatal(err)
	}

	// 50 known: the first 50 go now, the next 50 wait 5 s, the next 10 s.
	r1, _ := b.Reserve(ctx, "a.myshopify.com", 50, now)
	r2, _ := b.Reserve(ctx, "a.myshopify.com", 50, now)
	r3, _ := b.Reserve(ctx, "a.myshopify.com", 50, now)
	if !r1.Known || r1.Wait != 0 || r2.Wait != 5*time.Second || r3.Wait != 10*time.Second {
		t.Fatalf("waits %v %v %v", r1.Wait, r2.Wait, r3.Wait)
	}
	if !r2.Expires.Equal(now.Add(5*time.Second + PendingTTL)) {
		t.Fatalf("expires %v", r2.Expires)
	}

	// r1 answered: Shopify has 0 left (it charged 50). r2 and r3 are
	// still pending: the level is 0 - 100.
	if err := b.Settle(ctx, r1, true, status(0), now); err != nil {
		t.Fatal(err)
	}
	// r3 gives up before sending: its 50 points come back.
	if err := b.Settle(ctx, r3, false, nil, now); err != nil {
		t.Fatal(err)
	}
	r4, _ := b.Reserve(ctx, "a.myshopify.com", 50, now)
	if r4.Wait != 10*time.Second { // behind r2: 100 points at 10/s
		t.Fatalf("r4 wait %v, want 10s", r4.Wait)
	}

	// Time passes past every reservation's expiry: nothing pending any
	// more, and the level refills only to the maximum.
	later := now.Add(time.Hour)
	r5, _ := b.Reserve(ctx, "a.myshopify.com", 100, later)
	if r5.Wait != 0 {
		t.Fatalf("r5 wait %v after an hour", r5.Wait)
	}
	r6, _ := b.Reserve(ctx, "a.myshopify.com", 10, later)
	if r6.Wait != time.Second {
		t.Fatalf("r6 wait %v: the bucket filled above its maximum", r6.Wait)
	}

	// The refill is capped at the maximum less what is pending: with 60
	// points of reservations outstanding, a full bucket holds 40 more.
	b2 := NewMemoryBudget()
	u, _ := b2.Reserve(ctx, "b.myshopify.com", 1, now)
	_ = b2.Settle(ctx, u, true, status(100), now)
	p, _ := b2.Reserve(ctx, "b.myshopify.com", 60, now)
	_ = p
	q, _ := b2.Reserve(ctx, "b.myshopify.com", 50, now.Add(time.Minute))
	if q.Wait != time.Second {
		t.Fatalf("q wait %v, want 1s (40 available, 50 asked)", q.Wait)
	}

	// A status that cannot be paced against is ignored.
	b3 := NewMemoryBudget()
	u, _ = b3.Reserve(ctx, "c.myshopify.com", 1, now)
	_ = b3.Settle(ctx, u, true, &ThrottleStatus{MaximumAvailable: 100, CurrentlyAvailable: 5, RestoreRate: 0}, now)
	if r, _ := b3.Reserve(ctx, "c.myshopify.com", 1, now); r.Known {
		t.Fatal("a zero restore rate was taken")
	}
}
