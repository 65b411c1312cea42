package benchmarks

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/possession-dev/possession/benchmarks/internal/peers"
)

// The suite. Each scenario benchmarks the pre-keyed HMAC-SHA256 floor
// where it is the yardstick, then the libraries, over the same tokens.
// Run it with benchmarks/run.sh; targets are ratios within one run.

// fixedClock is the clock of every fixed-time scenario: the instant,
// computed once (each library asks its clock on every token; computing
// the instant each time cost possession 3% of an uncached verification).
func fixedClock() time.Time { return fixedNow }

var fixedNow = verifyAt()

// signingInputs are the tokens' signing inputs as byte slices, prepared
// once so the floor measures hashing only; like the token pools, they lie
// contiguously in memory.
func signingInputs(tokens []string) [][]byte {
	n := 0
	for _, t := range tokens {
		n += len(t)
	}
	all := make([]byte, 0, n)
	out := make([][]byte, len(tokens))
	for i, t := range tokens {
		start := len(all)
		all = append(all, t[:strings.LastIndexByte(t, '.')]...)
		out[i] = all[start:len(all):len(all)]
	}
	return out
}

func benchHMAC(b *testing.B, inputs [][]byte) {
	h := hmac.New(sha256.New, []byte(peers.Secret))
	var sum [sha256.Size]byte
	b.ReportAllocs()
	stop := cpuTimer(b)
	i := 0
	for b.Loop() {
		h.Reset()
		h.Write(inputs[i%len(inputs)])
		h.Sum(sum[:0])
		i++
	}
	stop()
}

// benchPeer verifies a pool of distinct tokens in turn.
func benchPeer(b *testing.B, p peers.Peer, tokens []string, wantErr bool) {
	// Warm up and check the outcome; start after the warm-up tokens: with
	// the large pools, every token is then new to the cache until the loop
	// wraps around, by when it has been evicted.
	warm := min(len(tokens), hotSetSize)
	benchPeerAfter(b, p, tokens[:warm], tokens, warm, wantErr)
}

// benchPeerHits verifies copies of cached tokens: cache hits as a server
// sees them.
func benchPeerHits(b *testing.B, p peers.Peer, cached, copies []string) {
	benchPeerAfter(b, p, cached, copies, 0, false)
}

// benchPeerAfter verifies warm (filling a cache where there is one), then
// tokens in turn from tokens[start], checking each outcome.
func benchPeerAfter(b *testing.B, p peers.Peer, warm, tokens []string, start int, wantErr bool) {
	for _, tok := range warm {
		if _, _, err := p.Verify(tok); (err != nil) != wantErr {
			b.Fatalf("%s: error %v, want error: %v", p.Name, err, wantErr)
		}
	}
	b.ReportAllocs()
	stop := cpuTimer(b)
	i := start
	for b.Loop() {
		_, _, err := p.Verify(tokens[i%len(tokens)])
		if (err != nil) != wantErr {
			b.Fatalf("%s: unexpected outcome %v", p.Name, err)
		}
		i++
	}
	stop()
}

// BenchmarkUncached: every token new. possession twice: with its cache
// on (every lookup misses, every result is inserted, evicting the
// oldest) and with the cache disabled.
func BenchmarkUncached(b *testing.B) {
	f := fixtures()
	b.Run("lib=hmac-floor", func(b *testing.B) { benchHMAC(b, signingInputs(f.valid)) })
	b.Run("lib=possession-miss", func(b *testing.B) { benchPeer(b, peers.Possession(fixedClock, 10_000), f.valid, false) })
	for _, p := range peers.All(fixedClock, 0) {
		b.Run("lib="+p.Name, func(b *testing.B) { benchPeer(b, p, f.valid, false) })
	}
}

// BenchmarkUncachedNewShops: every token new and of a shop not seen for a
// whole pool (32,768 shops), so that no token starts from a remembered
// shop prefix: the cost of a backend that sees each shop rarely.
func BenchmarkUncachedNewShops(b *testing.B) {
	f := fixtures()
	b.Run("lib=hmac-floor", func(b *testing.B) { benchHMAC(b, signingInputs(f.newShops)) })
	for _, p := range []peers.Peer{peers.Possession(fixedClock, 0), peers.GolangJWT(fixedClock)} {
		b.Run("lib="+p.Name, func(b *testing.B) { benchPeer(b, p, f.newShops, false) })
	}
}

