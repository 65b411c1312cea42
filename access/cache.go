package access

import (
	"context"
	"errors"
	"sync"
	"time"
)

var errPanicked = errors.New("access: the shared token computation panicked")

// isCanceled reports whether err is the end of the caller's context (as
// marked by ctxErr) rather than an answer. A timeout of the Manager's own
// (the request budget) is an answer: waiters must not retry after it.
func isCanceled(err error) bool { return errors.Is(err, errCanceled) }

// tokenCache holds decrypted tokens for a short while, so the hot path
// (a shop whose token is fresh) reads neither the store nor the clock of
// anything but the Manager, and allocates nothing: entries are immutable
// and a served Token shares the entry's value pointer.
type tokenCache struct {
	max int

	mu sync.RWMutex
	// offline is keyed by shop alone: hashing one string is cheaper than
	// hashing a Key, and offline tokens are the hot path.
	offline map[string]*cacheEntry
	online  map[Key]*cacheEntry
	// dead remembers, per key, the record version whose refresh token
	// Shopify refused (invalid_grant), so background callers do not ask
	// again for every call; a newer version (an exchange) clears it.
	dead map[Key]int64
}

type cacheEntry struct {
	tok Token
	// until is when the entry stops being served: the earlier of the
	// cache TTL and the token's refresh time (or the failure backoff,
	// for a token served while Shopify is unavailable).
	until time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, offline: map[string]*cacheEntry{}, online: map[Key]*cacheEntry{}, dead: map[Key]int64{}}
}

// lookup returns k's entry; mu is held.
func (c *tokenCache) lookup(k Key) *cacheEntry {
	if k.Mode == Offline {
		return c.offline[k.Shop]
	}
	return c.online[k]
}

func (c *tokenCache) len() int { return len(c.offline) + len(c.online) }

func (c *tokenCache) remove(k Key) {
	if k.Mode == Offline {
		delete(c.offline, k.Shop)
	} else {
		delete(c.online, k)
	}
}

// get returns the cached token for k if it may still be served at now.
func (c *tokenCache) get(k Key, now time.Time) (Token, bool) {
	if c.max == 0 {
		return Token{}, false
	}
	c.mu.RLock()
	e := c.lookup(k)
	c.mu.RUnlock()
	if e == nil || !now.Before(e.until) {
		return Token{}, false
	}
	return e.tok, true
}

func (c *tokenCache) put(k Key, tok Token, until time.Time, now time.Time) {
	if c.max == 0 || !now.Before(until) {
		return
	}
	e := &cacheEntry{tok: tok, until: until}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lookup(k) == nil && c.len() >= c.max {
		c.evict(now)
	}
	if k.Mode == Offline {
		c.offline[k.Shop] = e
	} else {
		c.online[k] = e
	}
}

// evict makes room: entries past their time first, then (the cache is
// full of live entries) an arbitrary tenth. Called with mu held.
func (c *tokenCache) evict(now time.Time) {
	for k, e := range c.offline {
		if !now.Before(e.until) {
			delete(c.offline, k)
		}
	}
	for k, e := range c.online {
		if !now.Before(e.until) {
			delete(c.online, k)
		}
	}
	n := max(c.max/10, 1)
	for k := range c.online {
		if c.len() < c.max || n == 0 {
			return
		}
		delete(c.online, k)
		n--
	}
	for k := range c.offline {
		if c.len() < c.max || n == 0 {
			return
		}
		delete(c.offline, k)
		n--
	}
}

// drop removes k's entry; with value set, only if it holds that token.
func (c *tokenCache) drop(k Key, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.lookup(k); e != nil && (value == "" || e.tok.Value() == value) {
		c.remove(k)
	}
}

// dropShop removes every entry of shop.
func (c *tokenCache) dropShop(shop string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.offline, shop)
	for k := range c.online {
		if k.Shop == shop {
			delete(c.online, k)
		}
	}
	for k := range c.dead {
		if k.Shop == shop {
			delete(c.dead, k)
		}
	}
}

func (c *tokenCache) markDead(k Key, version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dead) >= DefaultCacheSize {
		clear(c.dead)
	}
	c.dead[k] = version
	c.remove(k)
}

func (c *tokenCache) isDead(k Key, version int64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.dead[k]
	return ok && v == version
}

func (c *tokenCache) clearDead(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.dead, k)
}

// flightKey names one in-process computation: a key, what it does, and
// for a 401 the token that was rejected.
type flightKey struct {
	key      Key
	op       flightOp
	rejected string
}

type flightOp uint8

const (
	opServe         flightOp = iota // serve, refresh; never exchange
	opServeExchange                 // serve, refresh, or exchange a session token
	opUnauthorized                  // answer a 401 for rejected
	opMigrate
)

// flight is one computation that concurrent callers for the same key
// share.
type flight struct {
	done chan struct{}
	tok  Token
	err  error
}

// flights runs at most one computation per flightKey at a time in this
// process (single-flight, written here to keep x/sync out of the core).
type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// do runs fn unless a computation for k is running, in which case it waits
// for that one's result. A waiter whose own context ends stops waiting.
// When the leader failed only because its context ended, a waiter whose
// context is live runs the computation again itself.
func (g *flights) do(ctx context.Context, k flightKey, fn func(context.Context) (Token, error)) (Token, error) {
	for {
		g.mu.Lock()
		if g.m == nil {
			g.m = map[flightKey]*flight{}
		}
		if f, ok := g.m[k]; ok {
			g.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return Token{}, ctxErr(ctx.Err())
			}
			if f.err != nil && isCanceled(f.err) && ctx.Err() == nil {
				continue
			}
			return f.tok, f.err
		}
		f := &flight{done: make(chan struct{})}
		g.m[k] = f
		g.mu.Unlock()

		func() {
			defer func() {
				g.mu.Lock()
				delete(g.m, k)
				g.mu.Unlock()
				close(f.done)
			}()
			f.err = errPanicked // replaced unless fn panics
			f.tok, f.err = fn(ctx)
		}()
		return f.tok, f.err
	}
}
