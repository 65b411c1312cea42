package benchmarks

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/possession-dev/possession/sdk/sdktest"
)

// The app every benchmark verifies for. Sizes are Shopify's: a 32-hex
// client ID and secret, a numeric staff user ID, a 64-hex sid; with
// escaped slashes the admin/POS token is 583 bytes, like the one the
// issue measured.
const (
	secret      = "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"
	otherSecret = "shpss_ffffffffffffffffffffffffffffffff"
	clientID    = "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"
	shop        = "possession-demo-store-berlin-mitte1.myshopify.com"
	userID      = "115855966237"
	leeway      = 10 * time.Second
)

// issuedAt is when every fixed-time token was issued; benchmarks verify
// at issuedAt + 1 s.
var issuedAt = time.Unix(1_780_000_000, 0)

func minter(at time.Time, s string) sdktest.Minter {
	return sdktest.Minter{
		Secret:        s,
		ClientID:      clientID,
		Shop:          shop,
		UserID:        userID,
		Now:           func() time.Time { return at },
		EscapeSlashes: true,
	}
}

// poolSize is the number of distinct tokens in the "every token new"
// pools: more than 3 times the verifier's default cache size (10,000), so
// that cycling through the pool always misses the LRU cache.
const poolSize = 1 << 15

// hotSetSize is the number of distinct tokens of the cached scenarios:
// all of them fit in the default cache.
const hotSetSize = 1 << 10

type pools struct {
	valid   []string // distinct valid tokens, issued at issuedAt
	forged  []string // same claims shape, signed with otherSecret
	expired []string // validly signed, expired 5 min before issuedAt+1s
	hot     []string // valid, hotSetSize of them
}

var fixtures = sync.OnceValue(func() *pools {
	p := &pools{}
	good := minter(issuedAt, secret)
	bad := minter(issuedAt, otherSecret)
	old := minter(issuedAt.Add(-6*time.Minute), secret)
	for range poolSize {
		p.valid = append(p.valid, good.Admin())
		p.forged = append(p.forged, bad.Admin())
		p.expired = append(p.expired, old.Admin())
	}
	p.valid, p.forged, p.expired = contiguous(p.valid), contiguous(p.forged), contiguous(p.expired)
	p.hot = p.valid[:hotSetSize]
	return p
})

// contiguous copies tokens into one allocation, in order, so that a pool
// is read as a stream (as the floor reads its signing inputs), not
// scattered among the minter's garbage.
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

// verifyAt is the instant fixed-time benchmarks verify at.
func verifyAt() time.Time { return issuedAt.Add(time.Second) }

// A trace is a realistic request sequence: users many, requests Zipf
// distributed over them, each user's token reissued every minute (as
// getSessionToken does for POS) and reused for every request of that
// minute.
type trace struct {
	tokens []string    // one per request
	times  []time.Time // request instants, non-decreasing
	// distinct is the number of distinct tokens in the trace.
	distinct int
}

const (
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
	t := &trace{tokens: make([]string, traceRequests), times: make([]time.Time, traceRequests)}
	type key struct {
		user   uint64
		minute int64
	}
	minted := map[key]string{}
	for i := range traceRequests {
		at := issuedAt.Add(time.Duration(i) * time.Second / traceRate)
		user := zipf.Uint64()
		// Each user's token period is offset by the user, so reissues are
		// spread over the minute, not all on its boundary.
		offset := time.Duration(user%60) * time.Second
		since := at.Add(-offset).Sub(issuedAt)
		minute := int64(since / time.Minute)
		if since < 0 && since%time.Minute != 0 {
			minute-- // floor: the token in force was issued before at
		}
		k := key{user, minute}
		tok, ok := minted[k]
		if !ok {
			m := minter(issuedAt.Add(offset).Add(time.Duration(minute)*time.Minute), secret)
			m.UserID = "1158559" + itoa(user)
			tok = m.Admin()
			minted[k] = tok
		}
		t.tokens[i], t.times[i] = tok, at
	}
	t.distinct = len(minted)
	return t
})

func itoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}
