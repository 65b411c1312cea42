package awssm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

const (
	defaultInterval        = 5 * time.Minute
	defaultJitter          = 0.1
	defaultUnknownInterval = 30 * time.Second
	defaultBackoffCap      = time.Minute
	defaultFetchTimeout    = 30 * time.Second
	backoffBase            = time.Second
)

type config struct {
	interval        time.Duration
	jitter          float64
	unknownInterval time.Duration
	backoffCap      time.Duration
	fetchTimeout    time.Duration
	maxStaleness    time.Duration
	jsonField       string
	clientMap       bool
	startEmpty      bool
	now             func() time.Time
	random          func() float64
	onError         func(error)
	tracerProvider  trace.TracerProvider
	meterProvider   metric.MeterProvider

	// after starts a timer for the refresh loop. Tests replace it so that
	// time passes when they say so.
	after func(time.Duration) (<-chan time.Time, func())
}

func newConfig(opts []Option) (config, error) {
	c := config{
		interval:        defaultInterval,
		jitter:          defaultJitter,
		unknownInterval: defaultUnknownInterval,
		backoffCap:      defaultBackoffCap,
		fetchTimeout:    defaultFetchTimeout,
		now:             time.Now,
		random:          rand.Float64,
		onError:         func(error) {},
		after:           realAfter,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	var errs []error
	if c.interval <= 0 {
		errs = append(errs, fmt.Errorf("%w: refresh interval %v must be positive", ErrInvalidOption, c.interval))
	}
	if c.jitter < 0 || c.jitter >= 1 {
		errs = append(errs, fmt.Errorf("%w: jitter %v out of range [0, 1)", ErrInvalidOption, c.jitter))
	}
	if c.unknownInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: negative unknown-signer interval %v", ErrInvalidOption, c.unknownInterval))
	}
	if c.backoffCap <= 0 {
		errs = append(errs, fmt.Errorf("%w: backoff cap %v must be positive", ErrInvalidOption, c.backoffCap))
	}
	if c.fetchTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%w: fetch timeout %v must be positive", ErrInvalidOption, c.fetchTimeout))
	}
	if c.maxStaleness < 0 {
		errs = append(errs, fmt.Errorf("%w: negative max staleness %v", ErrInvalidOption, c.maxStaleness))
	}
	if c.jsonField != "" && c.clientMap {
		errs = append(errs, fmt.Errorf("%w: WithJSONField and WithJSONClientMap exclude each other", ErrInvalidOption))
	}
	return c, errors.Join(errs...)
}

func realAfter(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// WithRefreshInterval sets how often the background loop checks Secrets
// Manager for a new version (default 5 min), spread by the jitter.
func WithRefreshInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.interval = d })
}

// WithJitter spreads each refresh interval uniformly over ±fraction of it
// (default 0.1), so a fleet of processes does not call Secrets Manager in
// step. Zero disables jitter.
func WithJitter(fraction float64) Option {
	return optionFunc(func(c *config) { c.jitter = fraction })
}

// WithUnknownSignerInterval sets the minimum time between two refreshes
// triggered by tokens that no key verifies (default 30 s). Zero disables
// such refreshes.
func WithUnknownSignerInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.unknownInterval = d })
}

// WithBackoffCap bounds the delay between retries after failed refreshes
// (default 1 min). Retries start at 1 s (or the cap, if smaller) and double.
func WithBackoffCap(d time.Duration) Option {
	return optionFunc(func(c *config) { c.backoffCap = d })
}

// WithFetchTimeout bounds each refresh, including the SDK's retries
// (default 30 s).
func WithFetchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.fetchTimeout = d })
}

// WithMaxStaleness drops the keys when no refresh has succeeded for d, so
// that verification fails with sdk.ErrNoKeys instead of trusting keys that
// may have been revoked. Zero (the default) keeps the last good keys
// forever.
func WithMaxStaleness(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxStaleness = d })
}

// WithJSONField reads the secret from the string field name of a JSON
// object, as in {"SHOPIFY_API_SECRET": "..."}.
func WithJSONField(name string) Option {
	return optionFunc(func(c *config) { c.jsonField = name })
}

// WithJSONClientMap reads the value as a JSON object mapping client IDs
// (API keys) to their secrets, for one backend serving several apps. Each
// key then belongs to its client ID: the verifier accepts a token signed
// with it only if the token's aud is that client ID.
func WithJSONClientMap() Option {
	return optionFunc(func(c *config) { c.clientMap = true })
}

// WithStartEmpty makes New succeed when the first fetch fails: the source
// then holds no keys (verification fails with sdk.ErrNoKeys) and retries
// in the background with backoff until keys arrive. Invalid options still
// fail New.
func WithStartEmpty() Option {
	return optionFunc(func(c *config) { c.startEmpty = true })
}

// WithClock sets the clock read for rate limits, staleness and key age.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithRandom sets the source of jitter: a function returning values in
// [0, 1) (default math/rand/v2.Float64).
func WithRandom(r func() float64) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.random = r
		}
	})
}

// WithErrorHandler receives the errors of background refreshes. The source
// keeps serving its last good keys. Errors never contain secret material.
func WithErrorHandler(fn func(error)) Option {
	return optionFunc(func(c *config) {
		if fn != nil {
			c.onError = fn
		}
	})
}

// WithTracerProvider sets the provider of the span each fetch records
// (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets the provider of the refresh and key-age metrics
// (default: the global provider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}
