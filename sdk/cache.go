package sdk

import (
	"hash/maphash"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// sessionCache maps a verified token to its session. Entries expire with
// their token (exp + leeway) and are ignored once the keyring generation
// that verified them is no longer current; both are checked on lookup, so
// no background goroutine is needed.
//
// Scaling: a hit takes no lock. Locks, even sharded ones, made cache hits
// slower with two goroutines than with one (each hit wrote its shard's
// lock, a cache line the other core then had to fetch back). So each
// shard pairs a recency list (the size bound and least-recently-used
// eviction, changed under the shard's lock on insert, removal, and at
// most once a second per entry on a hit) with an index that readers probe
// with atomic loads only: an open-addressed table of entry pointers that
// only the lock holder changes. The list is threaded through the entries
// themselves (newer, older): hashicorp's simplelru, used before, kept a
// map and a list element of its own per entry, which cost an allocation
// and about 120 bytes per cached session, and evicting the oldest entry
// read its element and its map slot, memory as cold as the entry.
//
// Size: the bound is split exactly over the shards, each an LRU of its
// own, so eviction is least-recently-used per shard, not globally.
//
// Memory: about 1.19 KB per cached session with Shopify's 583-byte tokens,
// measured at 100k entries (TestCacheMemoryPerEntry), whatever string the
// caller's token sits in. The Session with its entry (312 bytes), its
// strings (shop, sub, aud, sid, jti: 160 to 200 bytes) and the cache's
// copy of the token (put) are one allocation of 1,152 bytes
// (allocWithBytes); then two index slots (16 bytes each: a pointer and a
// hash). The default 10,000 sessions thus hold about 11.9 MB. A session
// the middleware has passed on with client hints keeps that copy too,
// with the hint values it was parsed from (withHints): about 400 bytes
// more.
type sessionCache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
	// leeway is the verifier's: an entry is valid from its nbf/iat minus
	// the leeway, as a verification would say.
	leeway time.Duration
}

type cacheShard struct {
	mu sync.Mutex
	// newest and oldest are the ends of the recency list of the shard's
	// entries (linked by their newer and older fields), n its length;
	// all guarded by mu.
	newest, oldest *cacheEntry
	n              int
	// index holds every entry of the list, at least half of its slots
	// empty. Readers load it and its slots atomically without mu; only
	// mu's holder stores. It grows with the list (insert), up to maxSlots.
	index atomic.Pointer[cacheIndex]
	// size is the list's bound: add evicts before it indexes a new entry,
	// so the index never holds more than size entries.
	size int
	// maxSlots is the index's final length: the least power of two that
	// is at least 2*size.
	maxSlots int
	// Keep shards on separate cache lines (128 bytes: adjacent-line
	// prefetchers pair 64-byte lines).
	_ [128 - 8 - 8 - 8 - 8 - 8 - 8 - 8]byte
}

// cacheIndex is an open-addressed table of entry pointers, a power of two
// long, probed linearly from an entry's home slot.
//
// It starts small and is replaced by one twice as long whenever it would
// be more than half full. Allocated whole up front, the default cache's
// index was 256 KB of pointers that the collector scanned on every cycle,
// however few sessions were cached: in the end-to-end benchmark's server
// (256 sessions cached), the collector's marking took 0.50 us of CPU per
// request, against 0.35 us with a growing index and 0.22 us without
// verification (GODEBUG=gctrace=1). A table that has been replaced is
// never written again: a reader still probing it finds the entries it
// held, each of which get checks as it checks any entry, and at worst
// misses one added since (a verification, nothing worse).
//
// Beside each slot's entry, hashes holds its hash, so that probes read
// only the table until a slot's hash matches: a cached entry is in
// memory the CPU has not touched for thousands of requests, and reading
// the hash of each entry a probe passes (a lookup that misses passes all
// of its run's; an eviction's shift reads each later entry of the run)
// cost a cache miss per entry: with the default cache full and every
// token new, unindex took 6% of the CPU time (perf), 1% with the hashes
// here, and verifications 3.7% less time in all. A slot's hash is stored
// before its entry, so a reader that loads the entry, then the hash, sees
// that entry's hash or a later one; it compares the entry's key before
// using it, so a mismatch is a false miss at worst, as when an entry
// moves.
type cacheIndex struct {
	slots  []atomic.Pointer[cacheEntry]
	hashes []atomic.Uint64 // hashes[i] is slots[i]'s hash where slots[i] is not nil
}

