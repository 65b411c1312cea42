package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/sqlitestore"
	"github.com/possession-dev/possession/access/storetest"
)

func BenchmarkStore(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []sqlitestore.Option
	}{
		{"sync=full", nil},
		{"sync=normal", []sqlitestore.Option{sqlitestore.WithSynchronousNormal()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			storetest.Benchmark(b, func(b *testing.B) access.Store {
				s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "tokens.db"), c.opts...)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}
