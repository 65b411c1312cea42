package shopifytest

import (
	"context"
	"sync"
	"time"
)

// SimClock is simulated time for tests of code that waits: time stands
// still while any of the clock's workers runs, and when every worker is
// asleep in Sleep it jumps to the earliest wake-up. A burst that would
// take minutes of waiting for a cost bucket to refill then runs as fast
// as the requests themselves, and what it measures in simulated time is
// exact. Pass Now to the fake (WithClock) and the clock to the code under
// test (admin.WithClock), and start the goroutines that wait on it with
// Go.
//
// Only workers started with Go may Sleep; a Sleep from another goroutine
// is answered as if every worker were asleep.
type SimClock struct {
	mu       sync.Mutex
	now      time.Time
	running  int
	sleepers []*sleeper
	wg       sync.WaitGroup
}

type sleeper struct {
	at   time.Time
	wake chan struct{}
	done bool
}

// NewSimClock returns a clock standing at start.
func NewSimClock(start time.Time) *SimClock { return &SimClock{now: start} }

// Now returns the simulated time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Go runs fn as one of the clock's workers.
func (c *SimClock) Go(fn func()) {
	c.mu.Lock()
	c.running++
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			c.running--
			c.advanceLocked()
			c.mu.Unlock()
		}()
		fn()
	}()
}

// Wait waits for every worker started with Go to return.
func (c *SimClock) Wait() { c.wg.Wait() }

// Sleep waits until d has passed in simulated time, or until ctx is done.
func (c *SimClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	s := &sleeper{at: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.running--
	c.advanceLocked()
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if s.done { // woken meanwhile: it is running again already
			return ctx.Err()
		}
		s.done = true
		for i, o := range c.sleepers {
			if o == s {
				c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
				break
			}
		}
		c.running++
		return ctx.Err()
	}
}

// advanceLocked moves time to the earliest wake-up when no worker runs,
// and wakes every sleeper due.
func (c *SimClock) advanceLocked() {
	if c.running > 0 || len(c.sleepers) == 0 {
		return
	}
	earliest := c.sleepers[0].at
	for _, s := range c.sleepers[1:] {
		if s.at.Before(earliest) {
			earliest = s.at
		}
	}
	if earliest.After(c.now) {
		c.now = earliest
	}
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.at.After(c.now) {
			kept = append(kept, s)
			continue
		}
		s.done = true
		c.running++
		close(s.wake)
	}
	c.sleepers = kept
}
