package sdk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// The cache's rules: an entry never outlives its token's exp + leeway,
// entries of an older keyring generation are not served, the size bound
// holds, and it needs no goroutine.

const (
	cacheTestSecret = "cache-test-secret-0123456789abcdef"
	cacheTestClient = "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"
)

var cacheTestIssued = time.Unix(1_780_000_000, 0)

// testClock is a settable clock for WithClock.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }

// swappableSource is a key source whose keyring the test replaces, as a
// file or secrets-manager source does on rotation.
type swappableSource struct {
	ring atomic.Pointer[keysource.Keyring]
}

func (s *swappableSource) Keyring() *keysource.Keyring { return s.ring.Load() }

func (s *swappableSource) swap(t *testing.T, secrets ...string) {
	t.Helper()
	keys := make([]keysource.Key, len(secrets))
	for i, sec := range secrets {
		keys[i] = keysource.Key{ID: "k" + strconv.Itoa(i), Secret: keysource.NewSecret(sec)}
	}
	ring, err := keysource.NewKeyring(time.Time{}, keys...)
	if err != nil {
		t.Fatal(err)
	}
	s.ring.Store(ring)
}

func cacheTestMinter() sdktest.Minter {
	return sdktest.Minter{
		Secret:        cacheTestSecret,
		ClientID:      cacheTestClient,
		Now:           func() time.Time { return cacheTestIssued },
		EscapeSlashes: true,
	}
}

func newCacheTestVerifier(t testing.TB, src keysource.Source, clock *testClock, size int) *Verifier {
	t.Helper()
	v, err := New(src, WithClientID(cacheTestClient), WithClock(clock.now), WithCacheSize(size))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCacheEntryDiesAtExpPlusLeeway(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 100)
	tok := cacheTestMinter().Admin() // exp = issued + 60 s
	ctx := context.Background()

	if o := v.verify(ctx, tok); o.err != nil || o.cacheHit() {
		t.Fatalf("first verification: err %v, hit %v; want a miss", o.err, o.cacheHit())
	}
	// exp + leeway - 1 ns: still served from the cache.
	deadline := cacheTestIssued.Add(60*time.Second + defaultLeeway)
	clock.set(deadline.Add(-time.Nanosecond))
	o := v.verify(ctx, tok)
	if o.err != nil || !o.cacheHit() {
		t.Fatalf("just before exp+leeway: err %v, hit %v; want a hit", o.err, o.cacheHit())
	}
	// At exp + leeway the entry is dead: not served, removed, and the
	// token is rejected as expired.
	clock.set(deadline)
	o = v.verify(ctx, tok)
	if o.cacheHit() || !errors.Is(o.err, ErrExpired) || o.session != nil {
		t.Fatalf("at exp+leeway: hit %v, err %v; want ErrExpired and no session", o.cacheHit(), o.err)
	}
	if n := v.cache.len(); n != 0 {
		t.Fatalf("expired entry still held: %d entries", n)
	}
}

func TestCacheUsesTheVerifiersLeeway(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v, err := New(keysource.MustStatic(cacheTestSecret), WithClientID(cacheTestClient), WithClock(clock.now), WithLeeway(0))
	if err != nil {
		t.Fatal(err)
	}
	tok := cacheTestMinter().Admin()
	ctx := context.Background()
	if o := v.verify(ctx, tok); o.err != nil {
		t.Fatal(o.err)
	}
	clock.set(cacheTestIssued.Add(60 * time.Second))
	if o := v.verify(ctx, tok); o.cacheHit() || !errors.Is(o.err, ErrExpired) {
		t.Fatalf("at exp with no leeway: hit %v, err %v", o.cacheHit(), o.err)
	}
}

