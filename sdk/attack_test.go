package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/possession-dev/possession/internal/leakcheck"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Attack tests from the outside review (issue 10): each names its finding.

// TestCacheEverySizeTerminatesAndHoldsItsBound (finding 4): WithCacheSize(1)
// made the second distinct token spin forever in the index removal loop,
// holding the shard's lock. Every size from 1 to 400 must take three
// times its size in distinct entries (each insert past the bound evicts),
// keep at most size entries, find the newest, and keep the lock-free
// index equal to the recency list; sizes up to 70 (one shard to several) do the
// same through Verify.
func TestCacheEverySizeTerminatesAndHoldsItsBound(t *testing.T) {
	const maxSize, maxVerified = 400, 70
	m := newFastMinter(cacheTestSecret)
	tokens := make([]string, 3*maxVerified)
	for i := range tokens {
		tokens[i] = m.token(i)
	}
	names := make([]string, 3*maxSize)
	for i := range names {
		names[i] = "token-" + strconv.Itoa(i) + strings.Repeat("x", sigLen)
	}
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	src := keysource.MustStatic(cacheTestSecret)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for size := 1; size <= maxSize; size++ {
			c := newSessionCache(size, defaultLeeway)
			now := clock.now().UnixNano()
			for i, name := range names[:3*size] {
				c.put(new(cacheEntry), nil, name, &Session{}, 1, now, now+int64(time.Minute))
				if n := c.len(); n > size {
					t.Errorf("size %d: %d entries after %d inserts", size, n, i+1)
					return
				}
				if c.get(name, 1, now) == nil {
					t.Errorf("size %d: insert %d not found", size, i)
					return
				}
			}
			if !indexAgrees(t, c, size) {
				return
			}
			if size > maxVerified {
				continue
			}
			v := newCacheTestVerifier(t, src, clock, size)
			for i, tok := range tokens[:3*size] {
				if o := v.verify(context.Background(), tok); o.err != nil {
					t.Errorf("size %d, token %d: %v", size, i, o.err)
					return
				}
				if o := v.verify(context.Background(), tok); !o.cacheHit() {
					t.Errorf("size %d: token %d, just verified, is not a hit", size, i)
					return
				}
			}
			if n := v.cache.len(); n > size {
				t.Errorf("size %d: %d entries through Verify", size, n)
			}
			if !indexAgrees(t, v.cache, size) {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a cache size did not terminate within a minute (the index removal loop spins)")
	}
}

// indexAgrees reports whether each shard's index holds exactly its
// recency list's entries, in at most half of its slots.
func indexAgrees(t *testing.T, c *sessionCache, size int) bool {
	t.Helper()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		indexed := 0
		ix := sh.index.Load()
		slots := ix.slots
		listed := sh.listedSet(t)
		for j := range slots {
			if e := slots[j].Load(); e != nil {
				indexed++
				if !listed[e] {
					t.Errorf("size %d shard %d: an indexed entry is not in the recency list", size, i)
				}
				if h := ix.hashes[j].Load(); h != e.hash {
					t.Errorf("size %d shard %d slot %d: hash %#x beside an entry of hash %#x", size, i, j, h, e.hash)
				}
			}
		}
		n := len(listed)
		sh.mu.Unlock()
		if indexed != n || 2*indexed > len(slots) || len(slots) > sh.maxSlots {
			t.Errorf("size %d shard %d: %d indexed of %d slots (up to %d), %d listed", size, i, indexed, len(slots), sh.maxSlots, n)
			return false
		}
	}
	return !t.Failed()
}

// TestCacheDoesNotPinTheCallersString (finding 3): the cache kept the
// caller's string as its key, so a token that is a substring of a larger
// string (the middleware passes a substring of the Authorization header's
// value: "Bearer " + ~1 MiB of spaces + a valid token) pinned all of it
// for the cached session's lifetime. The cache copies the token: once the
// caller drops its string, it is freed, and the entry is still a hit.
func TestCacheDoesNotPinTheCallersString(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 100)
	token := newFastMinter(cacheTestSecret).token(1)
	header := "Bearer " + strings.Repeat(" ", 1<<20) + token
	wp := weak.Make(unsafe.StringData(header))
	if o := v.verify(context.Background(), header[len(header)-len(token):]); o.err != nil || o.cacheHit() {
		t.Fatalf("first verification: err %v, hit %v", o.err, o.cacheHit())
	}
	header = ""
	runtime.GC()
	runtime.GC()
	if wp.Value() != nil {
		t.Fatal("the cached session keeps the caller's 1 MiB string alive")
	}
	if o := v.verify(context.Background(), strings.Clone(token)); !o.cacheHit() {
		t.Fatal("the token is no longer a cache hit")
	}
	runtime.KeepAlive(v)
}

