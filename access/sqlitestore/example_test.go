package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/sqlitestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "tokens.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()

	// What access.Manager does on a refresh: lock the shop's key, read
	// it again, write the next version under the lease, unlock.
	key := access.Key{Shop: "example.myshopify.com", Mode: access.Offline}
	lease, err := store.Lock(ctx, key, 30*time.Second)
	if err != nil {
		panic(err)
	}
	if _, err := store.Load(ctx, key); err != nil {
		fmt.Println("before:", err)
	}
	rec := access.Record{Key: key, Scope: "read_products", AccessToken: []byte("sealed"), Version: 1}
	if err := store.CompareAndSwap(ctx, lease, rec); err != nil {
		panic(err)
	}
	if err := store.Unlock(ctx, lease); err != nil {
		panic(err)
	}
	got, err := store.Load(ctx, key)
	fmt.Println("after:", got.Version, got.Scope, err)

	// A second writer that read version 0 is refused.
	lease, _ = store.Lock(ctx, key, 30*time.Second)
	fmt.Println("stale write:", store.CompareAndSwap(ctx, lease, rec))
	// Output:
	// before: sqlitestore: load offline_example.myshopify.com: access: no stored token
	// after: 1 read_products <nil>
	// stale write: sqlitestore: compare-and-swap offline_example.myshopify.com: stored version 1, write of 1: access: record changed since it was read
}
