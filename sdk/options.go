package sdk

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Option configures a Verifier.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

const (
	defaultLeeway    = 10 * time.Second
	defaultCacheSize = 10_000
	maxLeeway        = 5 * time.Minute
	// maxCacheSize bounds WithCacheSize: a million sessions, about 1.2 GB
	// of cached sessions at 1.19 KB each, index included. Far more than
	// one process sees within a token's minute.
	maxCacheSize = 1 << 20
	// maxTokenSizeLimit bounds WithMaxTokenSize.
	maxTokenSizeLimit = 64 << 10
)

type config struct {
	clientIDs       []string
	noAudienceCheck bool
	// kinds is the set of accepted token kinds, a bit per Kind (1<<k);
	// zero until WithKinds, then newConfig's default: KindAdmin alone.
	kinds        uint8
	kindsSet     bool
	leeway       time.Duration
	now          func() time.Time
	cacheSize    int
	maxTokenSize int
	shopSuffixes []string
	telemetryConfig
}

func newConfig(opts []Option) (config, error) {
	c := config{
		leeway:       defaultLeeway,
		now:          time.Now,
		cacheSize:    defaultCacheSize,
		maxTokenSize: MaxTokenSize,
	}
	for _, o := range opts {
		o.apply(&c)
	}
	c.shopSuffixes = withDefaultSuffix(c.shopSuffixes)
	var errs []error
	switch {
	case !c.kindsSet:
		c.kinds = 1 << KindAdmin
	case c.kinds == 0:
		errs = append(errs, errors.New("sdk: WithKinds without a kind: pass sdk.KindAdmin, sdk.KindCheckout or both"))
	case c.kinds&^(1<<KindAdmin|1<<KindCheckout) != 0:
		errs = append(errs, errors.New("sdk: WithKinds: unknown token kind (want sdk.KindAdmin or sdk.KindCheckout)"))
	}
	if len(c.clientIDs) == 0 && !c.noAudienceCheck {
		errs = append(errs, errors.New("sdk: no client ID: pass sdk.WithClientID(yourAppClientID), or sdk.WithoutAudienceCheck() to accept tokens for any app signed with your keys"))
	}
	for _, id := range c.clientIDs {
		if id == "" {
			errs = append(errs, errors.New("sdk: empty client ID"))
		}
	}
	if c.leeway < 0 || c.leeway > maxLeeway {
		errs = append(errs, fmt.Errorf("sdk: leeway %v out of range [0, %v]", c.leeway, maxLeeway))
	}
	if c.cacheSize < 0 {
		errs = append(errs, fmt.Errorf("sdk: negative cache size %d", c.cacheSize))
	}
	if c.cacheSize > maxCacheSize {
		errs = append(errs, fmt.Errorf("sdk: cache size %d is more than the limit of %d sessions", c.cacheSize, maxCacheSize))
	}
	if c.maxTokenSize < 1 || c.maxTokenSize > maxTokenSizeLimit {
		errs = append(errs, fmt.Errorf("sdk: max token size %d out of range [1, %d]", c.maxTokenSize, maxTokenSizeLimit))
	}
	for _, s := range c.shopSuffixes {
		if !strings.HasPrefix(s, ".") || !isHostname(s[1:]) {
			errs = append(errs, fmt.Errorf("sdk: shop domain suffix %q must look like \".myshopify.com\"", s))
		}
	}
	return c, errors.Join(errs...)
}