// TestVerifierNeverPrintsItsKeys (finding 5): %#v and %d of a *Verifier
// printed its configuration, WithHashedUserID's key among it. Every verb,
// on the verifier and on structs that hold it, must show neither that key
// nor a signing secret.
func TestVerifierNeverPrintsItsKeys(t *testing.T) {
	hashKey := []byte("user-hash-key-7f3e9a1c5b2d8e04")
	signing := "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"
	v, err := New(keysource.MustStatic(signing), WithClientID(cacheTestClient), WithHashedUserID(hashKey))
	if err != nil {
		t.Fatal(err)
	}
	// A verified token fills the MAC pool and the cache.
	m := sdktest.Minter{Secret: signing, ClientID: cacheTestClient}
	if _, err := v.Verify(context.Background(), m.Admin()); err != nil {
		t.Fatal(err)
	}
	type server struct {
		name     string
		verifier *Verifier
		Exported *Verifier
	}
	srv := server{name: "api", verifier: v, Exported: v}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%t", "%e", "%f", "%g", "%p"} {
		for i, value := range []any{v, srv, &srv, []*Verifier{v}} {
			out := fmt.Sprintf(verb, value)
			for _, secret := range [][]byte{hashKey, []byte(signing)} {
				if form := leakcheck.Find(out, secret); form != "" {
					t.Errorf("value %d, %s: a key revealed (%s): %.200s", i, verb, form, out)
				}
			}
		}
	}
	if got := fmt.Sprintf("%#v", v); !strings.HasPrefix(got, "sdk.Verifier(") {
		t.Errorf("%%#v = %q, want the String form", got)
	}
}