func TestCacheIgnoresOlderKeyringGenerations(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	src := &swappableSource{}
	src.swap(t, cacheTestSecret)
	v := newCacheTestVerifier(t, src, clock, 100)
	tok := cacheTestMinter().Admin()
	ctx := context.Background()

	if o := v.verify(ctx, tok); o.err != nil || o.cacheHit() {
		t.Fatalf("first: err %v hit %v", o.err, o.cacheHit())
	}
	if o := v.verify(ctx, tok); !o.cacheHit() {
		t.Fatal("second verification under the same keyring missed the cache")
	}

	// Same secret, new keyring: the entry is not served; the token is
	// verified again (and cached under the new generation).
	src.swap(t, cacheTestSecret)
	if o := v.verify(ctx, tok); o.err != nil || o.cacheHit() {
		t.Fatalf("after reload: err %v hit %v; want a fresh verification", o.err, o.cacheHit())
	}
	if o := v.verify(ctx, tok); !o.cacheHit() {
		t.Fatal("not cached under the new generation")
	}

	// The secret is revoked: the cached session must not outlive it.
	src.swap(t, "a-new-secret")
	if o := v.verify(ctx, tok); o.cacheHit() || !errors.Is(o.err, ErrSignature) || o.session != nil {
		t.Fatalf("after revocation: hit %v err %v; want ErrSignature", o.cacheHit(), o.err)
	}
}

func TestCacheSizeBound(t *testing.T) {
	for _, size := range []int{1, 63, 64, 100, 1000, 1001, 10_000, 12_345} {
		c := newSessionCache(size, defaultLeeway)
		capacity := 0
		for i := range c.shards {
			// Fill every shard beyond its share: what remains is its bound.
			sh := &c.shards[i]
			for j := 0; j < size+1; j++ {
				key := "k" + strconv.Itoa(j) + "-token"
				sh.add(&cacheEntry{token: key, hash: maphash.String(c.seed, key)})
			}
			capacity += len(sh.listedSet(t))
		}
		if capacity != size {
			t.Errorf("size %d: shards hold %d entries in all", size, capacity)
		}
		if n := len(c.shards); n&(n-1) != 0 {
			t.Errorf("size %d: %d shards, not a power of two", size, n)
		}
	}

	// Through Verify: many distinct tokens, at most size entries.
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 200)
	m := newFastMinter(cacheTestSecret)
	for i := range 2000 {
		if o := v.verify(context.Background(), m.token(i)); o.err != nil {
			t.Fatal(o.err)
		}
	}
	if n := v.cache.len(); n > 200 || n < 150 {
		t.Fatalf("%d entries after 2000 distinct tokens, bound 200", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 0)
	tok := cacheTestMinter().Admin()
	for range 2 {
		if o := v.verify(context.Background(), tok); o.err != nil || o.cacheHit() {
			t.Fatalf("err %v hit %v", o.err, o.cacheHit())
		}
	}
	if v.cache != nil {
		t.Fatal("WithCacheSize(0) built a cache")
	}
}