// BenchmarkCached: a hot set of tokens, all in possession's cache, each
// request bringing its own copy of its token.
func BenchmarkCached(b *testing.B) {
	f := fixtures()
	b.Run("lib=hmac-floor", func(b *testing.B) { benchHMAC(b, signingInputs(f.hotCopies)) })
	b.Run("lib=possession", func(b *testing.B) { benchPeerHits(b, peers.Possession(fixedClock, 10_000), f.hot, f.hotCopies) })
}

// BenchmarkInvalidSignature: a flood of distinct tokens signed with
// another secret.
func BenchmarkInvalidSignature(b *testing.B) {
	f := fixtures()
	for _, p := range peers.All(fixedClock, 10_000) {
		b.Run("lib="+p.Name, func(b *testing.B) { benchPeer(b, p, f.forged, true) })
	}
}

// BenchmarkExpired: validly signed tokens, expired 5 minutes ago.
func BenchmarkExpired(b *testing.B) {
	f := fixtures()
	for _, p := range peers.All(fixedClock, 10_000) {
		b.Run("lib="+p.Name, func(b *testing.B) { benchPeer(b, p, f.expired, true) })
	}
}

// BenchmarkRealisticMix replays a trace: many users, Zipf-distributed
// requests, each user's token reused for its minute. possession runs
// with its default cache; the others have none. The clock follows the
// trace; when the loop wraps around the trace, it starts again at the
// trace's first instant with a fresh verifier.
func BenchmarkRealisticMix(b *testing.B) {
	tr := mixTrace()
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	for _, name := range []string{"possession", "golang-jwt", "jwx", "go-jose"} {
		b.Run("lib="+name, func(b *testing.B) {
			newPeer := func() peers.Peer {
				for _, p := range peers.All(clock, 10_000) {
					if p.Name == name {
						return p
					}
				}
				panic(name)
			}
			p := newPeer()
			b.ReportAllocs()
			stop := cpuTimer(b)
			i := 0
			for b.Loop() {
				if i == len(tr.tokens) {
					i = 0
					p = newPeer()
				}
				now.Store(tr.times[i].UnixNano())
				if _, _, err := p.Verify(tr.tokens[i]); err != nil {
					b.Fatalf("request %d: %v", i, err)
				}
				i++
			}
			stop()
			b.ReportMetric(float64(tr.distinct)/float64(len(tr.tokens)), "new-tokens/req")
		})
	}
}

// BenchmarkParallel runs the floor, cache hits and cache-less
// verification on all Ps (run with -cpu 1,2 to see how they scale).
func BenchmarkParallel(b *testing.B) {
	f := fixtures()
	b.Run("scenario=cached/lib=hmac-floor", func(b *testing.B) { benchHMACParallel(b, signingInputs(f.hotCopies)) })
	b.Run("scenario=cached/lib=possession", func(b *testing.B) {
		benchPeerParallel(b, peers.Possession(fixedClock, 10_000), f.hot, f.hotCopies)
	})
	b.Run("scenario=uncached/lib=hmac-floor", func(b *testing.B) { benchHMACParallel(b, signingInputs(f.valid)) })
	b.Run("scenario=uncached/lib=possession-nocache", func(b *testing.B) {
		benchPeerParallel(b, peers.Possession(fixedClock, 0), f.valid[:hotSetSize], f.valid)
	})
	b.Run("scenario=uncached/lib=golang-jwt", func(b *testing.B) {
		benchPeerParallel(b, peers.GolangJWT(fixedClock), f.valid[:hotSetSize], f.valid)
	})
}

// start hands each goroutine of a parallel benchmark its own offset into
// the token pool.
var start atomic.Uint64

func benchHMACParallel(b *testing.B, inputs [][]byte) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		h := hmac.New(sha256.New, []byte(peers.Secret))
		var sum [sha256.Size]byte
		i := int(start.Add(7919) % uint64(len(inputs)))
		for pb.Next() {
			h.Reset()
			h.Write(inputs[i%len(inputs)])
			h.Sum(sum[:0])
			i++
		}
	})
}

// benchPeerParallel verifies warm (filling a cache), then tokens from all
// Ps.
func benchPeerParallel(b *testing.B, p peers.Peer, warm, tokens []string) {
	for _, tok := range warm {
		if _, _, err := p.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(7919) % uint64(len(tokens)))
		for pb.Next() {
			if _, _, err := p.Verify(tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
