package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"sync"
	"time"
)

// Budget keeps what the clients sharing it know of each shop's cost
// bucket, and hands out the points of requests about to be sent. The
// default, NewMemoryBudget, serves the Clients of one process;
// access/redisstore has one a fleet shares.
//
// The model. For each shop a Budget holds the bucket's maximum and
// restore rate and a level: the points Shopify's bucket is estimated to
// hold once every pending reservation has been paid. Reserve refills the
// level at the restore rate (never above the maximum less what is
// pending), takes the request's cost from it, and returns how long to
// wait for the level to climb back to zero: requests go out in the order
// they reserved, each when its points are there. Settle removes the
// reservation and, when Shopify answered with a throttleStatus, sets the
// level to currentlyAvailable less the other pending reservations: the
// server's word corrects the estimate both ways (refunds of actual costs
// below the requested, other consumers), and counting requests Shopify
// already processed as still pending only errs on the side of waiting.
//
// Implementations must be safe for concurrent use and survive a caller
// that dies between Reserve and Settle: a reservation not settled by its
// Expires time counts no more.
type Budget interface {
	// Reserve takes cost points of shop's budget for a request to be sent
	// at now+Wait. When nothing is known of the shop yet it returns a
	// reservation with Known false and takes nothing: the caller sends
	// the request and Settles with what Shopify answered.
	Reserve(ctx context.Context, shop string, cost float64, now time.Time) (Reservation, error)
	// Settle ends r. sent tells whether the request may have reached
	// Shopify (false: it was never sent, and its points are given back);
	// status is the answer's throttleStatus, nil without one.
	Settle(ctx context.Context, r Reservation, sent bool, status *ThrottleStatus, now time.Time) error
}

// Reservation is points of a shop's budget held for one request.
type Reservation struct {
	Shop string
	// ID tells the reservation apart from the shop's others.
	ID   string
	Cost float64
	// Known is false when the budget knew nothing of the shop: nothing
	// was reserved, and the request is sent to learn the bucket.
	Known bool
	// Wait is how long to wait before sending (0: now).
	Wait time.Duration
	// Expires is when an unsettled reservation stops counting.
	Expires time.Time
}

// ThrottleStatus is a response's extensions.cost.throttleStatus.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// valid reports whether s describes a bucket one can pace against.
func (s *ThrottleStatus) valid() bool {
	return s != nil && s.MaximumAvailable > 0 && s.RestoreRate > 0 &&
		!math.IsNaN(s.CurrentlyAvailable) && !math.IsInf(s.CurrentlyAvailable, 0) &&
		!math.IsInf(s.MaximumAvailable, 0) && !math.IsInf(s.RestoreRate, 0)
}

// PendingTTL is how long past its send time a reservation counts while
// unsettled: longer than any request should take.
const PendingTTL = 2 * time.Minute

// newReservationID returns a random reservation ID.
func newReservationID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// MemoryBudget is a Budget held in this process's memory.
type MemoryBudget struct {
	mu    sync.Mutex
	shops map[string]*memoryShop
}

type memoryShop struct {
	maximum, rate float64
	level         float64
	at            time.Time
	pending       map[string]pendingCost
}

type pendingCost struct {
	cost    float64
	expires time.Time
}

// NewMemoryBudget returns an empty Budget for the Clients of one process.
func NewMemoryBudget() *MemoryBudget { return &MemoryBudget{shops: map[string]*memoryShop{}} }

// pendingSum drops expired reservations and returns the cost of the rest
// but skip.
func (s *memoryShop) pendingSum(now time.Time, skip string) float64 {
	sum := 0.0
	for id, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, id)
			continue
		}
		if id != skip {
			sum += p.cost
		}
	}
	return sum
}

// refill returns level refilled at rate from at to now, capped at
// maximum less pending: the rule every Budget applies.
func refill(level, maximum, rate, pending float64, at, now time.Time) float64 {
	if dt := now.Sub(at).Seconds(); dt > 0 {
		level += dt * rate
	}
	return math.Min(level, maximum-pending)
}

// waitFor returns how long a level below zero takes to climb back to
// zero at rate.
func waitFor(level, rate float64) time.Duration {
	if level >= 0 || rate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-level / rate * float64(time.Second)))
}

// Reserve implements Budget.
func (b *MemoryBudget) Reserve(_ context.Context, shop string, cost float64, now time.Time) (Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := Reservation{Shop: shop, ID: newReservationID(), Cost: cost}
	s := b.shops[shop]
	if s == nil {
		return r, nil
	}
	pending := s.pendingSum(now, "")
	s.level = refill(s.level, s.maximum, s.rate, pending, s.at, now) - cost
	s.at = now
	r.Known = true
	r.Wait = waitFor(s.level, s.rate)
	r.Expires = now.Add(r.Wait + PendingTTL)
	s.pending[r.ID] = pendingCost{cost: cost, expires: r.Expires}
	return r, nil
}

// Settle implements Budget.
func (b *MemoryBudget) Settle(_ context.Context, r Reservation, sent bool, status *ThrottleStatus, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.shops[r.Shop]
	if s != nil && r.Known {
		if _, held := s.pending[r.ID]; held {
			delete(s.pending, r.ID)
			if !sent {
				pending := s.pendingSum(now, "")
				s.level = refill(s.level, s.maximum, s.rate, pending, s.at, now) + r.Cost
				s.level = math.Min(s.level, s.maximum-pending)
				s.at = now
			}
		}
	}
	if !status.valid() {
		return nil
	}
	if s == nil {
		s = &memoryShop{pending: map[string]pendingCost{}}
		b.shops[r.Shop] = s
	}
	s.maximum, s.rate = status.MaximumAvailable, status.RestoreRate
	s.level = math.Min(status.CurrentlyAvailable, s.maximum) - s.pendingSum(now, "")
	s.at = now
	return nil
}