// TestCacheConcurrent runs hits, misses, evictions and keyring swaps from
// many goroutines (meaningful under -race), and checks that the cache
// starts no goroutine: once the test's own have ended, no more goroutines
// run than before it.
func TestCacheConcurrent(t *testing.T) {
	before := runtime.NumGoroutine()
	defer func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines after the test, %d before: the cache started some", runtime.NumGoroutine(), before)
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond)
		}
	}()
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	src := &swappableSource{}
	src.swap(t, cacheTestSecret)
	v := newCacheTestVerifier(t, src, clock, 64)
	m := newFastMinter(cacheTestSecret)
	tokens := make([]string, 256)
	for i := range tokens {
		tokens[i] = m.token(i)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				if g == 0 && i%100 == 0 {
					src.swap(t, cacheTestSecret)
				}
				j := (g*31 + i) % len(tokens)
				s, err := v.Verify(context.Background(), tokens[j])
				if err != nil {
					t.Errorf("verify: %v", err)
					return
				}
				// The session is the token's own, never another's.
				if want := "11585" + strconv.Itoa(1_000_000_000 + j)[3:]; s.UserID != want {
					t.Errorf("token %d: session of user %s, want %s", j, s.UserID, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCacheMemoryPerEntry measures what the cache keeps reachable per
// session at 100k entries, with runtime.MemStats: the token (the cache
// keeps the caller's string as its key), the session's strings, the
// Session, and its index slots. Tokens are made as requests
// bring them, and dropped by the caller after Verify. Documented in
// cache.go.
func TestCacheMemoryPerEntry(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("100k entries; measured without -race")
	}
	const n = 100_000
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	m := newFastMinter(cacheTestSecret)
	tokenLen := len(m.token(0))
	retained := func(size int) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, size)
		for i := range n {
			if o := v.verify(context.Background(), m.token(i)); o.err != nil {
				t.Fatal(o.err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if v.cache != nil && v.cache.len() != n {
			t.Fatalf("%d entries, want %d", v.cache.len(), n)
		}
		runtime.KeepAlive(v)
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	}
	// Shards fill unevenly: a bound a little above n keeps all n.
	per := retained(n+n/4) - retained(0)
	t.Logf("cache memory: %.0f bytes per cached session at %d entries (%d-byte tokens)", per, n, tokenLen)
	// The Session, its entry, its strings and the token in one
	// allocation (1,152) + two index slots (16 bytes each) and the
	// index's slack: about 1.2 KB; fail well beyond that.
	if per < float64(tokenLen) || per > 2048 {
		t.Fatalf("%.0f bytes per entry: outside [token size, 2 KiB]", per)
	}
}

// fastMinter mints distinct, valid, Shopify-shaped tokens quickly (one
// HMAC each, no reflection), for tests that need many.
type fastMinter struct {
	secret string
	header string
}

func newFastMinter(secret string) *fastMinter {
	return &fastMinter{secret: secret, header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))}
}

// token returns the i-th token: realistic shop, client, sid and jti
// sizes (583 bytes for small i, like a real token).
func (m *fastMinter) token(i int) string {
	iat := strconv.FormatInt(cacheTestIssued.Unix(), 10)
	exp := strconv.FormatInt(cacheTestIssued.Unix()+60, 10)
	id := strconv.Itoa(1_000_000_000 + i)
	shop := `possession-demo-store-berlin-mitte1.myshopify.com`
	claims := `{"aud":"` + cacheTestClient + `","dest":"https:\/\/` + shop + `","exp":` + exp +
		`,"iat":` + iat + `,"iss":"https:\/\/` + shop + `\/admin","jti":"f799bdb3-31a4-4075-8727-` + id[:10] + `ab",` +
		`"nbf":` + iat + `,"sid":"da8e9304bc015a28c70613cd0e3f0f60224be976f80f5cf7d73e0585` + id[:8] + `",` +
		`"sub":"11585` + id[3:] + `"}`
	in := m.header + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	h := hmac.New(sha256.New, []byte(m.secret))
	h.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// The cache is keyed by the signature; a token that reuses a cached
// token's signature over other claims must not be served, and must not
// drop the genuine entry.
func TestCacheForgeryReusingACachedSignature(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 100)
	m := cacheTestMinter()
	genuine := m.Admin()
	other := m.Admin(sdktest.Set("sub", "1"))
	forged := other[:strings.LastIndexByte(other, '.')] + genuine[strings.LastIndexByte(genuine, '.'):]
	ctx := context.Background()
	if o := v.verify(ctx, genuine); o.err != nil {
		t.Fatal(o.err)
	}
	if o := v.verify(ctx, forged); o.cacheHit() || !errors.Is(o.err, ErrSignature) {
		t.Fatalf("forgery: hit %v err %v; want ErrSignature", o.cacheHit(), o.err)
	}
	if o := v.verify(ctx, genuine); !o.cacheHit() || o.err != nil {
		t.Fatalf("genuine after forgery: hit %v err %v", o.cacheHit(), o.err)
	}
}

// TestCacheIndexAgreesWithList drives one shard with random puts, removals
// and evictions, with hashes crowded into few home slots so that probe
// runs are long and wrap around, and checks after every step that the
// lock-free index finds exactly the recency list's entries.
func TestCacheIndexAgreesWithList(t *testing.T) {
	c := newSessionCache(16, defaultLeeway) // one shard of 16 entries, 16 slots growing to 32
	if len(c.shards) != 1 || len(c.shards[0].index.Load().slots) != 16 || c.shards[0].maxSlots != 32 {
		t.Fatalf("%d shards, %d slots (up to %d)", len(c.shards), len(c.shards[0].index.Load().slots), c.shards[0].maxSlots)
	}
	sh := &c.shards[0]
	rng := rand.New(rand.NewPCG(1, 2))
	entries := map[string]*cacheEntry{}
	for step := range 20_000 {
		k := rng.IntN(65)
		// The key of a short token is the token itself (cacheKey).
		key := "k" + strconv.Itoa(k) + "-token"
		// Home slots 28..31 and 0..3 only, so runs wrap around; the low
		// bits make hashes distinct but for keys 0 and 64 (a collision).
		h := uint64((28+k%8)%32)<<32 | uint64(k%64)
		if rng.IntN(4) == 0 {
			sh.mu.Lock()
			if cur := entries[key]; cur != nil && sh.listed(cur) {
				sh.remove(cur)
			}
			sh.mu.Unlock()
		} else {
			e := &cacheEntry{token: key, hash: h}
			entries[key] = e
			sh.mu.Lock()
			sh.add(e)
			sh.mu.Unlock()
		}
		indexed := 0
		ix := sh.index.Load()
		for i := range ix.slots {
			if e := ix.slots[i].Load(); e != nil {
				indexed++
				if got := ix.hashes[i].Load(); got != e.hash {
					t.Fatalf("step %d: slot %d holds hash %#x beside an entry of hash %#x", step, i, got, e.hash)
				}
			}
		}
		listed := sh.listedSet(t)
		if indexed != len(listed) {
			t.Fatalf("step %d: %d indexed, %d listed", step, indexed, len(listed))
		}
		for k, e := range entries {
			got := sh.lookup(k, e.hash)
			if listed[e] && got != e || !listed[e] && got != nil {
				t.Fatalf("step %d: key %s: index %p, entry %p (listed: %v)", step, k, got, e, listed[e])
			}
		}
	}
}

// listedSet returns the entries of the shard's list, failing t unless
// its links agree both ways and its length is n.
func (sh *cacheShard) listedSet(t *testing.T) map[*cacheEntry]bool {
	t.Helper()
	out := map[*cacheEntry]bool{}
	var newer *cacheEntry
	for e := sh.newest; e != nil; e = e.older {
		if e.newer != newer || out[e] || len(out) > sh.n {
			t.Fatalf("the recency list's links disagree after %d entries", len(out))
		}
		out[e] = true
		newer = e
	}
	if sh.oldest != newer || len(out) != sh.n {
		t.Fatalf("the recency list holds %d entries, n is %d (oldest %p, want %p)", len(out), sh.n, sh.oldest, newer)
	}
	return out
}

// TestCacheIndexGrows: a shard's index starts at minIndexSlots and doubles
// as entries arrive, never more than half full, up to its final length and
// no further. While it grows, a reader probing without the lock always
// finds an entry that is cached throughout: a grown table is published
// only once it holds every entry. (Not once evictions begin: unindex
// shifts entries back, and a reader may miss the one being moved, a false
// miss that lookup documents; so the reader stops before the shard is
// full.)
func TestCacheIndexGrows(t *testing.T) {
	for round := range 200 {
		c := newSessionCache(60, defaultLeeway) // one shard: 16 slots growing to 128
		sh := &c.shards[0]
		if len(c.shards) != 1 || len(sh.index.Load().slots) != minIndexSlots || sh.maxSlots != 128 {
			t.Fatalf("%d shards, %d slots (up to %d)", len(c.shards), len(sh.index.Load().slots), sh.maxSlots)
		}
		entry := func(i int) *cacheEntry {
			key := "k" + strconv.Itoa(i) + "-token"
			return &cacheEntry{token: key, hash: maphash.String(c.seed, key)}
		}
		first := entry(0)
		sh.mu.Lock()
		sh.add(first)
		sh.mu.Unlock()

		done := make(chan struct{})
		misses := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-done:
					misses <- n
					return
				default:
				}
				if sh.lookup(first.key(), first.hash) != first {
					n++
				}
			}
		}()
		for i := 1; i < 100; i++ { // 60 fill the shard, 40 evict
			if i == 60 { // the index has grown to its final length
				close(done)
				if n := <-misses; n > 0 {
					t.Fatalf("round %d: a reader missed a cached entry %d times while the index grew", round, n)
				}
			}
			sh.mu.Lock()
			if i == 59 {
				sh.unlink(first) // keeps the first entry from eviction
				sh.pushNewest(first)
			}
			sh.add(entry(i))
			n, slots := len(sh.listedSet(t)), len(sh.index.Load().slots)
			sh.mu.Unlock()
			if 2*n > slots || slots > sh.maxSlots {
				t.Fatalf("round %d: %d entries in %d slots (up to %d)", round, n, slots, sh.maxSlots)
			}
			runtime.Gosched()
		}
		if slots := len(sh.index.Load().slots); slots != sh.maxSlots {
			t.Fatalf("round %d: a full shard's index has %d slots, want %d", round, slots, sh.maxSlots)
		}
	}
}