// TestBuyerTokensDoNotOpenStaffEndpoints (finding 2): checkout and
// customer-account tokens, which any buyer reads from their own browser,
// passed Verify and the middleware by default. Now only admin/POS tokens
// do, unless WithKinds says otherwise; a refused kind is ErrKind (403
// from the middleware, no retry header), is not cached, and is checked
// after every other rule.
func TestBuyerTokensDoNotOpenStaffEndpoints(t *testing.T) {
	m := cacheTestMinter()
	admin := m.Admin()
	checkout := m.Checkout()
	customer := m.Checkout(sdktest.Set("sub", "gid://shopify/Customer/7"))
	src := keysource.MustStatic(cacheTestSecret)
	at := cacheTestIssued.Add(time.Second)
	tests := []struct {
		name  string
		opts  []Option
		token string
		want  error
	}{
		{"default: admin", nil, admin, nil},
		{"default: checkout", nil, checkout, ErrKind},
		{"default: customer account", nil, customer, ErrKind},
		{"admin only: checkout", []Option{WithKinds(KindAdmin)}, checkout, ErrKind},
		{"both: admin", []Option{WithKinds(KindAdmin, KindCheckout)}, admin, nil},
		{"both: checkout", []Option{WithKinds(KindAdmin, KindCheckout)}, checkout, nil},
		{"both, two options: customer", []Option{WithKinds(KindAdmin), WithKinds(KindCheckout)}, customer, nil},
		{"checkout only: admin", []Option{WithKinds(KindCheckout)}, admin, ErrKind},
		{"checkout only: customer", []Option{WithKinds(KindCheckout)}, customer, nil},
		// Every other rule first: an expired or forged buyer token says so.
		{"default: expired checkout", nil, m.Checkout(sdktest.At(cacheTestIssued.Add(-time.Hour))), ErrExpired},
		{"default: forged checkout", nil, checkout[:len(checkout)-2] + "AA", ErrSignature},
	}
	for _, tt := range tests {
		for _, size := range []int{0, 100} {
			t.Run(fmt.Sprintf("%s, cache %d", tt.name, size), func(t *testing.T) {
				v, err := New(src, append([]Option{WithClientID(cacheTestClient), WithClock(func() time.Time { return at }), WithCacheSize(size)}, tt.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 2 { // the second from the cache, if cached
					s, err := v.Verify(context.Background(), tt.token)
					if tt.want == nil {
						if err != nil || s == nil {
							t.Fatalf("call %d: %v", i, err)
						}
						continue
					}
					if s != nil || !errors.Is(err, tt.want) {
						t.Fatalf("call %d: session %v, err %v; want %v", i, s, err, tt.want)
					}
					if tt.want == ErrKind && ErrorName(err) != "kind" {
						t.Fatalf("ErrorName = %q", ErrorName(err))
					}
				}
				if tt.want != nil && v.cache != nil && v.cache.len() != 0 {
					t.Fatalf("a refused token was cached")
				}
			})
		}
	}

	t.Run("middleware", func(t *testing.T) {
		v := newCacheTestVerifier(t, src, newTestClock(at), 100)
		var reached int
		h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++ }))
		for _, tc := range []struct {
			token  string
			status int
		}{{admin, http.StatusOK}, {checkout, http.StatusForbidden}, {customer, http.StatusForbidden}} {
			r := httptest.NewRequest("GET", "/api/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != http.StatusOK && (w.Header().Get(HeaderRetryInvalidSession) != "" || !strings.Contains(w.Body.String(), `"error":"kind"`)) {
				t.Errorf("refusal: retry header %q, body %s", w.Header().Get(HeaderRetryInvalidSession), w.Body)
			}
		}
		if reached != 1 {
			t.Errorf("the handler ran %d times, want once (for the admin token)", reached)
		}
	})

	t.Run("invalid options", func(t *testing.T) {
		for name, opt := range map[string]Option{"no kind": WithKinds(), "zero kind": WithKinds(0), "unknown kind": WithKinds(KindAdmin, Kind(9))} {
			if _, err := New(src, WithClientID(cacheTestClient), opt); err == nil {
				t.Errorf("%s: New accepted it", name)
			}
		}
	})
}

// TestCacheHitHonoursNotBeforeAfterTheClockStepsBack (finding 9): a cache
// hit checked only exp, so after the clock stepped back (an NTP
// correction, a VM restored from a snapshot) a cached token was served
// while a fresh verification would say its nbf/iat lie in the future.
// The hit now answers what a verification would; once the clock is right
// again the entry serves again.
func TestCacheHitHonoursNotBeforeAfterTheClockStepsBack(t *testing.T) {
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), clock, 100)
	ctx := context.Background()
	m := cacheTestMinter()
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"nbf and iat", m.Admin()},
		{"iat only", m.Admin(sdktest.Delete("nbf"))},
		{"nbf only", m.Admin(sdktest.Delete("iat"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.set(cacheTestIssued.Add(time.Second))
			if o := v.verify(ctx, tc.token); o.err != nil {
				t.Fatal(o.err)
			}
			// Within the leeway: still a hit, as verification would accept.
			clock.set(cacheTestIssued.Add(-defaultLeeway))
			if o := v.verify(ctx, tc.token); o.err != nil || !o.cacheHit() {
				t.Fatalf("at nbf - leeway: hit %v, err %v", o.cacheHit(), o.err)
			}
			clock.set(cacheTestIssued.Add(-defaultLeeway - time.Nanosecond))
			if o := v.verify(ctx, tc.token); o.cacheHit() || !errors.Is(o.err, ErrNotYetValid) || o.session != nil {
				t.Fatalf("before nbf - leeway: hit %v, err %v; want ErrNotYetValid", o.cacheHit(), o.err)
			}
			clock.set(cacheTestIssued.Add(2 * time.Second))
			if o := v.verify(ctx, tc.token); o.err != nil || !o.cacheHit() {
				t.Fatalf("clock right again: hit %v, err %v", o.cacheHit(), o.err)
			}
		})
	}
}

