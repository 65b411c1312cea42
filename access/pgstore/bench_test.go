package pgstore_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/pgstore"
	"github.com/possession-dev/possession/access/pgstore/pgtest"
	"github.com/possession-dev/possession/access/storetest"
)

func BenchmarkStore(b *testing.B) {
	srv := pgtest.Start(b)
	p, err := pgxpool.New(context.Background(), srv.CreateDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	storetest.Benchmark(b, func(*testing.B) access.Store {
		s, err := pgstore.New(context.Background(), p, pgstore.WithSchema(uniqueSchema()))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
