package sdk

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// b64 encodes test tokens' segments.
var b64 = base64.RawURLEncoding

// Allocation budgets of Verify, asserted with
// testing.AllocsPerRun, which is deterministic where timings are not.
// Each budget is the measured count; raising one needs a reason.
func TestAllocationBudgets(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	const runs = 2000
	m := newFastMinter(cacheTestSecret)
	valid := make([]string, runs+10)
	forged := make([]string, runs+10)
	expired := make([]string, runs+10)
	bad := newFastMinter("another-secret")
	for i := range valid {
		valid[i] = m.token(i)
		forged[i] = bad.token(i)
		expired[i] = m.token(i)
	}
	repeat := func(tok string) []string {
		out := make([]string, runs+10)
		for i := range out {
			out[i] = tok
		}
		return out
	}
	hs512 := repeat(b64.EncodeToString([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + b64.EncodeToString([]byte(`{"exp":1}`)) + ".c2ln")
	otherApp := repeat(cacheTestMinter().Admin(sdktest.Set("aud", "another-app")))
	buyer := repeat(cacheTestMinter().Checkout())
	ctx := context.Background()
	clock := newTestClock(cacheTestIssued.Add(time.Second))
	late := newTestClock(cacheTestIssued.Add(5 * time.Minute))

	cases := []struct {
		name   string
		budget float64
		size   int // cache size
		clock  *testClock
		tokens []string
		warm   bool // verify every token once before measuring
		want   error
	}{
		// Every token new: the Session and its strings are one allocation.
		// With the cache on, each result is inserted (with its entry and
		// the entry's copy of the token in the same allocation: the cache
		// must not keep the caller's string, which may be a slice of a
		// much larger one) and, the cache being small, the oldest evicted;
		// the recency list is linked through the entries, and the index
		// grows rarely (by doubling).
		{name: "uncached valid, cache on (insert+evict)", budget: 1, size: 64, clock: clock, tokens: valid},
		{name: "uncached valid, cache on (insert)", budget: 1, size: 10 * runs, clock: clock, tokens: valid},
		{name: "uncached valid, cache off", budget: 1, size: 0, clock: clock, tokens: valid},
		{name: "cache hit", budget: 0, size: 10 * runs, clock: clock, tokens: valid, warm: true},
		{name: "invalid signature", budget: 0, size: 10 * runs, clock: clock, tokens: forged, want: ErrSignature},
		{name: "expired", budget: 1, size: 10 * runs, clock: late, tokens: expired, want: ErrExpired},
		// Prebuilt errors that quote nothing of the token.
		{name: "algorithm", budget: 0, size: 10 * runs, clock: clock, tokens: hs512, want: ErrAlgorithm},
		{name: "audience", budget: 0, size: 10 * runs, clock: clock, tokens: otherApp, want: ErrAudience},
		{name: "kind", budget: 0, size: 10 * runs, clock: clock, tokens: buyer, want: ErrKind},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), c.clock, c.size)
			if c.warm {
				for _, tok := range c.tokens {
					_, _ = v.Verify(ctx, tok)
				}
			}
			i := 0
			var err error
			got := testing.AllocsPerRun(runs, func() {
				_, err = v.Verify(ctx, c.tokens[i])
				i++
			})
			if !errors.Is(err, c.want) && (c.want != nil || err != nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			t.Logf("%.2f allocs/op (budget %v)", got, c.budget)
			if got > c.budget {
				t.Errorf("%.2f allocs/op, budget %v", got, c.budget)
			}
		})
	}
}

// The errors prebuilt or formatted lazily for the budgets above still say
// what happened, and wrap their sentinel.
func TestCheapErrors(t *testing.T) {
	ctx := context.Background()
	m := cacheTestMinter()
	cases := []struct {
		name  string
		at    time.Time
		token string
		want  error
		msg   string
	}{
		{"expired", cacheTestIssued.Add(5 * time.Minute), m.Admin(), ErrExpired,
			"sdk: token expired: exp was 240s ago (leeway 10s)"},
		{"nbf ahead", cacheTestIssued.Add(-time.Minute), m.Admin(), ErrNotYetValid,
			"sdk: token not yet valid: nbf is 60s in the future (leeway 10s); check this server's clock"},
		{"iat ahead", cacheTestIssued, m.Admin(func(c map[string]any) { c["iat"] = cacheTestIssued.Unix() + 30 }), ErrNotYetValid,
			"sdk: token not yet valid: iat is 30s in the future (leeway 10s); check this server's clock"},
		{"forged", cacheTestIssued, func() string { f := cacheTestMinter(); f.Secret = "other"; return f.Admin() }(), ErrSignature,
			"sdk: invalid signature: signed with none of the key source's keys"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newCacheTestVerifier(t, keysource.MustStatic(cacheTestSecret), newTestClock(c.at), 10)
			s, err := v.Verify(ctx, c.token)
			if s != nil || !errors.Is(err, c.want) {
				t.Fatalf("session %v, err %v; want %v", s, err, c.want)
			}
			if err.Error() != c.msg {
				t.Fatalf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}
