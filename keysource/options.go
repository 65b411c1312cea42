package keysource

import (
	"fmt"
	"time"
)

// Option configures Env and File.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	clientID        string
	now             func() time.Time
	onError         func(error)
	unknownInterval time.Duration
	pollInterval    time.Duration
}

func newConfig(opts []Option) (config, error) {
	c := config{
		now:             time.Now,
		onError:         func(error) {},
		unknownInterval: 30 * time.Second,
		pollInterval:    time.Minute,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.unknownInterval < 0 {
		return c, fmt.Errorf("keysource: negative unknown-signer refresh interval %v", c.unknownInterval)
	}
	if c.pollInterval < 0 {
		return c, fmt.Errorf("keysource: negative poll interval %v", c.pollInterval)
	}
	return c, nil
}

// WithClientID marks every key of the source as belonging to one app: the
// verifier then accepts a token signed with these keys only when its aud
// equals clientID.
func WithClientID(clientID string) Option {
	return optionFunc(func(c *config) { c.clientID = clientID })
}

// WithClock sets the clock used for rate limits and key timestamps.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithErrorHandler receives errors from background reloads (a file that is
// empty or unreadable in the middle of a rewrite). The source keeps serving
// its last good keys. Errors never contain secret material.
func WithErrorHandler(fn func(error)) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.onError = fn
		}
	})
}

// WithUnknownSignerInterval sets the minimum time between two refreshes
// triggered by tokens whose signer is unknown (default 30 s). Zero
// disables such refreshes.
func WithUnknownSignerInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.unknownInterval = d })
}

// WithPollInterval sets how often File re-reads its file even without a
// change notification, as a safety net for file systems that miss events
// (default 1 min). Zero disables polling.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.pollInterval = d })
}