// allocWithBytes's cases for a cache entry's strings and token fill a
// cachedSession's allocation, with the 8-byte header the runtime puts
// before an object of pointers larger than 512 bytes, to one of Go's size
// classes (1,024 to 2,048 bytes): grown by a field, cachedSession would
// waste up to 127 bytes per cached session until these lengths follow.
func TestCachedSessionSizeClasses(t *testing.T) {
	for _, c := range []struct{ got, class uintptr }{
		{unsafe.Sizeof(withBytes[cachedSession, [704]byte]{}), 1024},
		{unsafe.Sizeof(withBytes[cachedSession, [832]byte]{}), 1152},
		{unsafe.Sizeof(withBytes[cachedSession, [960]byte]{}), 1280},
		{unsafe.Sizeof(withBytes[cachedSession, [1088]byte]{}), 1408},
		{unsafe.Sizeof(withBytes[cachedSession, [1216]byte]{}), 1536},
		{unsafe.Sizeof(withBytes[cachedSession, [1472]byte]{}), 1792},
		{unsafe.Sizeof(withBytes[cachedSession, [1728]byte]{}), 2048},
	} {
		if c.got+8 != c.class {
			t.Errorf("a cache entry's allocation is %d bytes and its header, want the size class %d", c.got, c.class)
		}
	}
}

