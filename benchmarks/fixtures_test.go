package benchmarks

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// app generates the tokens every benchmark verifies, as Shopify sends them
// (sdktest.Fixtures): claims in Shopify's order with escaped slashes and a
// sig claim, 1,000 shops of 20 users, iat spread over a minute; 627 bytes
// on average (611 to 655).
var app = sdktest.Fixtures{Secret: peers.Secret, ClientID: peers.ClientID}

// verifyAt is the instant fixed-time benchmarks verify at: every token of
// app is valid then, without leeway.
func verifyAt() time.Time { return app.ValidAt() }

// poolSize is the number of distinct tokens in the "every token new"
// pools: more than 3 times the verifier's default cache size (10,000), so
// that cycling through the pool always misses the LRU cache.
const poolSize = 1 << 15

// hotSetSize is the number of distinct tokens of the cached scenarios:
// all of them fit in the default cache.
const hotSetSize = 1 << 10

type pools struct {
	valid []string // distinct valid tokens
	// newShops are distinct valid tokens of as many shops (a shop's
	// second token comes a whole pool later): the tokens share no prefix
	// beyond the header, so the HMAC's remembered shop prefixes
	// (sdk/internal/token) do not help, as for a backend that sees each
	// shop rarely.
	newShops []string
	forged   []string // the same claims, signed with peers.OtherSecret
	expired  []string // validly signed, expired 5 to 6 minutes before verifyAt
	hot      []string // valid, hotSetSize of them: what the cache holds
	// hotCopies are copies of hot in other memory: what requests bring.
	// A cache hit compares the request's token with the cached one, and
	// comparing a string with itself stops at the pointer; a server's
	// requests never share memory with its cache.
	hotCopies []string
}

var fixtures = sync.OnceValue(func() *pools {
	forged := app
	forged.Secret = peers.OtherSecret
	old := app
	old.Start = verifyAt().Add(-6*time.Minute - 59*time.Second)
	many := app
	many.Shops, many.UsersPerShop = 1<<30, 1
	p := &pools{
		valid:    contiguous(app.Tokens(poolSize)),
		newShops: contiguous(many.Tokens(poolSize)),
		forged:   contiguous(forged.Tokens(poolSize)),
		expired:  contiguous(old.Tokens(poolSize)),
	}
	p.hot = p.valid[:hotSetSize]
	p.hotCopies = contiguous(p.hot)
	return p
})

// contiguous copies tokens into one new allocation, in order, so that a
// pool is read as a stream (as the floor reads its signing inputs), not
// scattered among the generator's garbage.
func contiguous(tokens []string) []string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteString(t)
	}
	all := b.String()
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i], all = all[:len(t)], all[len(t):]
	}
	return out
}

// A trace is a realistic request sequence: users many, requests Zipf
// distributed over them, each user's token reissued every minute (as
// getSessionToken does for POS) and reused for every request of that
// minute.
type trace struct {
	// tokens holds one token per request, each in memory of its own (as
	// each request brings its own copy), contiguous in request order.
	tokens []string
	times  []time.Time // request instants, non-decreasing
	// distinct is the number of distinct tokens in the trace.
	distinct int
}

const (
	// traceUsers is every user of app: 1,000 shops of 20 users.
	traceUsers    = 20_000
	traceRequests = 1 << 18
	// traceRate is the simulated request rate: 1,000 req/s, so a trace
	// spans about 4.4 simulated minutes.
	traceRate = 1000
	// zipfS is the Zipf exponent: a few users (busy tills) send most
	// requests, most users send few.
	zipfS = 1.1
)

var mixTrace = sync.OnceValue(func() *trace {
	rng := rand.New(rand.NewPCG(4, 2)) // fixed seed: the same trace every run
	zipf := rand.NewZipf(rng, zipfS, 1, traceUsers-1)
	start := app.ValidAt()
	t := &trace{tokens: make([]string, traceRequests), times: make([]time.Time, traceRequests)}
	type key struct {
		user   int
		minute int64
	}
	minted := map[key]string{}
	for i := range traceRequests {
		at := start.Add(time.Duration(i) * time.Second / traceRate)
		// Zipf ranks users; a permutation spreads the busy ones over
		// shops (rank 0 is not always the first user of the first shop).
		user := int(zipf.Uint64()*7_919) % traceUsers
		// Each user's token period is offset by the user, so reissues are
		// spread over the minute, not all on its boundary.
		offset := time.Duration(user%60) * time.Second
		since := at.Add(-offset).Sub(start)
		minute := int64(since / time.Minute)
		if since < 0 && since%time.Minute != 0 {
			minute-- // floor: the token in force was issued before at
		}
		k := key{user, minute}
		tok, ok := minted[k]
		if !ok {
			tok = app.Issue(user, start.Add(offset).Add(time.Duration(minute)*time.Minute)).Token
			minted[k] = tok
		}
		t.tokens[i], t.times[i] = tok, at
	}
	t.tokens = contiguous(t.tokens) // a copy per request
	t.distinct = len(minted)
	return t
})