// withDefaultSuffix returns ".myshopify.com" followed by the other
// suffixes, each once.
func withDefaultSuffix(extra []string) []string {
	out := []string{defaultShopSuffix}
	for _, s := range extra {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// WithClientID sets the app's client ID (API key): a token's aud must equal
// it. Pass several IDs, or use the option several times, when one backend
// serves several apps.
func WithClientID(id string, more ...string) Option {
	return optionFunc(func(c *config) {
		c.clientIDs = append(c.clientIDs, id)
		c.clientIDs = append(c.clientIDs, more...)
	})
}

// WithKinds sets which kinds of token Verify (and so the middleware)
// accepts. The default is KindAdmin alone: tokens from the Shopify admin
// and POS, which speak for a staff user of the shop.
//
// Checkout and customer-account tokens (KindCheckout) speak for a buyer,
// and any buyer can read one from their own browser: accept them
// (WithKinds(KindAdmin, KindCheckout), or WithKinds(KindCheckout) for a
// backend that serves only those extensions) only on endpoints built for
// checkout or customer-account UI extensions, which act for that buyer:
// what the buyer may see or do in that shop anyway (the customer in
// Session.UserID, when present, is theirs). Never on endpoints for staff:
// reading or changing orders, customers, inventory or settings, anything
// that calls the Admin API with the shop's access token on the caller's
// behalf. A token of another kind is ErrKind. Use one verifier per kind of
// endpoint, or check Session.Kind in handlers that accept several.
func WithKinds(kinds ...Kind) Option {
	return optionFunc(func(c *config) {
		c.kindsSet = true
		for _, k := range kinds {
			if k == 0 || k > 7 {
				c.kinds |= 1 << 7 // unknown: refused by newConfig
				continue
			}
			c.kinds |= 1 << k
		}
	})
}

// WithoutAudienceCheck accepts any aud, or none. Shopify's own libraries
// do this for extension tokens; prefer WithClientID, which stops a token
// minted for another app that shares your keys. Session.ClientID still
// reports aud. aud must still be a string when present: an array (which
// RFC 7519 allows, and Shopify documents for no surface) is ErrMalformed
// with or without this option, where Shopify's JavaScript library,
// without its audience check, accepts any aud; the differential test
// against it (test/sdk, TestShopifyArrayAudience) pins the choice.
func WithoutAudienceCheck() Option {
	return optionFunc(func(c *config) { c.noAudienceCheck = true })
}

// WithLeeway sets the clock-skew allowance for exp, nbf and iat (default
// 10 s, the value Shopify's libraries settled on; at most 5 min).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(c *config) { c.leeway = d })
}

// WithClock sets the clock used for every time check and for cache expiry.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now = now
		}
	})
}

// WithCacheSize bounds the verified-session cache (default 10,000
// sessions); 0 disables it. At most 1,048,576 (2^20): New returns an
// error for more, and for a negative size.
//
// Memory: a cached session costs about 1.19 KB of heap with a 583-byte
// token, the token itself about half of it (TestCacheMemoryPerEntry), so
// the default holds about 11.9 MB when full and the maximum about 1.2 GB.
// Nothing of it is allocated up front: the sessions as they are cached,
// and the index (about 32 bytes per session) as it grows with them. A
// session the middleware has passed on with client hints keeps its hinted
// copy as well, with the hint values it was parsed from: about 400 bytes.
//
// Garbage collection: every collection marks every cached session, however
// few requests arrive, and a large cache no longer fits in the CPU's
// caches. Measured with benchmarks/cachegc (2 shared CPUs, a request mix of
// 86% cached tokens): a forced collection takes about 20 ms with 10,000
// sessions, 75 ms with 100,000 and 1.3 to 3 s with 1,048,576, with 18-21%
// of the CPU spent collecting instead of 14%, and Verify's median latency
// going from 1.1 µs to 2.0 µs. Size the cache for the distinct tokens that
// arrive within a token's lifetime (one minute for admin/POS tokens):
// about 60 times the new tokens per second, rarely more than 100,000.
func WithCacheSize(n int) Option {
	return optionFunc(func(c *config) { c.cacheSize = n })
}

// WithMaxTokenSize sets the longest token Verify accepts, in bytes
// (default MaxTokenSize, 4096; at most 65536): longer ones are
// ErrMalformed before anything is decoded. Shopify's session tokens are
// under 1 KiB; raise the limit only for tokens that carry more claims.
func WithMaxTokenSize(n int) Option {
	return optionFunc(func(c *config) { c.maxTokenSize = n })
}

// defaultShopSuffix is the suffix of every real shop's domain.
const defaultShopSuffix = ".myshopify.com"

// WithShopDomainSuffixes allows shop domains ending in the given suffixes
// besides ".myshopify.com", which stays allowed: for a development or
// test platform whose shops live elsewhere. A shop domain is a single DNS
// label followed by an allowed suffix: "example" + ".myshopify.com". Each
// suffix starts with a dot and is a lower-case host name; the option may
// be given several times.
func WithShopDomainSuffixes(suffixes ...string) Option {
	return optionFunc(func(c *config) { c.shopSuffixes = append(c.shopSuffixes, suffixes...) })
}