// TestVerifyWithNilContext (finding 9): Verify(nil, token) panicked in a
// source that refreshes (the AWS source waits on ctx.Done()). A nil
// context is taken for context.Background.
func TestVerifyWithNilContext(t *testing.T) {
	src := &waitingRefresher{ring: keysource.MustStatic(cacheTestSecret).Keyring()}
	v, err := New(src, WithClientID(cacheTestClient), WithClock(newTestClock(cacheTestIssued.Add(time.Second)).now))
	if err != nil {
		t.Fatal(err)
	}
	var nilCtx context.Context
	forged := cacheTestMinter()
	forged.Secret = "another-secret-0123456789abcdef0123"
	if _, err := v.Verify(nilCtx, forged.Admin()); !errors.Is(err, ErrSignature) {
		t.Fatalf("forged token with a nil context: %v", err)
	}
	if _, err := v.Verify(nilCtx, cacheTestMinter().Admin()); err != nil {
		t.Fatalf("valid token with a nil context: %v", err)
	}
	if !src.called {
		t.Fatal("the source was not asked to refresh")
	}
}

// waitingRefresher is a source whose unknown-signer refresh selects on
// ctx.Done(), as the AWS source does.
type waitingRefresher struct {
	ring   *keysource.Keyring
	called bool
}

func (s *waitingRefresher) Keyring() *keysource.Keyring { return s.ring }

func (s *waitingRefresher) RefreshUnknownSigner(ctx context.Context) *keysource.Keyring {
	s.called = true
	select {
	case <-ctx.Done():
	default:
	}
	return s.ring
}

// TestErrorsQuoteNoTokenContent (finding 9): a rejected alg and aud were
// quoted into errors (short and printable ones), though the README says
// token content never appears in errors. Whatever a token's alg and aud
// say, the error says only which rule failed.
func TestErrorsQuoteNoTokenContent(t *testing.T) {
	v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), newTestClock(cacheTestIssued.Add(time.Second)), 0)
	m := cacheTestMinter()
	header := func(alg string) string {
		return b64.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT"}`))
	}
	payload := b64.EncodeToString([]byte(`{"exp":1}`))
	for _, tc := range []struct {
		token, content string
		want           error
	}{
		{header("HS512") + "." + payload + ".sig", "HS512", ErrAlgorithm},
		{header("evilAlgName") + "." + payload + ".sig", "evilAlgName", ErrAlgorithm},
		{m.Admin(sdktest.Set("aud", "attacker-chosen")), "attacker-chosen", ErrAudience},
		{m.Admin(sdktest.Set("aud", "shpss_looks-like-a-secret-0000")), "looks-like-a-secret", ErrAudience},
	} {
		_, err := v.Verify(context.Background(), tc.token)
		if !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.content, err, tc.want)
		}
		if strings.Contains(err.Error(), tc.content) {
			t.Errorf("the error quotes the token's %q: %v", tc.content, err)
		}
	}
}

// TestArrayAudience pins the decision on the open question of an
// array-valued aud (reported, unconfirmed, in customer-account tokens):
// refused as ErrMalformed with the audience check and without it
// (WithoutAudienceCheck's doc; test/sdk's TestShopifyArrayAudience holds
// it against Shopify's library).
func TestArrayAudience(t *testing.T) {
	m := cacheTestMinter()
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	for _, aud := range []any{[]string{cacheTestClient}, []string{cacheTestClient, "other"}, []string{}} {
		tok := m.Checkout(sdktest.Set("aud", aud), sdktest.Set("sub", "gid://shopify/Customer/7"))
		for _, opt := range []Option{WithClientID(cacheTestClient), WithoutAudienceCheck()} {
			v, err := New(keysource.MustStatic(cacheTestSecret), opt, WithClock(clock.now), WithKinds(KindCheckout))
			if err != nil {
				t.Fatal(err)
			}
			if s, err := v.Verify(context.Background(), tok); s != nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("aud %v: %v, %v; want ErrMalformed", aud, s, err)
			}
		}
	}
	// Absent, it passes without the audience check (Shopify's library
	// skips the check for tokens that lack aud).
	v, _ := New(keysource.MustStatic(cacheTestSecret), WithoutAudienceCheck(), WithClock(clock.now), WithKinds(KindCheckout))
	if _, err := v.Verify(context.Background(), m.Checkout(sdktest.Delete("aud"))); err != nil {
		t.Errorf("no aud without the audience check: %v", err)
	}
}
