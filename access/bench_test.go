package access

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/shopifytest"
)

// BenchmarkHotPath compares the cost of serving a cached offline token
// with the sdk's verified-session cache hit, the other half of a POS
// request's work, and with both together (what a handler does).
func BenchmarkHotPath(b *testing.B) {
	// The real clock on both sides, as in production (the test clock
	// takes a mutex).
	e := newEnv(&testing.T{}, shopifytest.WithClock(time.Now))
	defer e.fake.Close()
	m := e.manager(WithClock(time.Now))
	mint := e.minter(testShop, "42")
	mint.Now = time.Now
	tok := mint.Admin()
	v, err := sdk.New(keysource.MustStatic(e.fake.ClientSecret()), sdk.WithClientID(e.fake.ClientID()))
	if err != nil {
		b.Fatal(err)
	}
	s, err := v.Verify(ctx, tok)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Offline(ctx, s, tok); err != nil {
		b.Fatal(err)
	}
	b.Run("offline-cache-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Offline(ctx, s, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify-cache-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify+offline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, err := v.Verify(ctx, tok)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Offline(ctx, s, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("offline-cache-hit-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Offline(ctx, s, tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRefreshUnderContention: callers per second while every
// caller's token is due, so each round is one refresh for the whole
// crowd: 8 Managers (a fleet on one store) or 1 (single flight only),
// 4 callers each (32 or 4 callers per refresh).
func BenchmarkRefreshUnderContention(b *testing.B) {
	for _, managers := range []int{1, 8} {
		b.Run(map[int]string{1: "managers=1", 8: "managers=8"}[managers], func(b *testing.B) {
			t := &testing.T{}
			e := newEnv(t)
			defer e.fake.Close()
			ms := make([]*Manager, managers)
			for i := range ms {
				ms[i] = e.manager()
				ms[i].cfg.sleep = sleepCtx
				ms[i].cfg.jitter = halfJitter
			}
			s, id := e.session(testShop, "42")
			if _, err := ms[0].Offline(ctx, s, id); err != nil {
				b.Fatal(err)
			}
			const callersPerManager = 4
			callers := 0
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				e.clock.Advance(time.Hour)
				var wg sync.WaitGroup
				for _, m := range ms {
					for range callersPerManager {
						wg.Go(func() {
							if _, err := m.OfflineFor(context.Background(), testShop); err != nil {
								b.Error(err)
							}
						})
					}
				}
				wg.Wait()
				callers += managers * callersPerManager
			}
			b.ReportMetric(float64(callers)/time.Since(start).Seconds(), "callers/s")
			if got, want := e.fake.GrantCounts().Refresh, b.N; got < want {
				b.Errorf("%d refreshes for %d rounds", got, want)
			}
		})
	}
}
