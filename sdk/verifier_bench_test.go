package sdk

import (
	"context"
	"testing"
	"time"

	"github.com/possession-dev/possession/keysource"
)

// Benchmarks of Verify's own paths, in pairs that isolate one cost. The
// comparison with other libraries and the HMAC floor is in benchmarks/.

func benchVerifyPool(b *testing.B, size int, tokens []string, at time.Time, wantErr bool) {
	v := newCacheTestVerifier(b, keysource.MustStatic(cacheTestSecret), newTestClock(at), size)
	ctx := context.Background()
	warm := min(len(tokens), 256)
	for _, tok := range tokens[:warm] {
		_, _ = v.Verify(ctx, tok)
	}
	b.ReportAllocs()
	i := warm
	for b.Loop() {
		if _, err := v.Verify(ctx, tokens[i%len(tokens)]); (err != nil) != wantErr {
			b.Fatal(err)
		}
		i++
	}
}

func benchTokens(secret string, n int) []string {
	m := newFastMinter(secret)
	out := make([]string, n)
	for i := range out {
		out[i] = m.token(i)
	}
	return out
}

// BenchmarkVerify: cache hit vs miss (insert and evict) vs no cache, and
// the failure paths a flood takes.
func BenchmarkVerify(b *testing.B) {
	valid := benchTokens(cacheTestSecret, 4096)
	forged := benchTokens("another-secret", 4096)
	at := cacheTestIssued.Add(time.Second)
	b.Run("cache=hit", func(b *testing.B) { benchVerifyPool(b, 1024, valid[:256], at, false) })
	b.Run("cache=miss", func(b *testing.B) { benchVerifyPool(b, 1024, valid, at, false) })
	b.Run("cache=off", func(b *testing.B) { benchVerifyPool(b, 0, valid, at, false) })
	b.Run("invalid-signature", func(b *testing.B) { benchVerifyPool(b, 1024, forged, at, true) })
	b.Run("expired", func(b *testing.B) { benchVerifyPool(b, 1024, valid, at.Add(time.Hour), true) })
}

// BenchmarkCacheParallel: cache hits from all Ps (run with -cpu 1,2).
func BenchmarkCacheParallel(b *testing.B) {
	valid := benchTokens(cacheTestSecret, 256)
	v := newCacheTestVerifier(b, keysource.MustStatic(cacheTestSecret), newTestClock(cacheTestIssued.Add(time.Second)), 1024)
	ctx := context.Background()
	for _, tok := range valid {
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
