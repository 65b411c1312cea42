package access

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/possession-dev/possession/keysource"
)

// Option configures a Manager.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Defaults. Each is explained where its option is.
const (
	DefaultRefreshMargin  = 5 * time.Minute
	DefaultCacheTTL       = 30 * time.Second
	DefaultCacheSize      = 10_000
	DefaultLease          = 20 * time.Second
	DefaultLockWait       = 25 * time.Second
	DefaultRequestTimeout = 15 * time.Second
	DefaultMaxAttempts    = 4
	DefaultFailureBackoff = 10 * time.Second

	defaultRetryBase = 250 * time.Millisecond
	defaultRetryMax  = 4 * time.Second
	maxRetryAfter    = 60 * time.Second
)

type config struct {
	baseURL        *url.URL // nil: https://{shop}
	httpClient     *http.Client
	now            func() time.Time
	refreshMargin  time.Duration
	cacheTTL       time.Duration
	cacheSize      int
	lease          time.Duration
	lockWait       time.Duration
	requestTimeout time.Duration
	maxAttempts    int
	retryBase      time.Duration
	retryMax       time.Duration
	failureBackoff time.Duration
	encryption     keysource.Source
	userAgent      string

	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider

	// Test seams, set only by this package's tests.
	sleep  func(ctx context.Context, d time.Duration) error
	random io.Reader
	jitter func(d time.Duration) time.Duration

	errs []error
}

func newConfig(opts []Option) (config, error) {
	c := config{
		httpClient:     &http.Client{},
		now:            time.Now,
		refreshMargin:  DefaultRefreshMargin,
		cacheTTL:       DefaultCacheTTL,
		cacheSize:      DefaultCacheSize,
		lease:          DefaultLease,
		lockWait:       DefaultLockWait,
		requestTimeout: DefaultRequestTimeout,
		maxAttempts:    DefaultMaxAttempts,
		retryBase:      defaultRetryBase,
		retryMax:       defaultRetryMax,
		failureBackoff: DefaultFailureBackoff,
		userAgent:      "possession-access",
		sleep:          sleepCtx,
		random:         rand.Reader,
		jitter:         halfJitter,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	errs := c.errs
	if c.refreshMargin < 0 {
		errs = append(errs, fmt.Errorf("access: negative refresh margin %v", c.refreshMargin))
	}
	if c.cacheTTL < 0 {
		errs = append(errs, fmt.Errorf("access: negative cache ttl %v", c.cacheTTL))
	}
	if c.cacheSize < 0 {
		errs = append(errs, fmt.Errorf("access: negative cache size %d", c.cacheSize))
	}
	if c.lease <= 0 {
		errs = append(errs, fmt.Errorf("access: lease %v must be positive", c.lease))
	}
	if c.lockWait < 0 {
		errs = append(errs, fmt.Errorf("access: negative lock wait %v", c.lockWait))
	}
	if c.requestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("access: request timeout %v must be positive", c.requestTimeout))
	} else if c.lease > 0 && c.requestTimeout >= c.lease {
		// A holder must be done with Shopify before its lease ends, or a
		// successor refreshes concurrently and one of the two pairs is lost.
		errs = append(errs, fmt.Errorf("access: request timeout %v must be shorter than the lease %v", c.requestTimeout, c.lease))
	}
	if c.maxAttempts < 1 {
		errs = append(errs, fmt.Errorf("access: max attempts %d must be at least 1", c.maxAttempts))
	}
	if c.retryBase <= 0 || c.retryMax < c.retryBase {
		errs = append(errs, fmt.Errorf("access: retry backoff base %v and max %v: want 0 < base <= max", c.retryBase, c.retryMax))
	}
	if c.failureBackoff < 0 {
		errs = append(errs, fmt.Errorf("access: negative failure backoff %v", c.failureBackoff))
	}
	if c.httpClient == nil {
		errs = append(errs, errors.New("access: nil http client"))
	}
	return c, errors.Join(errs...)
}

// WithShopifyBaseURL sends token requests to base (scheme, host and
// optional path prefix, "http://127.0.0.1:8080") instead of
// https://{shop}, with the request's Host header set to the shop's domain:
// how shopifytest.Server tells shops apart, and how a forward proxy or a
// recording test server can sit in front of Shopify.
func WithShopifyBaseURL(base string) Option {
	return optionFunc(func(c *config) {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			c.errs = append(c.errs, fmt.Errorf("access: shopify base url %q: want http(s)://host[:port][/path]", base))
			return
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.baseURL = u
	})
}

