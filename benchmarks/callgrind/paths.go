package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// A path is one hot path the gate counts. setup builds its fixed inputs
// and returns one iteration's work, step(i) for the i-th iteration, which
// reports a wrong outcome as an error.
//
// To add a path: write its setup (cycle through poolSize inputs, check
// every outcome) and add a line to paths; then run gate.sh -update and
// commit the new baseline line.
type path struct {
	name  string
	kind  string // "gated", or "reference" (printed, never fails the gate)
	setup func() (step func(i int) error, err error)
}

var paths = []path{
	{"hmac-floor", "reference", hmacFloor},
	{"verify-uncached", "gated", verifyUncached},
	{"verify-miss", "gated", verifyMiss},
	{"verify-hit", "gated", verifyHit},
	{"verify-forged", "gated", verifyForged},
	{"verify-malformed", "gated", verifyMalformed},
	{"middleware-hit", "gated", middlewareHit},
	{"access-offline", "gated", accessOffline},
	{"webhook-verify-4k", "gated", webhookVerify},
}

func pathNamed(name string) (path, bool) {
	for _, p := range paths {
		if p.name == name {
			return p, true
		}
	}
	return path{}, false
}

// poolSize is the number of distinct inputs each path cycles through;
// iteration counts are multiples of it, so every input weighs the same.
const poolSize = 256

// app generates the tokens: as Shopify sends them (many shops and users,
// iat over a minute), the same on every run.
var app = sdktest.Fixtures{Secret: peers.Secret, ClientID: peers.ClientID}

// validAt is the instant every path verifies at.
var validAt = app.ValidAt()

func clock() time.Time { return validAt }

func newVerifier(cacheSize int) (*sdk.Verifier, error) {
	return sdk.New(keysource.MustStatic(peers.Secret), sdk.WithClientID(peers.ClientID),
		sdk.WithClock(clock), sdk.WithCacheSize(cacheSize))
}

// copies returns each token in memory of its own, as requests bring them:
// a cache hit compares the request's token with the cached one, and a
// comparison of a string with itself would stop at the pointer.
func copies(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.Clone(t)
	}
	return out
}

// verifyPool verifies tokens[i%poolSize] with v, expecting want (nil: a
// session).
func verifyPool(v *sdk.Verifier, tokens []string, want error) func(int) error {
	ctx := context.Background()
	return func(i int) error {
		s, err := v.Verify(ctx, tokens[i%poolSize])
		switch {
		case want == nil && (err != nil || s == nil):
			return fmt.Errorf("valid token: %v", err)
		case want != nil && !errors.Is(err, want):
			return fmt.Errorf("got %v, want %v", err, want)
		}
		return nil
	}
}

// verifyUncached: every token new, the cache off.
func verifyUncached() (func(int) error, error) {
	v, err := newVerifier(0)
	return verifyPool(v, app.Tokens(poolSize), nil), err
}

// verifyMiss: every token new to a full cache: the pool cycles through a
// cache of half its size, so each token was evicted before it comes back;
// each is looked up, verified and inserted, and the oldest evicted.
func verifyMiss() (func(int) error, error) {
	v, err := newVerifier(poolSize / 2)
	return verifyPool(v, app.Tokens(poolSize), nil), err
}

// verifyHit: cached tokens, each request bringing its own copy.
func verifyHit() (func(int) error, error) {
	v, err := newVerifier(10_000)
	if err != nil {
		return nil, err
	}
	tokens := app.Tokens(poolSize)
	for _, t := range tokens {
		if _, err := v.Verify(context.Background(), t); err != nil {
			return nil, err
		}
	}
	return verifyPool(v, copies(tokens), nil), nil
}

// verifyForged: the same claims signed with another secret, the default
// cache on (a flood of forgeries).
func verifyForged() (func(int) error, error) {
	v, err := newVerifier(10_000)
	forged := app
	forged.Secret = peers.OtherSecret
	return verifyPool(v, forged.Tokens(poolSize), sdk.ErrSignature), err
}

// verifyMalformed: garbage of four kinds, a quarter each: a payload with
// a character outside base64url, a token without its signature segment,
// an opaque string without dots, and a signed payload that is not JSON.
func verifyMalformed() (func(int) error, error) {
	v, err := newVerifier(10_000)
	if err != nil {
		return nil, err
	}
	tokens := app.Tokens(poolSize)
	bad := make([]string, poolSize)
	for i, t := range tokens {
		dot := strings.IndexByte(t, '.')
		last := strings.LastIndexByte(t, '.')
		switch i % 4 {
		case 0:
			mid := (dot + last) / 2
			bad[i] = t[:mid] + "!" + t[mid+1:]
		case 1:
			bad[i] = t[:last]
		case 2:
			bad[i] = strings.ReplaceAll(t, ".", "")
		case 3:
			bad[i], err = sdktest.SignRaw(peers.Secret, []byte(`{"alg":"HS256","typ":"JWT"}`), []byte(strings.Repeat("not json, ", 40)+fmt.Sprint(i)))
			if err != nil {
				return nil, err
			}
		}
	}
	return verifyPool(v, bad, sdk.ErrMalformed), nil
}

// middlewareHit: sdk.Middleware with Shopify's extension origins allowed,
// on requests as the POS extension client sends them (bearer token of a
// cached session, the four hint headers, Origin), to a handler that reads
// the session.
func middlewareHit() (func(int) error, error) {
	v, err := newVerifier(10_000)
	if err != nil {
		return nil, err
	}
	var served *sdk.Session
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served, _ = sdk.SessionFrom(r.Context()) })
	h := v.Middleware(next, sdk.WithAllowedOrigins("https://extensions.shopifycdn.com", "https://cdn.shopify.com"))
	reqs := make([]*http.Request, poolSize)
	want := make([]string, poolSize)
	for i := range reqs {
		fx := app.Fixture(i)
		if _, err := v.Verify(context.Background(), fx.Token); err != nil {
			return nil, err
		}
		r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/session", nil)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+fx.Token) // in memory of its own
		r.Header.Set("Origin", "https://extensions.shopifycdn.com")
		r.Header.Set(sdk.HeaderShopID, fmt.Sprint(fx.ShopID))
		r.Header.Set(sdk.HeaderShopDomain, fx.Shop)
		r.Header.Set(sdk.HeaderUserID, fx.UserID)
		r.Header.Set(sdk.HeaderLocationID, fmt.Sprint(70_000_000_000+i%7))
		reqs[i], want[i] = r, fx.UserID
	}
	w := &discardWriter{header: http.Header{}}
	return func(i int) error {
		served = nil
		w.status = 0
		h.ServeHTTP(w, reqs[i%poolSize])
		if served == nil || served.UserID != want[i%poolSize] || served.Hints.LocationID == 0 {
			return fmt.Errorf("handler not called with the session (status %d)", w.status)
		}
		return nil
	}, nil
}

// discardWriter is a ResponseWriter that keeps nothing but the status:
// the cost measured is the middleware's, not a recorder's.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }

// hmacFloor: HMAC-SHA256 over each token's signing input with a pre-keyed
// state, Reset and reused: the physical floor of HS256 verification.
func hmacFloor() (func(int) error, error) {
	inputs := make([][]byte, poolSize)
	for i, t := range app.Tokens(poolSize) {
		inputs[i] = []byte(t[:strings.LastIndexByte(t, '.')])
	}
	h := hmac.New(sha256.New, []byte(peers.Secret))
	var sum [sha256.Size]byte
	return func(i int) error {
		h.Reset()
		h.Write(inputs[i%poolSize])
		h.Sum(sum[:0])
		return nil
	}, nil
}