// withHints serves the kept copy to a request that sends the very values
// it was parsed from, without parsing them again; it parses other values,
// and keeps a copy of its own, sharing no memory with the request.
func TestCacheEntryWithHints(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 100)
	tok := cacheTestMinter().Admin()
	ctx := context.Background()
	_ = v.verify(ctx, tok)
	o := v.verify(ctx, tok)
	if !o.cacheHit() {
		t.Fatal("no cache hit")
	}
	e := o.entry
	header := strings.Clone("12345678901" + "77")
	vals := hintValues{0: header[:11], 2: header[11:]}
	s, err := e.withHints(&vals)
	if err != nil || s.Hints != (Hints{ShopID: 12345678901, LocationID: 77}) || s.Shop != o.session.Shop {
		t.Fatalf("withHints: %+v, %v", s, err)
	}
	kept := e.hinted.Load()
	if kept == nil || &kept.Session != s || kept.vals != vals {
		t.Fatalf("kept %+v for %+v", kept, vals)
	}
	for i, v := range kept.vals {
		if len(v) > 0 && unsafe.StringData(v) == unsafe.StringData(vals[i]) {
			t.Errorf("kept value %d is the request's memory", i)
		}
	}
	// The same values: the kept copy, not parsed (a kept copy whose values
	// would not parse shows it).
	kept.vals[3] = "not an ID"
	if s2, err := e.withHints(&kept.vals); err != nil || s2 != s {
		t.Errorf("the kept values again: %p, %v; want %p", s2, err, s)
	}
	// Other values, the same hints: the kept copy.
	spaced := hintValues{0: " 12345678901", 2: "77 "}
	if s3, err := e.withHints(&spaced); err != nil || s3 != s {
		t.Errorf("the same hints written differently: %p, %v; want %p", s3, err, s)
	}
	// Other hints: a new copy; a malformed value: the error, and no copy.
	other := hintValues{2: "78"}
	if s4, err := e.withHints(&other); err != nil || s4 == s || s4.Hints != (Hints{LocationID: 78}) || s.Hints.LocationID != 77 {
		t.Errorf("other hints: %+v, %v", s4, err)
	}
	bad := hintValues{2: "x"}
	if s5, err := e.withHints(&bad); !errors.Is(err, ErrHint) || s5 != nil || e.hinted.Load().Hints.LocationID != 78 {
		t.Errorf("a malformed hint: %v, %v", s5, err)
	}
}

// clone copies every value into one string of its own.
func TestHintValuesClone(t *testing.T) {
	for _, vals := range []hintValues{{}, {"1", "", "22", "", "a.myshopify.com"}, {"", "", "", "9"}, {"1", "2", "3", "4", "5"}} {
		c := vals.clone()
		if c != vals {
			t.Errorf("clone(%q) = %q", vals, c)
		}
		for i := range c {
			if len(c[i]) > 0 && unsafe.StringData(c[i]) == unsafe.StringData(vals[i]) {
				t.Errorf("clone(%q)[%d] shares memory", vals, i)
			}
		}
	}
}
