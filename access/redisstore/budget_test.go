package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/redisstore"
	"github.com/possession-dev/possession/access/redisstore/redistest"
	"github.com/possession-dev/possession/admin"
	"github.com/possession-dev/possession/admin/budgettest"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/shopifytest"
)

var _ admin.Budget = (*redisstore.Budget)(nil)

func TestBudgetConformance(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	budgettest.Run(t, func(t *testing.T) admin.Budget {
		n++
		b, err := redisstore.NewBudget(client(t, srv.Addr()), redisstore.WithPrefix(fmt.Sprintf("conformance%d:", n)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestNewBudgetErrors(t *testing.T) {
	if _, err := redisstore.NewBudget(nil); !errors.Is(err, redisstore.ErrInvalidArgument) {
		t.Fatalf("nil client: %v", err)
	}
	srv := redistest.Start(t)
	if _, err := redisstore.NewBudget(client(t, srv.Addr()), redisstore.WithPrefix("")); !errors.Is(err, redisstore.ErrInvalidOption) {
		t.Fatalf("empty prefix: %v", err)
	}
}

// fleetQuery costs 50 points on the fake.
const fleetQuery = `query Burst { products(first: 48) { nodes { id } } }`

// fleet is instances admin Clients, each with its own access Manager,
// go-redis client and Budget, as separate processes would have, on one
// Redis and one fake shop.
func fleet(t *testing.T, addr string, clock admin.Clock, fake *shopifytest.Server, shop string, instances int) []*admin.Client {
	t.Helper()
	token := fake.IssueAccessToken(shop, "read_products", 0)
	secret := keysource.MustStatic(fake.ClientSecret())
	var clients []*admin.Client
	for range instances {
		budget, err := redisstore.NewBudget(client(t, addr), redisstore.WithPrefix("fleet:"))
		if err != nil {
			t.Fatal(err)
		}
		tokens, err := access.New(fake.ClientID(), secret, access.MemoryStore(), access.WithShopifyBaseURL(fake.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokens.ImportOffline(context.Background(), shop, token, "read_products"); err != nil {
			t.Fatal(err)
		}
		c, err := admin.New(tokens, admin.WithAPIVersion("2026-10"), admin.WithShopifyBaseURL(fake.URL),
			admin.WithClock(clock), admin.WithBudget(budget))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	return clients
}

// burst runs calls queries through clients, workers goroutines each,
// started with goFn; wait waits for them.
func burst(clients []*admin.Client, shop string, calls, workers int, goFn func(func()), wait func()) (failed int64) {
	var next, fails atomic.Int64
	for _, c := range clients {
		for range workers {
			goFn(func() {
				for next.Add(1) <= int64(calls) {
					if err := c.Do(context.Background(), shop, fleetQuery, nil, nil); err != nil {
						fails.Add(1)
					}
				}
			})
		}
	}
	wait()
	return fails.Load()
}

// TestFleetBudgetSimulated is the issue's fleet run: 4 instances sharing
// one shop's budget through Redis, 2 workers each, 500 queries of cost
// 50 against a bucket of 1000 points restoring 100/s: no THROTTLED answer
// and a combined rate of at least 85% of the restore rate. The fake and
// the clients share a simulated clock, so the 240 s pass without real
// waiting (Redis round trips take real time, simulated time stands still
// meanwhile).
func TestFleetBudgetSimulated(t *testing.T) {
	srv := redistest.Start(t)
	clock := shopifytest.NewSimClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	const maximum, rate = 1000, 100
	fake := shopifytest.NewServer(shopifytest.WithClock(clock.Now), shopifytest.WithAdminBucket(maximum, rate))
	defer fake.Close()
	const shop = "fleet-sim.myshopify.com"
	clients := fleet(t, srv.Addr(), clock, fake, shop, 4)
	start := clock.Now()
	failed := burst(clients, shop, 500, 2, clock.Go, clock.Wait)
	elapsed := clock.Now().Sub(start)
	sustained := float64(fake.CostSpent(shop)-maximum) / elapsed.Seconds()
	t.Logf("4 instances through Redis, simulated: %v, %d THROTTLED, %d failed, cost %d, combined %.2f points/s beyond the initial bucket (%.1f%% of %d)",
		elapsed, fake.Throttled(shop), failed, fake.CostSpent(shop), sustained, 100*sustained/rate, rate)
	if fake.Throttled(shop) != 0 || failed != 0 || fake.CostSpent(shop) != 500*50 {
		t.Fatalf("%d THROTTLED, %d failed, cost %d", fake.Throttled(shop), failed, fake.CostSpent(shop))
	}
	if sustained < 0.85*rate {
		t.Fatalf("combined rate %.2f points/s, want >= %.0f", sustained, 0.85*rate)
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestFleetBudgetRealTime: the same fleet on the system clock, with the
// restore rate scaled ten times (1000/s: the ideal run takes 24 s), so
// that real Redis and HTTP latencies and real concurrency are in play.
func TestFleetBudgetRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("24 s of real time")
	}
	srv := redistest.Start(t)
	const maximum, rate = 1000, 1000
	fake := shopifytest.NewServer(shopifytest.WithAdminBucket(maximum, rate))
	defer fake.Close()
	const shop = "fleet-real.myshopify.com"
	clients := fleet(t, srv.Addr(), systemClock{}, fake, shop, 4)
	done := make(chan struct{})
	n := 0
	goFn := func(f func()) {
		n++
		go func() {
			defer func() { done <- struct{}{} }()
			f()
		}()
	}
	wait := func() {
		for range n {
			<-done
		}
	}
	start := time.Now()
	failed := burst(clients, shop, 500, 2, goFn, wait)
	elapsed := time.Since(start)
	sustained := float64(fake.CostSpent(shop)-maximum) / elapsed.Seconds()
	t.Logf("4 instances through Redis, real time: %v, %d THROTTLED, %d failed, cost %d, combined %.0f points/s beyond the initial bucket (%.1f%% of %d)",
		elapsed.Round(time.Millisecond), fake.Throttled(shop), failed, fake.CostSpent(shop), sustained, 100*sustained/rate, rate)
	if fake.Throttled(shop) != 0 || failed != 0 {
		t.Fatalf("%d THROTTLED, %d failed", fake.Throttled(shop), failed)
	}
	if sustained < 0.85*rate {
		t.Fatalf("combined rate %.0f points/s, want >= %.0f", sustained, 0.85*rate)
	}
}

// TestFleetBudgetRedisDown: with Redis gone the calls go on unpaced
// (THROTTLED answers retried), and pacing resumes when it is back.
func TestFleetBudgetRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	clock := shopifytest.NewSimClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	fake := shopifytest.NewServer(shopifytest.WithClock(clock.Now), shopifytest.WithAdminBucket(1000, 100))
	defer fake.Close()
	const shop = "fleet-down.myshopify.com"
	clients := fleet(t, srv.Addr(), clock, fake, shop, 1)
	srv.Stop(t)
	if failed := burst(clients, shop, 5, 1, clock.Go, clock.Wait); failed != 0 {
		t.Fatalf("%d calls failed with Redis down", failed)
	}
	srv.Resume(t)
	// Once the clients' connections are back, pacing is back.
	probe := client(t, srv.Addr())
	for i := 0; probe.Ping(context.Background()).Err() != nil; i++ {
		if i == 100 {
			t.Fatal("redis did not come back")
		}
		time.Sleep(50 * time.Millisecond) // real time: the server restarting
	}
	// A first call through each client may still meet a dead connection
	// (and go unpaced); after it the budget is in charge.
	if failed := burst(clients, shop, 1, 1, clock.Go, clock.Wait); failed != 0 {
		t.Fatal("a call failed")
	}
	before := fake.Throttled(shop)
	if failed := burst(clients, shop, 60, 2, clock.Go, clock.Wait); failed != 0 {
		t.Fatalf("after Redis came back: %d failed", failed)
	}
	if n := fake.Throttled(shop) - before; n != 0 {
		t.Fatalf("after Redis came back: %d THROTTLED", n)
	}
}
