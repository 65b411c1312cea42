package access_test

import (
	"testing"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/storetest"
)

func BenchmarkMemoryStore(b *testing.B) {
	storetest.Benchmark(b, func(*testing.B) access.Store { return access.MemoryStore() })
}
