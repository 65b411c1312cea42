package redisstore

import (
	"fmt"
	"strings"
)

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	prefix string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithPrefix sets the prefix of every key the store uses (default
// "possession:"), so that several applications, or tests, can share one
// Redis database.
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

func newConfig(opts []Option) (config, error) {
	c := config{prefix: "possession:"}
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if c.prefix == "" || strings.ContainsAny(c.prefix, " \r\n") {
		return config{}, fmt.Errorf("%w: prefix %q: want non-empty, without spaces or newlines", ErrInvalidOption, c.prefix)
	}
	return c, nil
}
