package sqlitestore

import (
	"fmt"
	"time"
)

// Option configures Open.
type Option interface{ apply(*config) }

type config struct {
	now         func() time.Time
	busyTimeout time.Duration
	synchronous string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithClock sets the clock that lock leases and webhook claims are measured
// with (default time.Now). Every process sharing the file must read the
// same clock, which processes on one machine do.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithBusyTimeout sets how long a write waits for another connection or
// process to finish its write before it fails (default 5 s). Writes are
// short, so waiting is rare and brief; the context bounds it too.
func WithBusyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyTimeout = d })
}

// WithSynchronousNormal trades durability on power loss for write speed:
// SQLite's synchronous=NORMAL, under which a transaction committed just
// before the machine loses power may be rolled back (a process crash loses
// nothing either way). The default, FULL, syncs the write-ahead log on
// every commit: a rotated refresh token that was lost would lock the shop
// out until it re-authorizes.
func WithSynchronousNormal() Option {
	return optionFunc(func(c *config) { c.synchronous = "NORMAL" })
}

func newConfig(opts []Option) (config, error) {
	c := config{now: time.Now, busyTimeout: 5 * time.Second, synchronous: "FULL"}
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if c.now == nil {
		return config{}, fmt.Errorf("%w: nil clock", ErrInvalidOption)
	}
	if c.busyTimeout < time.Millisecond {
		return config{}, fmt.Errorf("%w: busy timeout %v, want at least 1ms", ErrInvalidOption, c.busyTimeout)
	}
	return c, nil
}
