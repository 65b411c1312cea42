package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
)

// Benchmark measures one store's round trips, as the Manager makes them:
// "Load" reads a stored record of realistic size (the hot path when the
// in-process cache misses), and "LockCASUnlock" is the write path of one
// refresh (Lock, CompareAndSwap of the next version, Unlock). open returns
// a client of a fresh, empty namespace.
func Benchmark(b *testing.B, open func(b *testing.B) access.Store) {
	ctx := context.Background()
	b.Run("Load", func(b *testing.B) {
		s := open(b)
		key := offlineKey("bench.myshopify.com")
		rec := benchRecord(key)
		l, err := s.Lock(ctx, key, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.CompareAndSwap(ctx, l, rec); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Load(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LockCASUnlock", func(b *testing.B) {
		s := open(b)
		key := offlineKey("bench.myshopify.com")
		rec := benchRecord(key)
		rec.Version = 0
		b.ReportAllocs()
		for b.Loop() {
			l, err := s.Lock(ctx, key, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			rec.Version++
			if err := s.CompareAndSwap(ctx, l, rec); err != nil {
				b.Fatal(err)
			}
			if err := s.Unlock(ctx, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchRecord is an expiring offline record with tokens the size of
// sealed Shopify tokens (a 38-byte token, nonce and tag: about 70 bytes).
func benchRecord(key access.Key) access.Record {
	rec := record(key, 1)
	rec.AccessToken = make([]byte, 70)
	rec.RefreshToken = make([]byte, 70)
	for i := range rec.AccessToken {
		rec.AccessToken[i], rec.RefreshToken[i] = byte(i), byte(255-i)
	}
	return rec
}
