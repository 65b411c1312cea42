package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/webhook"
)

// body4KiB is a 4 KiB JSON body, the size the benchmark budget is set for.
func body4KiB() []byte {
	var b strings.Builder
	b.WriteString(`{"id":820982911946154508,"line_items":[`)
	for b.Len() < 4096-64 {
		b.WriteString(`{"id":866550311766439020,"sku":"IPOD2008PINK","quantity":1},`)
	}
	s := strings.TrimSuffix(b.String(), ",") + `],"note":"`
	return []byte(s + strings.Repeat("x", 4096-len(s)-2) + `"}`)
}

// wireHeader is a classic delivery's header as net/http parses it off
// the wire from Shopify: its own headers and the usual others.
func wireHeader(body string) http.Header {
	h := classicHeader(body)
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("Accept", "*/*")
	h.Set("Accept-Encoding", "gzip;q=1.0,deflate;q=0.6,identity;q=0.3")
	h.Set("X-Shopify-Name", "orders-create-sync")
	h.Set("X-Forwarded-For", "34.123.45.67")
	return h
}

// BenchmarkHMACSHA256 is the floor: HMAC-SHA256 of the body with a
// pre-keyed, reused state (no key setup, no allocation).
func BenchmarkHMACSHA256(b *testing.B) {
	body := body4KiB()
	m := hmac.New(sha256.New, []byte(secret))
	var sum [sha256.Size]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		m.Reset()
		m.Write(body)
		m.Sum(sum[:0])
	}
}

// BenchmarkHMACSHA256OneShot is HMAC-SHA256 of the body as most code
// computes it, hmac.New per call (the key schedule and allocations
// included): for context, not the budget's baseline.
func BenchmarkHMACSHA256OneShot(b *testing.B) {
	body := body4KiB()
	key := []byte(secret)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(body)
		m.Sum(nil)
	}
}

// BenchmarkVerify is Verify of a valid 4 KiB classic delivery: the HMAC
// plus the header reads, the base64 and the constant-time compare.
func BenchmarkVerify(b *testing.B) {
	body := body4KiB()
	h := wireHeader(string(body))
	v := newVerifier(b)
	if _, err := v.Verify(h, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyVsHMAC alternates the two operations above within one
// loop and reports their cost ratio (verify/hmac): on a shared, noisy
// machine both halves see the same load, where two separate benchmarks
// run seconds apart do not. The budget is verify/hmac <= 1.2.
func BenchmarkVerifyVsHMAC(b *testing.B) {
	body := body4KiB()
	h := wireHeader(string(body))
	v := newVerifier(b)
	m := hmac.New(sha256.New, []byte(secret))
	var sum [sha256.Size]byte
	var tVerify, tHMAC time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		m.Reset()
		m.Write(body)
		m.Sum(sum[:0])
		t1 := time.Now()
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		tHMAC += t1.Sub(t0)
		tVerify += t2.Sub(t1)
	}
	b.ReportMetric(float64(tVerify)/float64(tHMAC), "verify/hmac")
	b.ReportMetric(float64(tVerify.Nanoseconds())/float64(b.N), "verify-ns/op")
	b.ReportMetric(float64(tHMAC.Nanoseconds())/float64(b.N), "hmac-ns/op")
}

// BenchmarkMiddleware is a whole delivery through Middleware and a Router
// (body read, verify, handler goroutine and timeout, answer), without a
// Deduper: for scale, not part of the budget.
func BenchmarkMiddleware(b *testing.B) {
	body := string(body4KiB())
	h := classicHeader(body)
	v := newVerifier(b)
	rt := webhook.NewRouter()
	rt.HandleFunc("orders/create", func(context.Context, *webhook.Delivery) error { return nil })
	mw := v.Middleware(rt)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
		r.Header = h
		mw.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
