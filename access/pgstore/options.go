package pgstore

import "fmt"

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	schema string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithSchema puts the store's tables in schema (default "public"),
// which New creates if it does not exist: for an application that keeps
// its own tables apart, or tests that share one database.
func WithSchema(schema string) Option {
	return optionFunc(func(c *config) { c.schema = schema })
}

func newConfig(opts []Option) (config, error) {
	c := config{schema: "public"}
	for _, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if c.schema == "" || len(c.schema) > 63 {
		return config{}, fmt.Errorf("%w: schema %q: want 1 to 63 bytes", ErrInvalidOption, c.schema)
	}
	return c, nil
}
