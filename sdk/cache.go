package sdk

import (
	"hash/maphash"
	"runtime"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// sessionCache maps a verified token to its session. It is sharded so that
// concurrent lookups rarely meet on a lock: a single-mutex LRU gets slower
// with more cores, since every hit reorders the list under the lock.
// Entries expire with their token (exp + leeway) and are ignored once the
// keyring generation that verified them is no longer current; both are
// checked on lookup, so no background goroutine is needed.
//
// Size: the bound is split exactly over the shards, each an LRU of its
// own, so eviction is least-recently-used per shard, not globally.
//
// Memory: about 1.3 KB per cached session with Shopify's 583-byte tokens,
// measured at 100k entries (TestCacheMemoryPerEntry: 1283 bytes). Of it,
// 640 is the token itself, which the cache keeps as its key (the caller's
// string, not a copy: the verify path copies no token); 288 the session's
// strings, 208 the Session, 112 the LRU entry, the rest the map slot. The
// default 10,000 sessions thus hold about 13 MB.
type sessionCache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
}

type cacheShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, cacheEntry]
	// Keep shards on separate cache lines.
	_ [40]byte
}

type cacheEntry struct {
	session *Session
	// token is the whole token; the key is only its signature.
	token string
	gen   uint64
	// until is the UnixNano instant (exp + leeway) the entry dies at.
	until int64
}

func newSessionCache(size int) *sessionCache {
	n := 1
	for n < 8*runtime.GOMAXPROCS(0) && n*64 <= size {
		n *= 2
	}
	c := &sessionCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	// Split size exactly: the first size%n shards hold one more entry.
	for i := range c.shards {
		per := size / n
		if i < size%n {
			per++
		}
		lru, _ := simplelru.NewLRU[string, cacheEntry](per, nil) // per >= 64 > 0, or n == 1
		c.shards[i].lru = lru
	}
	return c
}

// cacheKey returns the part of token the cache is keyed by: its last
// sigLen characters, the signature of a well-formed token. Hashing and
// comparing 43 bytes instead of the whole token (~600) makes every map
// operation cheaper; the entry keeps the whole token, and a lookup only
// hits if it is equal. Two tokens that share a signature string but
// differ elsewhere are at most one valid one and forgeries, which are
// never cached.
func cacheKey(token string) string {
	if len(token) > sigLen {
		return token[len(token)-sigLen:]
	}
	return token
}

func (c *sessionCache) shard(key string) *cacheShard {
	// The key is a signature: its tail is as good as random, and hashing
	// 16 bytes of it picks a shard faster than hashing all of it.
	tail := key
	if len(tail) > 16 {
		tail = tail[len(tail)-16:]
	}
	return &c.shards[maphash.String(c.seed, tail)&c.mask]
}

// get returns the session cached for token if it was verified under
// keyring generation gen and is still valid at now (UnixNano).
func (c *sessionCache) get(token string, gen uint64, now int64) *Session {
	key := cacheKey(token)
	sh := c.shard(key)
	sh.mu.Lock()
	e, ok := sh.lru.Get(key)
	switch {
	case !ok:
	case e.token != token:
		// A forgery reusing a cached token's signature: not a hit, and
		// no reason to drop the genuine entry.
		ok = false
	case e.gen != gen || now >= e.until:
		sh.lru.Remove(key)
		ok = false
	}
	sh.mu.Unlock()
	if !ok {
		return nil
	}
	return e.session
}

// put caches s for token until the UnixNano instant until. The cache
// keeps token itself, not a copy (the verify path copies no token): the
// caller's string stays reachable while its entry lives.
func (c *sessionCache) put(token string, s *Session, gen uint64, until int64) {
	key := cacheKey(token)
	sh := c.shard(key)
	sh.mu.Lock()
	sh.lru.Add(key, cacheEntry{session: s, token: token, gen: gen, until: until})
	sh.mu.Unlock()
}

// len returns the number of entries, expired ones included.
func (c *sessionCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += sh.lru.Len()
		sh.mu.Unlock()
	}
	return n
}
