package admin

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// burstQuery costs 50 points on the fake (a connection: 2 + 48 nodes),
// requested and actual.
const burstQuery = `query Burst { products(first: 48) { nodes { id } } }`

type burstResult struct {
	elapsed   time.Duration // simulated
	throttled int           // THROTTLED answers the fake sent
	failures  int64
	cost      int // actual cost the fake charged
}

// sustained is the rate the burst ran at beyond the points the full
// bucket held at the start: what the restore rate alone paid for.
func (b burstResult) sustained(maximum float64) float64 {
	return (float64(b.cost) - maximum) / b.elapsed.Seconds()
}

// burst sends calls queries from workers goroutines through c, all on the
// rig's simulated clock.
func burst(r *rig, c *Client, shop string, calls, workers int) burstResult {
	var next, failures atomic.Int64
	start := r.clock.Now()
	for range workers {
		r.clock.Go(func() {
			for next.Add(1) <= int64(calls) {
				if err := c.Do(context.Background(), shop, burstQuery, nil, nil); err != nil {
					failures.Add(1)
				}
			}
		})
	}
	r.clock.Wait()
	return burstResult{
		elapsed:   r.clock.Now().Sub(start),
		throttled: r.srv.Throttled(shop),
		failures:  failures.Load(),
		cost:      r.srv.CostSpent(shop),
	}
}

// TestBurstPaced is the burst: against a bucket of 1000 points
// restoring 100/s, 500 queries of cost 50 from 8 goroutines complete with
// no THROTTLED answer at >= 90% of the restore rate. The fake and the
// client share a simulated clock, so the 240 s the burst takes pass
// without real waiting; the numbers are exact.
func TestBurstPaced(t *testing.T) {
	const maximum, rate = 1000, 100
	r := newRig(t, maximum, rate)
	c := r.client()
	res := burst(r, c, testShop, 500, 8)
	t.Logf("paced: %d queries in %v simulated, %d THROTTLED, %d failed, cost %d, sustained %.2f points/s (%.1f%% of %d)",
		500, res.elapsed, res.throttled, res.failures, res.cost, res.sustained(maximum), 100*res.sustained(maximum)/rate, rate)
	if res.throttled != 0 || res.failures != 0 {
		t.Fatalf("%d THROTTLED answers, %d failed calls; want none", res.throttled, res.failures)
	}
	if res.cost != 500*50 {
		t.Fatalf("fake charged %d points, want %d", res.cost, 500*50)
	}
	if s := res.sustained(maximum); s < 0.9*rate {
		t.Fatalf("sustained rate %.2f points/s, want >= %.0f", s, 0.9*rate)
	}
}

// TestBurstUnpaced: the same burst with pacing off (every call sent at
// once, THROTTLED waited out and retried, as a careful app does with the
// official clients) shows the throttling pacing avoids.
func TestBurstUnpaced(t *testing.T) {
	const maximum, rate = 1000, 100
	for _, tt := range []struct {
		name    string
		retries int
	}{
		{"default retries", DefaultMaxRetries},
		{"retries until done", 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if raceEnabled && tt.retries > DefaultMaxRetries {
				t.Skip("about 4000 THROTTLED round trips: too slow under -race, and the default-retries run shows the same throttling")
			}
			r := newRig(t, maximum, rate)
			c := r.client(withoutPacing(), WithMaxRetries(tt.retries))
			res := burst(r, c, testShop, 500, 8)
			t.Logf("unpaced, max %d retries: %d queries in %v simulated, %d THROTTLED, %d failed (retries exhausted), cost %d, sustained %.2f points/s",
				tt.retries, 500, res.elapsed, res.throttled, res.failures, res.cost, res.sustained(maximum))
			if res.throttled == 0 {
				t.Fatal("no THROTTLED answer without pacing: the burst does not exercise the bucket")
			}
		})
	}
}
