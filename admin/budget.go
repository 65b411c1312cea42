package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Budget keeps what the clients sharing it know of each shop's cost
// bucket, and hands out the points of requests about to be sent. The
// default, NewMemoryBudget, serves the Clients of one process;
// access/redisstore has one a fleet shares. admin/budgettest is the
// conformance suite every implementation passes.
//
// The model. For each shop a Budget holds the bucket's maximum and
// restore rate and a level: the points Shopify's bucket is estimated to
// hold once every pending reservation has been paid. Reserve refills the
// level at the restore rate (never above the maximum less what is
// pending), takes the request's cost from it, and returns how long to
// wait for the level to climb back to zero: requests go out in the order
// they reserved, each when its points are there. Settle removes the
// reservation and, when Shopify answered with a throttleStatus, sets the
// level to currentlyAvailable less what that answer may not have counted
// yet: the other pending reservations, and the requests answered since
// this one was sent (Shopify may have run them after it: answers arrive
// out of order; of answers at the very instant of the send, those after
// the reservation). The server's word so corrects the estimate both ways
// (refunds of actual costs below the requested, other consumers), and
// counting a request twice only errs on the side of waiting.
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
	// Settle ends r with what became of its request, at now.
	Settle(ctx context.Context, r Reservation, a Answer, now time.Time) error
}

// Reservation is points of a shop's budget held for one request.
type Reservation struct {
	Shop string
	// ID tells the reservation apart from the shop's others; its form is
	// the Budget's own.
	ID   string
	Cost float64
	// Known is false when the budget knew nothing of the shop: nothing
	// was reserved, and the request is sent to learn the bucket.
	Known bool
	// Wait is how long to wait before sending (0: now); SendAt is the
	// reservation's time plus Wait.
	Wait   time.Duration
	SendAt time.Time
	// Expires is when an unsettled reservation stops counting.
	Expires time.Time
}

// Answer is what became of a reserved request.
type Answer struct {
	// Sent reports whether the request may have reached Shopify; false
	// (it was never sent) gives the reservation's points back.
	Sent bool
	// Charged is what Shopify took: actualQueryCost when the query ran, 0
	// when it was THROTTLED, the reservation's Cost when unknown (no
	// answer, or an HTTP error).
	Charged float64
	// Status is the answer's throttleStatus, nil without one.
	Status *ThrottleStatus
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
	settled       map[string]settledCost
	// settles counts answers; a reservation's ID starts with the count at
	// its reservation, to order an answer at the very instant of a send.
	settles int64
}

type pendingCost struct {
	cost    float64
	expires time.Time
}

type settledCost struct {
	charged float64
	at      time.Time
	seq     int64
}

// NewMemoryBudget returns an empty Budget for the Clients of one process.
func NewMemoryBudget() *MemoryBudget { return &MemoryBudget{shops: map[string]*memoryShop{}} }

func newMemoryShop() *memoryShop {
	return &memoryShop{pending: map[string]pendingCost{}, settled: map[string]settledCost{}}
}

// pendingSum drops expired reservations and returns the cost of the rest.
func (s *memoryShop) pendingSum(now time.Time) float64 {
	sum := 0.0
	for id, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, id)
			continue
		}
		sum += p.cost
	}
	return sum
}

// settledSince drops settlements older than PendingTTL and returns what
// the others that may have come after r was sent charged: answered after
// r.SendAt, or at that very instant but after r was reserved.
func (s *memoryShop) settledSince(r Reservation, now time.Time) float64 {
	since := r.SendAt
	if since.IsZero() {
		since = now
	}
	seq := reservationSeq(r.ID)
	sum := 0.0
	for id, c := range s.settled {
		if c.at.Before(now.Add(-PendingTTL)) {
			delete(s.settled, id)
			continue
		}
		if id != r.ID && (c.at.After(since) || c.at.Equal(since) && c.seq > seq) {
			sum += c.charged
		}
	}
	return sum
}

// reservationSeq reads the answer count a reservation ID starts with.
func reservationSeq(id string) int64 {
	n, _, _ := strings.Cut(id, ".")
	v, _ := strconv.ParseInt(n, 10, 64)
	return v
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
	s := b.shops[shop]
	var seq int64
	if s != nil {
		seq = s.settles
	}
	r := Reservation{Shop: shop, ID: strconv.FormatInt(seq, 10) + "." + newReservationID(), Cost: cost, SendAt: now}
	if s == nil || s.rate <= 0 {
		return r, nil
	}
	pending := s.pendingSum(now)
	if now.After(s.at) {
		s.level = refill(s.level, s.maximum, s.rate, pending, s.at, now)
		s.at = now
	} else {
		s.level = math.Min(s.level, s.maximum-pending)
	}
	s.level -= cost
	r.Known = true
	r.Wait = waitFor(s.level, s.rate)
	r.SendAt = now.Add(r.Wait)
	r.Expires = r.SendAt.Add(PendingTTL)
	s.pending[r.ID] = pendingCost{cost: cost, expires: r.Expires}
	return r, nil
}

// Settle implements Budget.
func (b *MemoryBudget) Settle(_ context.Context, r Reservation, a Answer, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.shops[r.Shop]
	if s == nil {
		s = newMemoryShop()
		b.shops[r.Shop] = s
	}
	_, held := s.pending[r.ID]
	delete(s.pending, r.ID)
	switch {
	case !a.Sent && held && s.rate > 0:
		pending := s.pendingSum(now)
		if now.After(s.at) {
			s.level = refill(s.level, s.maximum, s.rate, pending, s.at, now)
			s.at = now
		}
		s.level = math.Min(s.level+r.Cost, s.maximum-pending)
	case a.Sent && (held || !r.Known):
		s.settles++
		s.settled[r.ID] = settledCost{charged: math.Max(a.Charged, 0), at: now, seq: s.settles}
	}
	if !a.Status.valid() {
		return nil
	}
	s.maximum, s.rate = a.Status.MaximumAvailable, a.Status.RestoreRate
	s.level = math.Min(a.Status.CurrentlyAvailable, s.maximum) - s.pendingSum(now) - s.settledSince(r, now)
	s.at = now
	return nil
}
