package access_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
)

// The full contract is checked by access/storetest for every store; these
// are the Memory store's own cases that storetest cannot reach: a lease
// superseded while its holder stalls, and claim numbers surviving a sweep.

func TestMemoryStaleHolderIsFenced(t *testing.T) {
	ctx := context.Background()
	s := access.MemoryStore()
	key := access.Key{Shop: "fence.myshopify.com", Mode: access.Offline}
	stale, err := s.Lock(ctx, key, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, key, time.Minute); !errors.Is(err, access.ErrLocked) {
		t.Fatalf("second Lock while the first lives: %v, want ErrLocked", err)
	}
	time.Sleep(30 * time.Millisecond) // the stale holder stalls past its lease
	fresh, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the lease ended: %v", err)
	}
	if fresh.Fence <= stale.Fence {
		t.Fatalf("fence %d after %d: fences must grow", fresh.Fence, stale.Fence)
	}
	rec := access.Record{Key: key, Scope: "read_orders", Version: 1}
	if err := s.CompareAndSwap(ctx, stale, rec); !errors.Is(err, access.ErrFenced) {
		t.Fatalf("stale holder's write: %v, want ErrFenced", err)
	}
	if err := s.CompareAndSwap(ctx, fresh, rec); err != nil {
		t.Fatalf("fresh holder's write: %v", err)
	}
	if err := s.CompareAndSwap(ctx, fresh, rec); !errors.Is(err, access.ErrConflict) {
		t.Fatalf("write of version 1 over version 1: %v, want ErrConflict", err)
	}
	got, err := s.Load(ctx, key)
	if err != nil || got.Version != 1 || got.Scope != "read_orders" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
}

func TestMemoryClaimNumbersGrowAcrossSweeps(t *testing.T) {
	ctx := context.Background()
	s := access.MemoryStore()
	first, _, err := s.ClaimDelivery(ctx, "wh-1", time.Millisecond)
	if err != nil || first == 0 {
		t.Fatalf("ClaimDelivery = %d, %v", first, err)
	}
	time.Sleep(2 * time.Millisecond)
	// Enough operations to sweep the ended claim away.
	for i := 0; i < 2048; i++ {
		if _, err := s.Load(ctx, access.Key{Shop: "x.myshopify.com", Mode: access.Offline}); !errors.Is(err, access.ErrNotFound) {
			t.Fatal(err)
		}
	}
	second, _, err := s.ClaimDelivery(ctx, "wh-1", time.Minute)
	if err != nil || second <= first {
		t.Fatalf("claim after the sweep = %d (first %d), %v: numbers must grow", second, first, err)
	}
	// The stale first holder's release must not free the second claim.
	if err := s.ReleaseDelivery(ctx, "wh-1", first); err != nil {
		t.Fatal(err)
	}
	if c, done, _ := s.ClaimDelivery(ctx, "wh-1", time.Minute); c != 0 || done {
		t.Fatalf("claim while the second lives = %d, done %v; want 0, false", c, done)
	}
	if err := s.CompleteDelivery(ctx, "wh-1", second, time.Hour); err != nil {
		t.Fatal(err)
	}
	if c, done, _ := s.ClaimDelivery(ctx, "wh-1", time.Minute); c != 0 || !done {
		t.Fatalf("claim after completion = %d, done %v; want 0, true", c, done)
	}
}
