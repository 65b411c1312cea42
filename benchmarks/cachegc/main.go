// Command cachegc measures what a large session cache costs: the heap it
// holds, the time the garbage collector then takes for each cycle (it
// marks every cached session, whatever the request rate), and Verify's
// latency while cycles run. For each cache size it fills a Verifier's
// cache, times forced collections, then replays a request mix (-hit of
// requests bring a cached token, the rest a new one, which is inserted and
// evicts the oldest) while allocating -garbage bytes per request, as a
// server's request handling does, so that collections come as often as
// they would.
//
//	go run ./benchmarks/cachegc                       # 10,000 and 1,048,576 entries
//	go run ./benchmarks/cachegc -sizes 100000 -ops 1000000
//
// It needs about 1.5 GB of memory for a million entries.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
)

const (
	secret   = "cachegc-secret-0123456789abcdef"
	clientID = "4c2c0d8f1e5a4b7f9d3e6a1b2c8d0e7f"
)

var issued = time.Unix(1_780_000_000, 0)

func main() {
	sizes := flag.String("sizes", "10000,1048576", "cache sizes to measure, comma-separated")
	ops := flag.Int("ops", 2_000_000, "requests replayed per size")
	hit := flag.Float64("hit", 0.86, "fraction of requests that bring a cached token")
	garbage := flag.Int("garbage", 8<<10, "bytes allocated per request besides Verify's own")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "cachegc: bad size %q\n", s)
			os.Exit(2)
		}
		if err := measure(n, *ops, *hit, *garbage); err != nil {
			fmt.Fprintln(os.Stderr, "cachegc:", err)
			os.Exit(1)
		}
		runtime.GC()
		debug.FreeOSMemory()
	}
}

// Sink keeps the per-request garbage from being optimised away.
var Sink []byte

func measure(size, ops int, hitRate float64, garbage int) error {
	// The clock runs (the cache refreshes an entry's recency at most once a
	// second), from just after the tokens' iat; they live for an hour.
	began := time.Now()
	clock := func() time.Time { return issued.Add(time.Second + time.Since(began)) }
	v, err := sdk.New(keysource.MustStatic(secret), sdk.WithClientID(clientID), sdk.WithClock(clock), sdk.WithCacheSize(size))
	if err != nil {
		return err
	}
	ctx := context.Background()
	m := newMinter()
	// Fill the cache; keep the last tokens inserted (surely still cached)
	// for the hits: a quarter of the cache at most, so that the hits keep
	// them recent while the new tokens evict the others.
	hot := make([]string, 0, min(size/4, 1<<16))
	for i := range size {
		tok := m.token(i)
		if _, err := v.Verify(ctx, tok); err != nil {
			return err
		}
		if i >= size-cap(hot) {
			hot = append(hot, tok)
		}
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap := ms.HeapAlloc
	var forced []time.Duration
	for range 3 {
		t0 := time.Now()
		runtime.GC()
		forced = append(forced, time.Since(t0))
	}

	lat := make([]time.Duration, ops)
	runtime.ReadMemStats(&ms)
	gc0, pause0 := ms.NumGC, ms.PauseTotalNs
	start := time.Now()
	step := int(1 / (1 - hitRate))
	nm, nh := 0, 0
	for i := range ops {
		var tok string
		if i%step == 0 {
			tok, nm = m.token(size+nm), nm+1 // minted outside the timing
		} else {
			tok, nh = strings.Clone(hot[nh%len(hot)]), nh+1 // a request's own copy
		}
		t0 := time.Now()
		_, err := v.Verify(ctx, tok)
		lat[i] = time.Since(t0)
		if err != nil {
			return err
		}
		Sink = make([]byte, garbage)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("cache size %d: heap %.0f MB after filling (%.0f bytes per entry, counting the %d cached tokens this program keeps to replay)\n",
		size, float64(heap)/1e6, float64(heap)/float64(size), len(hot))
	fmt.Printf("  forced GC cycles: %v %v %v\n", forced[0].Round(time.Millisecond), forced[1].Round(time.Millisecond), forced[2].Round(time.Millisecond))
	fmt.Printf("  %d requests (%.0f%% cached tokens, %d B garbage each) in %v: %d GC cycles, GC CPU %.1f%%, pauses %v total\n",
		ops, 100*hitRate, garbage, elapsed.Round(time.Millisecond), ms.NumGC-gc0, 100*ms.GCCPUFraction,
		time.Duration(ms.PauseTotalNs-pause0).Round(time.Microsecond))
	fmt.Printf("  Verify latency: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		q(0.5), q(0.9), q(0.99), q(0.999), lat[len(lat)-1].Round(time.Microsecond))
	runtime.KeepAlive(v)
	return nil
}

// minter mints distinct Shopify-shaped tokens (Shopify's claim order,
// escaped slashes, about 580 bytes; valid for an hour, for a run that
// lasts minutes) with one HMAC each.
type minter struct {
	header string
	mac    func([]byte) []byte
}

func newMinter() *minter {
	return &minter{
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)),
		mac: func(b []byte) []byte {
			h := hmac.New(sha256.New, []byte(secret))
			h.Write(b)
			return h.Sum(nil)
		},
	}
}

func (m *minter) token(i int) string {
	shop := "shop-" + strconv.Itoa(i%5000) + ".myshopify.com"
	iat := strconv.FormatInt(issued.Unix(), 10)
	id := fmt.Sprintf("%012d", i)
	claims := `{"iss":"https:\/\/` + shop + `\/admin","dest":"https:\/\/` + shop + `","aud":"` + clientID +
		`","sub":"` + id + `","exp":` + strconv.FormatInt(issued.Unix()+3600, 10) + `,"nbf":` + iat + `,"iat":` + iat +
		`,"jti":"f799bdb3-31a4-4075-8727-` + id + `","sid":"da8e9304bc015a28c70613cd0e3f0f60224be976f80f5cf7d73e` + id + `"}`
	in := m.header + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.mac([]byte(in)))
}