// newCacheIndex returns an empty index of n slots.
func newCacheIndex(n int) *cacheIndex {
	return &cacheIndex{slots: make([]atomic.Pointer[cacheEntry], n), hashes: make([]atomic.Uint64, n)}
}

// set stores e, of hash h, in slot i: the hash first (see cacheIndex).
// The caller holds mu.
func (ix *cacheIndex) set(i uint64, h uint64, e *cacheEntry) {
	ix.hashes[i].Store(h)
	ix.slots[i].Store(e)
}

// minIndexSlots is the length a shard's index starts at.
const minIndexSlots = 16

// home returns the home slot of hash h (the shard used its low bits).
func (ix *cacheIndex) home(h uint64) uint64 {
	return (h >> 32) & uint64(len(ix.slots)-1)
}

// cacheEntry is immutable once published, but for touched, hinted and
// the list links.
type cacheEntry struct {
	session *Session
	// token is the whole token; its key (cacheKey, the signature) is
	// derived, not stored.
	token string
	hash  uint64
	// newer and older link the entry into its shard's recency list
	// (guarded by the shard's mu; readers never read them): in the
	// entry's first cache line, which evicting it reads.
	newer, older *cacheEntry
	gen          uint64
	// until is the UnixNano instant (exp + leeway) the entry dies at.
	until int64
	// from is the UnixNano instant (the later of nbf and iat, minus the
	// leeway) before which the token is not yet valid: a clock that steps
	// back must not make the cache serve what verification would refuse.
	from int64
	// touched is when the entry's recency was last refreshed.
	touched atomic.Int64
	// hinted is the session with the hints a request last sent with this
	// token (withHints), or nil.
	hinted atomic.Pointer[hintedSession]
}

// hintedSession is a cached session with the hints of a request, kept
// with the header values they were parsed from.
type hintedSession struct {
	Session
	vals hintValues
}

// withHints returns the entry's session with the hints of vals, as the
// middleware passes it on: the copy that an earlier request with the same
// hints made, or a new one that later requests with them share. A POS
// device sends its token with the same hints every time, so each token
// served from the cache makes one copy (about 400 bytes, kept with the
// entry), where each request made one before; and a request that sends
// the very values the copy was made from is served it without parsing
// them. vals may be views of request headers: the copy keeps none of
// them. The error is parse's, for hints that are malformed or contradict
// the session.
func (e *cacheEntry) withHints(vals *hintValues) (*Session, error) {
	kept := e.hinted.Load()
	if kept != nil && kept.vals == *vals {
		return &kept.Session, nil
	}
	own := vals.clone() // hints' strings are views of the values parsed
	hints, err := own.parse(e.session)
	if err != nil {
		return nil, err
	}
	if kept != nil && kept.Hints == hints {
		return &kept.Session, nil // the same hints, written differently
	}
	hs := &hintedSession{Session: *e.session, vals: own}
	hs.Hints = hints
	e.hinted.Store(hs)
	return &hs.Session, nil
}

// key returns the entry's cache key, cacheKey(token).
func (e *cacheEntry) key() string { return cacheKey(e.token) }

// cachedSession puts a Session and its cache entry in one allocation.
type cachedSession struct {
	entry   cacheEntry
	session Session
}

func newSessionCache(size int, leeway time.Duration) *sessionCache {
	n := 1
	for n < 8*runtime.GOMAXPROCS(0) && n*64 <= size {
		n *= 2
	}
	c := &sessionCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n), leeway: leeway}
	// Split size exactly: the first size%n shards hold one more entry.
	for i := range c.shards {
		sh := &c.shards[i]
		per := size / n
		if i < size%n {
			per++
		}
		slots := 2
		for slots < 2*per {
			slots *= 2
		}
		sh.maxSlots = slots
		sh.index.Store(newCacheIndex(min(slots, minIndexSlots)))
		sh.size = per // per >= 64 > 0, or n == 1 and per == size > 0
	}
	return c
}

