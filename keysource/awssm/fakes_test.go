package awssm

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeTimers replaces the refresh loop's timers: each wait the loop starts
// is handed to the test, which fires it. Receiving the next wait also
// tells the test that the refresh before it has finished.
type fakeTimers struct{ waits chan timerWait }

type timerWait struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeTimers() *fakeTimers { return &fakeTimers{waits: make(chan timerWait, 64)} }

func (ft *fakeTimers) option() Option {
	return optionFunc(func(c *config) {
		c.after = func(d time.Duration) (<-chan time.Time, func()) {
			w := timerWait{d: d, fire: make(chan time.Time, 1)}
			ft.waits <- w
			return w.fire, func() {}
		}
	})
}

// next returns the loop's next wait.
func (ft *fakeTimers) next(t *testing.T) timerWait {
	t.Helper()
	select {
	case w := <-ft.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("the refresh loop started no timer within 10 s")
		return timerWait{}
	}
}

// fixedRandom makes jitter deterministic: 0.5 is the middle of [0, 1).
func fixedRandom(v float64) Option { return WithRandom(func() float64 { return v }) }
