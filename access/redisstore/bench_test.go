package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/redisstore"
	"github.com/possession-dev/possession/access/redisstore/redistest"
	"github.com/possession-dev/possession/access/storetest"
)

func BenchmarkStore(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	b.Cleanup(func() { rdb.Close() })
	storetest.Benchmark(b, func(*testing.B) access.Store {
		s, err := redisstore.New(rdb, redisstore.WithPrefix(uniquePrefix()))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
