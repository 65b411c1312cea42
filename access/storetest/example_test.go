package storetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/storetest"
)

// A store's test runs the suite with a Backend: a fresh namespace per
// subtest, and a function that opens clients of it.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) func() access.Store {
//			path := filepath.Join(t.TempDir(), "tokens.db")
//			return func() access.Store { return open(t, path) }
//		})
//	}
//
// Fault tests drive a Workload while they restart the database, then
// check what it saw; here, three writers on a MemoryStore.
func ExampleStartWorkload() {
	ctx := context.Background()
	store := access.MemoryStore()
	key := access.Key{Shop: "example.myshopify.com", Mode: access.Offline}

	w := storetest.StartWorkload([]access.Store{store, store, store}, key, time.Minute)
	if err := w.WaitWrites(ctx, 100); err != nil {
		panic(err)
	}
	stats := w.Stop()
	fmt.Println("anomalies:", len(stats.Anomalies), "errors:", stats.Errors)
	fmt.Println("every acknowledged write kept:", storetest.CheckRecord(ctx, store, key, stats.Acked) == nil)
	// Output:
	// anomalies: 0 errors: 0
	// every acknowledged write kept: true
}
