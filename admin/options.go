package admin

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a Client.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Clock is where a Client reads the time and waits. The default is the
// system clock; tests pass a simulated one (shopifytest.SimClock) so that
// waits for the cost budget take no real time.
type Clock interface {
	Now() time.Time
	// Sleep waits until d has passed on this clock, or until ctx is done
	// (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type config struct {
	version       string
	baseURL       *url.URL // nil: https://{shop}
	httpClient    *http.Client
	clock         Clock
	random        func() float64
	logger        *slog.Logger
	budget        Budget
	pacing        bool
	maxRetries    int
	maxRetryAfter time.Duration
	backoffBase   time.Duration
	backoffMax    time.Duration
	tracer        trace.TracerProvider
	meter         metric.MeterProvider
	err           error
}

// Defaults of the retry policy.
const (
	// DefaultMaxRetries is how many times one call is retried after
	// THROTTLED, 429 or 502/503/504 answers, together.
	DefaultMaxRetries = 5
	// DefaultMaxRetryAfter caps a 429's Retry-After.
	DefaultMaxRetryAfter = time.Minute
	// Jittered exponential backoff after 502/503/504: about 500 ms, 1 s,
	// 2 s, ... (±50%), at most 30 s.
	defaultBackoffBase = 500 * time.Millisecond
	defaultBackoffMax  = 30 * time.Second
)

// WithAPIVersion sets the Admin API version every request names, such as
// "2026-10" (or "unstable"). It is required: Shopify supports each
// quarterly version for twelve months and then silently serves the
// oldest supported one instead, so the version a program was written and
// tested against must be chosen by it, not by this library (a default
// would change under users with every release). When Shopify answers
// with another version than the one asked for, the client logs it once.
func WithAPIVersion(version string) Option {
	return optionFunc(func(c *config) { c.version = version })
}

// validVersion accepts "YYYY-01", "-04", "-07", "-10" and "unstable".
func validVersion(v string) bool {
	if v == "unstable" {
		return true
	}
	if len(v) != 7 || v[4] != '-' {
		return false
	}
	y, err1 := strconv.Atoi(v[:4])
	m, err2 := strconv.Atoi(v[5:])
	return err1 == nil && err2 == nil && y >= 2019 && (m == 1 || m == 4 || m == 7 || m == 10)
}

// WithShopifyBaseURL sends every request to base (scheme://host[:port], no path)
// instead of https://{shop}, with the shop in the Host header: for
// shopifytest (its URL) or a proxy. The path stays
// /admin/api/{version}/graphql.json.
func WithShopifyBaseURL(base string) Option {
	return optionFunc(func(c *config) {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			c.err = fmt.Errorf("%w: base URL %q is not scheme://host[:port]", ErrConfig, base)
			return
		}
		u.Path = ""
		c.baseURL = u
	})
}

// WithHTTPClient sets the HTTP client (default: a client with a 30 s
// timeout per request, over http.DefaultTransport).
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) {
		if hc != nil {
			c.httpClient = hc
		}
	})
}

// WithClock sets the clock that pacing, retries and telemetry read and
// wait on.
func WithClock(clock Clock) Option {
	return optionFunc(func(c *config) {
		if clock != nil {
			c.clock = clock
		}
	})
}

// WithRandom sets the source of backoff jitter: a function returning
// values in [0, 1) (default math/rand/v2.Float64).
func WithRandom(r func() float64) Option {
	return optionFunc(func(c *config) {
		if r != nil {
			c.random = r
		}
	})
}

// WithLogger sets where deprecation notices and version fall-forwards
// are logged (default slog.Default()). Nothing logged contains a token
// or a variable's value.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithBudget shares each shop's cost budget through b, so that every
// Client using the same Budget (in this process, or across a fleet with
// a shared implementation such as access/redisstore's) paces against one
// bucket. The default is a budget of this Client alone.
func WithBudget(b Budget) Option {
	return optionFunc(func(c *config) {
		if b != nil {
			c.budget = b
		}
	})
}

// WithMaxRetries bounds how many times one call is retried after
// THROTTLED, 429 and 502/503/504 answers together (default
// DefaultMaxRetries; 0 never retries them). The one retry after a 401
// is not counted.
func WithMaxRetries(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.err = fmt.Errorf("%w: negative max retries %d", ErrConfig, n)
			return
		}
		c.maxRetries = n
	})
}

// WithMaxRetryAfter caps how long a 429's Retry-After is honoured
// (default DefaultMaxRetryAfter); a longer one ends the call with
// ErrThrottled.
func WithMaxRetryAfter(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.maxRetryAfter = d
		}
	})
}

// WithTracerProvider sets the tracer provider (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tracer = tp
		}
	})
}

// WithMeterProvider sets the meter provider (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) {
		if mp != nil {
			c.meter = mp
		}
	})
}

// withoutPacing sends every call at once and only reacts to THROTTLED,
// as the official clients do at best: for the tests that show what pacing
// avoids.
func withoutPacing() Option { return optionFunc(func(c *config) { c.pacing = false }) }

func newConfig(opts []Option) (config, error) {
	c := config{
		clock:         systemClock{},
		random:        rand.Float64,
		logger:        slog.Default(),
		pacing:        true,
		maxRetries:    DefaultMaxRetries,
		maxRetryAfter: DefaultMaxRetryAfter,
		backoffBase:   defaultBackoffBase,
		backoffMax:    defaultBackoffMax,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.err != nil {
		return config{}, c.err
	}
	if c.version == "" {
		return config{}, fmt.Errorf("%w: WithAPIVersion is required (for example \"2026-10\"): choose the version your queries were written against", ErrConfig)
	}
	if !validVersion(c.version) {
		return config{}, fmt.Errorf("%w: API version %q is not YYYY-01, -04, -07, -10 or \"unstable\"", ErrConfig, c.version)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.budget == nil {
		c.budget = NewMemoryBudget()
	}
	return c, nil
}

// CallOption adjusts one call of Do.
type CallOption interface{ applyCall(*callConfig) }

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

type callConfig struct {
	retrySafe     bool
	cost          float64 // 0: estimate
	operationName string
}

// RetrySafe marks a mutation as safe to send again: after a 401 (with a
// renewed token) and after 502/503/504, whose request may or may not have
// run. Queries always are; a mutation is only when it is idempotent (such
// as tagsAdd: adding a tag twice leaves one). THROTTLED and 429 answers
// are retried for every operation, since Shopify ran nothing.
func RetrySafe() CallOption { return callOptionFunc(func(c *callConfig) { c.retrySafe = true }) }

// Cost sets the call's requested cost (what Shopify will compute before
// running it), instead of the client's estimate: the cost this query
// text last had, or else a static estimate by Shopify's rules (objects 1,
// connections 2 + first × node, mutations 10).
func Cost(points int) CallOption {
	return callOptionFunc(func(c *callConfig) {
		if points > 0 {
			c.cost = float64(points)
		}
	})
}

// OperationName selects the operation to run when the query document
// holds several.
func OperationName(name string) CallOption {
	return callOptionFunc(func(c *callConfig) { c.operationName = name })
}