// WithHTTPClient sets the client for requests to Shopify (default: a new
// http.Client with Go's default transport). Its Timeout, if any, bounds
// each attempt; WithRequestTimeout bounds all attempts of one grant.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) { c.httpClient = hc })
}

// WithClock sets the clock the Manager reads for token expiry, refresh
// margins and its cache. Timeouts, backoff and lock waits run on real
// time (they are context deadlines and timers).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithRefreshMargin sets how long before an expiring access token's expiry
// the Manager refreshes it (default 5 min, as Shopify's JS library does).
// Five minutes of a one-hour token leaves room for a refresh that waits on
// a 429's Retry-After or retries 5xx, for another instance holding the
// lock, and for clocks a little apart across the fleet, while still
// refreshing only once per twelfth of a token's life. A margin of more
// than half a token's lifetime is cut to half, so a short-lived token is
// not refreshed on every call.
func WithRefreshMargin(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshMargin = d })
}

// WithCacheTTL sets how long the Manager serves a token from its
// in-process cache without reading the store (default 30 s). Another
// instance may refresh the token (revoking the cached one) in that time;
// then an Admin API call gets 401 and RefreshAfterUnauthorized fetches the
// stored replacement. 0 disables the cache, and with it the failure
// backoff (WithFailureBackoff), which lives in the cache.
func WithCacheTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.cacheTTL = d })
}

// WithCacheSize bounds the in-process token cache (default 10,000 tokens);
// 0 disables it.
func WithCacheSize(n int) Option {
	return optionFunc(func(c *config) { c.cacheSize = n })
}

// WithLease sets the lease of the fleet-wide lock a refresh or exchange
// holds (default 20 s). A holder that dies frees the shop after at most
// this long. It must exceed the request timeout.
func WithLease(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lease = d })
}

// WithLockWait bounds how long a caller waits for another holder of the
// shop's lock (default 25 s: longer than the default lease, so a dead
// holder's lease ends while callers still wait and one of them takes
// over). The caller's context bounds it too.
func WithLockWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lockWait = d })
}

// WithRequestTimeout bounds one grant's requests to Shopify, retries and
// Retry-After waits included (default 15 s). It must be shorter than the
// lease.
func WithRequestTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.requestTimeout = d })
}

// WithMaxAttempts bounds the requests of one grant, the first included
// (default 4). Only 429, 5xx and network errors are retried.
func WithMaxAttempts(n int) Option {
	return optionFunc(func(c *config) { c.maxAttempts = n })
}

// WithRetryBackoff sets the exponential backoff between retries after a 5xx
// or a network error: after attempt n the Manager waits a random duration
// between half and all of min(max, base·2ⁿ⁻¹) (defaults 250 ms and 4 s).
// A 429 waits what its Retry-After says instead (at most a minute).
func WithRetryBackoff(base, max time.Duration) Option {
	return optionFunc(func(c *config) { c.retryBase, c.retryMax = base, max })
}

// WithFailureBackoff sets how long, after a refresh failed for a transient
// reason while the stored token was still valid, the Manager serves that
// token before it tries again (default 10 s), so that a Shopify outage
// does not turn every call into a refresh attempt.
func WithFailureBackoff(d time.Duration) Option {
	return optionFunc(func(c *config) { c.failureBackoff = d })
}

// WithEncryptionKeys sets the key source whose secrets seal tokens at rest
// (default: the app's client secret source passed to New). Each secret
// must have at least 16 bytes; use 32 random bytes. The current key seals
// every write; previous keys of the source still open rows sealed before
// a rotation. See the package documentation for rotating keys.
func WithEncryptionKeys(src keysource.Source) Option {
	return optionFunc(func(c *config) {
		if src == nil {
			c.errs = append(c.errs, errors.New("access: nil encryption key source"))
			return
		}
		c.encryption = src
	})
}

// WithUserAgent sets the User-Agent of requests to Shopify (default
// "possession-access").
func WithUserAgent(ua string) Option {
	return optionFunc(func(c *config) {
		if ua != "" {
			c.userAgent = ua
		}
	})
}

// WithTracerProvider sets where the Manager's spans go (default, or nil:
// the global provider, including one installed after New).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets where the Manager's metrics go (default, or nil:
// the global provider, including one installed after New).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}
