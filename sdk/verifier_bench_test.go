package sdk

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk/sdktest"
)

// Benchmarks of Verify's own paths, in pairs that isolate one cost. The
// comparison with other libraries and the HMAC floor is in benchmarks/.

// benchFixtures are the tokens of the benchmarks: as Shopify sends them
// (sdktest.Fixtures: Shopify's claim order, escaped slashes, a sig claim,
// many shops and users, iat spread over a minute).
var benchFixtures = sdktest.Fixtures{Secret: cacheTestSecret, ClientID: cacheTestClient, Start: cacheTestIssued}

// benchVerifyPool verifies warm (filling the cache), then tokens in turn
// from tokens[start].
func benchVerifyPool(b *testing.B, size int, warm, tokens []string, start int, at time.Time, wantErr bool) {
	v := newCacheTestVerifier(b, keysource.MustStatic(cacheTestSecret), newTestClock(at), size)
	ctx := context.Background()
	for _, tok := range warm {
		_, _ = v.Verify(ctx, tok)
	}
	b.ReportAllocs()
	i := start
	for b.Loop() {
		if _, err := v.Verify(ctx, tokens[i%len(tokens)]); (err != nil) != wantErr {
			b.Fatal(err)
		}
		i++
	}
}

// copies returns a copy of each token in memory of its own: what requests
// bring for a cached token. (Comparing a string with itself stops at the
// pointer, which would make hits look cheaper than a server sees them.)
func copies(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = strings.Clone(t)
	}
	return out
}

// BenchmarkVerify: cache hit vs miss (insert and evict) vs no cache, and
// the failure paths a flood takes.
func BenchmarkVerify(b *testing.B) {
	valid := benchFixtures.Tokens(4096)
	forgedSet := benchFixtures
	forgedSet.Secret = "another-secret"
	forged := forgedSet.Tokens(4096)
	hot, hotCopies := valid[:256], copies(valid[:256])
	at := benchFixtures.ValidAt()
	b.Run("cache=hit", func(b *testing.B) { benchVerifyPool(b, 1024, hot, hotCopies, 0, at, false) })
	b.Run("cache=miss", func(b *testing.B) { benchVerifyPool(b, 1024, valid[:256], valid, 256, at, false) })
	b.Run("cache=off", func(b *testing.B) { benchVerifyPool(b, 0, nil, valid, 0, at, false) })
	b.Run("invalid-signature", func(b *testing.B) { benchVerifyPool(b, 1024, nil, forged, 0, at, true) })
	b.Run("expired", func(b *testing.B) { benchVerifyPool(b, 1024, nil, valid, 0, at.Add(time.Hour), true) })
}

// BenchmarkCacheParallel: cache hits from all Ps (run with -cpu 1,2), each
// request bringing its own copy of a cached token.
func BenchmarkCacheParallel(b *testing.B) {
	cached := benchFixtures.Tokens(256)
	valid := copies(cached)
	v := newCacheTestVerifier(b, keysource.MustStatic(cacheTestSecret), newTestClock(benchFixtures.ValidAt()), 1024)
	ctx := context.Background()
	for _, tok := range cached {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, valid[i%len(valid)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