// cacheKey returns the part of token the cache is keyed by: its last
// sigLen characters, the signature of a well-formed token. Hashing and
// comparing 43 bytes instead of the whole token (~600) makes every lookup
// cheaper; the entry keeps the whole token, and a lookup only hits if it
// is equal. Two tokens that share a signature string but differ elsewhere
// are at most one valid one and forgeries, which are never cached.
func cacheKey(token string) string {
	if len(token) > sigLen {
		return token[len(token)-sigLen:]
	}
	return token
}

// touchInterval is how often a hit may refresh an entry's recency, under
// the shard's lock. Recency to the second is enough for sessions that
// live a minute, and keeps hits from writing.
const touchInterval = int64(time.Second)

// get returns the entry cached for token if it was verified under
// keyring generation gen and is valid at now (UnixNano): before exp +
// leeway, and not before nbf/iat - leeway.
func (c *sessionCache) get(token string, gen uint64, now int64) *cacheEntry {
	key := cacheKey(token)
	h := maphash.String(c.seed, key)
	sh := &c.shards[h&c.mask]
	e := sh.lookup(key, h)
	switch {
	case e == nil:
		return nil
	case e.token != token:
		// A forgery reusing a cached token's signature: not a hit, and
		// no reason to drop the genuine entry.
		return nil
	case now < e.from:
		// The clock stepped back: not valid yet, as verification will say.
		// The entry stays, to serve once the clock is right again.
		return nil
	case e.gen != gen || now >= e.until:
		sh.mu.Lock()
		if sh.listed(e) {
			sh.remove(e)
		}
		sh.mu.Unlock()
		return nil
	}
	if t := e.touched.Load(); now-t >= touchInterval && e.touched.CompareAndSwap(t, now) {
		sh.mu.Lock()
		if sh.listed(e) {
			sh.unlink(e)
			sh.pushNewest(e)
		}
		sh.mu.Unlock()
	}
	return e
}

// put caches the session of e for token, verified at now, until the
// UnixNano instant until. The entry keeps a copy of token, never the
// caller's string: that may be a substring of something much larger (the
// middleware passes a slice of the Authorization header's value, which a
// client can pad to a megabyte), which the entry would otherwise keep
// alive for its lifetime. The copy goes into own, len(token) bytes that
// are never written again (in the entry's allocation: verifyIn), or, if
// own is shorter, into an allocation of its own.
func (c *sessionCache) put(e *cacheEntry, own []byte, token string, s *Session, gen uint64, now, until int64) {
	if len(own) == len(token) && len(token) > 0 {
		copy(own, token)
		token = unsafe.String(&own[0], len(own))
	} else {
		token = strings.Clone(token)
	}
	key := cacheKey(token)
	h := maphash.String(c.seed, key)
	from := int64(math.MinInt64)
	for _, t := range [...]time.Time{s.NotBefore, s.IssuedAt} {
		if !t.IsZero() {
			from = max(from, unixNano(t.Add(-c.leeway)))
		}
	}
	*e = cacheEntry{session: s, token: token, hash: h, gen: gen, until: until, from: from}
	e.touched.Store(now)
	sh := &c.shards[h&c.mask]
	sh.mu.Lock()
	sh.add(e)
	sh.mu.Unlock()
}

// unixNano is t.UnixNano, saturated at the ends of int64 (nbf and iat may
// lie up to 2^53 s from 1970, beyond what int64 nanoseconds hold).
func unixNano(t time.Time) int64 {
	const limit = math.MaxInt64 / int64(time.Second)
	switch sec := t.Unix(); {
	case sec >= limit:
		return math.MaxInt64
	case sec <= -limit:
		return math.MinInt64
	}
	return t.UnixNano()
}

// add indexes e and makes it the shard's newest entry, in place of the
// entry of its key if there is one. A shard that is full evicts (and
// unindexes) its oldest entry first: were e indexed before the eviction,
// a shard of one entry would fill both slots of its index for a moment,
// and the probe loops, which end at an empty slot, would never end. The
// caller holds mu.
func (sh *cacheShard) add(e *cacheEntry) {
	if old := sh.lookup(e.key(), e.hash); old != nil {
		sh.remove(old)
	} else if sh.n >= sh.size {
		sh.remove(sh.oldest)
	}
	sh.insert(e)
	sh.pushNewest(e)
}

