package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Option configures a Verifier.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

const (
	// DefaultMaxBodySize bounds a webhook body unless WithMaxBodySize says
	// otherwise: 4 MiB, well above Shopify's largest ordinary payloads
	// (an order or product with hundreds of lines is tens of KiB), small
	// enough that unauthenticated senders cannot make the server buffer
	// much. The body is read, up to this size, before anything is parsed.
	DefaultMaxBodySize = 4 << 20

	// DefaultHandlerTimeout bounds a handler unless WithHandlerTimeout
	// says otherwise. Shopify waits about 5 s for an answer (and counts a
	// slower one as failed); 4 s leaves room for reading the body, the
	// Deduper's round trips and the network.
	DefaultHandlerTimeout = 4 * time.Second

	// DedupeRetention is how long a Deduper remembers a handled delivery.
	// Shopify retries a failed delivery up to 8 times over 4 hours with
	// the same webhook ID; a retry can only follow an attempt, so 4 hours
	// after the handling attempt covers every retry. Two more hours absorb
	// clock skew between Shopify and the store and delays in Shopify's
	// queue.
	DedupeRetention = 6 * time.Hour

	// claimMargin is added to the handler timeout to make a claim's lease:
	// a handler that is still running when its deadline passes (it has
	// not noticed its context yet) keeps the claim for this long more.
	claimMargin = 10 * time.Second

	// maxHandlerTimeout is exclusive: at 5 s Shopify has already given up.
	maxHandlerTimeout = 5 * time.Second
)

// StalePolicy says what the middleware does with a delivery older than
// WithMaxAge allows.
type StalePolicy uint8

const (
	// StaleFlag handles the delivery with Delivery.Stale set.
	StaleFlag StalePolicy = iota + 1
	// StaleDrop answers 200 without calling the handler (so Shopify stops
	// retrying) and reports ErrStale through WithOnError.
	StaleDrop
)

// String returns "flag" or "drop".
func (p StalePolicy) String() string {
	switch p {
	case StaleFlag:
		return "flag"
	case StaleDrop:
		return "drop"
	}
	return "unknown"
}

// ErrorHook receives every request the Verifier's HTTP handlers answer
// with an error, after the response is written: the HTTP status, the
// delivery when the request got far enough to have a verified one (nil
// otherwise, and always nil for app proxy requests), and an error
// wrapping one of the Err* sentinels. A duplicate delivery answered 200 is
// not an error; a dropped stale one is reported with ErrStale and status
// 200, and a handled one the Deduper could not record as done with
// ErrDedupe and status 200. After a timeout (ErrTimeout), the handler's
// eventual result settles the claim but is not reported.
type ErrorHook func(r *http.Request, d *Delivery, status int, err error)

type config struct {
	maxBody        int64
	timeout        time.Duration
	deduper        Deduper
	maxAge         time.Duration
	stale          StalePolicy
	now            func() time.Time
	onError        ErrorHook
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
}

func newConfig(opts []Option) (config, error) {
	c := config{
		maxBody: DefaultMaxBodySize,
		timeout: DefaultHandlerTimeout,
		now:     time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var errs []error
	if c.maxBody <= 0 {
		errs = append(errs, fmt.Errorf("webhook: max body size %d must be positive", c.maxBody))
	}
	if c.timeout <= 0 || c.timeout >= maxHandlerTimeout {
		errs = append(errs, fmt.Errorf("webhook: handler timeout %v out of range (0, %v): Shopify gives up after about 5 s; hand long work to a queue", c.timeout, maxHandlerTimeout))
	}
	if c.stale != 0 && c.maxAge <= 0 {
		errs = append(errs, fmt.Errorf("webhook: max age %v must be positive", c.maxAge))
	}
	if c.stale != 0 && c.stale != StaleFlag && c.stale != StaleDrop {
		errs = append(errs, errors.New("webhook: unknown stale policy"))
	}
	return c, errors.Join(errs...)
}

// WithMaxBodySize bounds the webhook body in bytes (default
// DefaultMaxBodySize). A larger body is answered 413 without being read
// to its end.
func WithMaxBodySize(n int64) Option {
	return optionFunc(func(c *config) { c.maxBody = n })
}

// WithHandlerTimeout bounds how long the handler behind Middleware may
// run (default DefaultHandlerTimeout; less than 5 s). Past it the
// middleware answers 503 and cancels the handler's context; Shopify
// retries. Hand work that takes longer to a queue and answer at once.
func WithHandlerTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithDeduper makes the middleware handle each delivery once, by its
// webhook ID, across every instance that shares d (access.MemoryStore in
// one process; the SQLite, Redis or PostgreSQL stores across a fleet):
//
//   - a delivery already handled is answered 200 without calling the
//     handler (for DedupeRetention after it was handled);
//   - a delivery being handled elsewhere is answered 503, so Shopify
//     retries it later;
//   - a delivery whose handler fails (error, non-2xx, panic, timeout) is
//     released and answered non-2xx, so Shopify's retry is handled;
//   - if d itself fails, the delivery is answered 503 unhandled.
//
// A claim lasts the handler timeout plus 10 s, so a process that dies
// while handling frees the delivery for Shopify's next retry.
func WithDeduper(d Deduper) Option {
	return optionFunc(func(c *config) { c.deduper = d })
}

// WithMaxAge bounds how long ago a delivery may have been triggered
// (X-Shopify-Triggered-At; a retry carries the original time). Older
// deliveries are flagged (Delivery.Stale) or dropped, as policy says.
// Deliveries without a readable triggered-at time are never stale.
func WithMaxAge(age time.Duration, policy StalePolicy) Option {
	return optionFunc(func(c *config) { c.maxAge, c.stale = age, policy })
}

// WithClock sets the clock read for staleness and for the app proxy and
// OAuth timestamp windows.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithOnError sets a hook called for every request answered with an
// error (see ErrorHook). Use it to log or count rejections and handler
// failures; the error never contains a secret or the body.
func WithOnError(fn ErrorHook) Option {
	return optionFunc(func(c *config) { c.onError = fn })
}

// WithTracerProvider sets where delivery spans go (default, or nil: the
// global provider, otel.GetTracerProvider, as it is at New; the default
// global forwards to an SDK installed later).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets where delivery and signed-query metrics go
// (default, or nil: the global provider, otel.GetMeterProvider, as it is
// at New; the default global forwards to an SDK installed later).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = mp })
}