// listed reports whether e is in the shard's list (not yet evicted or
// removed). The caller holds mu.
func (sh *cacheShard) listed(e *cacheEntry) bool {
	return e.newer != nil || sh.newest == e
}

// remove takes e out of the list and the index. The caller holds mu.
func (sh *cacheShard) remove(e *cacheEntry) {
	sh.unlink(e)
	sh.unindex(e)
}

// pushNewest links e, not listed, as the newest entry. The caller holds
// mu.
func (sh *cacheShard) pushNewest(e *cacheEntry) {
	e.older, e.newer = sh.newest, nil
	if sh.newest != nil {
		sh.newest.newer = e
	} else {
		sh.oldest = e
	}
	sh.newest = e
	sh.n++
}

// unlink takes e, listed, out of the list. The caller holds mu.
func (sh *cacheShard) unlink(e *cacheEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		sh.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		sh.oldest = e.newer
	}
	e.newer, e.older = nil, nil
	sh.n--
}

// lookup probes the index for key without locking. It may miss an entry
// that the lock holder is moving (a false miss only costs a
// verification); it never returns an entry of another key.
func (sh *cacheShard) lookup(key string, h uint64) *cacheEntry {
	ix := sh.index.Load()
	m := uint64(len(ix.slots) - 1)
	for i, n := ix.home(h), 0; n < len(ix.slots); i, n = (i+1)&m, n+1 {
		e := ix.slots[i].Load()
		if e == nil {
			return nil
		}
		if ix.hashes[i].Load() == h && e.key() == key {
			return e
		}
	}
	return nil
}

// insert adds e (whose key is not indexed) to the index, first
// growing the index if one more entry would fill more than half of it.
// The caller holds mu.
func (sh *cacheShard) insert(e *cacheEntry) {
	ix := sh.index.Load()
	if n := len(ix.slots); 2*(sh.n+1) > n && n < sh.maxSlots {
		grown := newCacheIndex(2 * n)
		for i := range ix.slots {
			if old := ix.slots[i].Load(); old != nil {
				grown.put(ix.hashes[i].Load(), old)
			}
		}
		// Published only once complete: readers see the old table whole
		// or the new one whole.
		sh.index.Store(grown)
		ix = grown
	}
	ix.put(e.hash, e)
}

// put stores e, of hash h, in the first empty slot of its probe run: no
// entry of its key is indexed (add removed it). The caller holds mu.
func (ix *cacheIndex) put(h uint64, e *cacheEntry) {
	m := uint64(len(ix.slots) - 1)
	// At most len(slots) probes: add keeps half of the slots empty, so the
	// bound is never reached; it only makes sure no bug can spin here (an
	// entry left out of the index is a cache miss, nothing worse).
	for i, n := ix.home(h), 0; n < len(ix.slots); i, n = (i+1)&m, n+1 {
		if ix.slots[i].Load() == nil {
			ix.set(i, h, e)
			return
		}
	}
}

// unindex removes e, shifting later entries of its probe run back so
// that no run has a hole (no tombstones). Of the entries, it reads only
// e's hash (in the cache line that unlinking e read): the ones it shifts
// are cold. The caller holds mu.
func (sh *cacheShard) unindex(e *cacheEntry) {
	ix := sh.index.Load()
	slots := ix.slots
	m := uint64(len(slots) - 1)
	i := ix.home(e.hash)
	for n := 0; slots[i].Load() != e; n++ {
		if slots[i].Load() == nil || n == len(slots) {
			return // not indexed: only a bug could get here
		}
		i = (i + 1) & m
	}
	// The run after i ends at an empty slot, which add guarantees; the
	// count bounds the loop should it not.
	for j, n := (i+1)&m, 1; n < len(slots); j, n = (j+1)&m, n+1 {
		next := slots[j].Load()
		if next == nil {
			break
		}
		// next may move to the hole at i unless its home lies cyclically
		// in (i, j].
		nh := ix.hashes[j].Load()
		if home := ix.home(nh); (j-home)&m >= (j-i)&m {
			ix.set(i, nh, next)
			i = j
		}
	}
	slots[i].Store(nil)
}

// len returns the number of entries, expired ones included.
func (c *sessionCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}
