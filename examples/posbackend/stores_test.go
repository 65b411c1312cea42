package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/possession-dev/possession/access/pgstore/pgtest"
	"github.com/possession-dev/possession/access/redisstore/redistest"
	"github.com/possession-dev/possession/sdk/sdktest"
	"github.com/possession-dev/possession/shopifytest"
)

// storeConfigs returns the three stores -store selects, each on a real
// server (skipped, or failed under CI=true, without one).
func storeConfigs(t *testing.T) map[string]func(t *testing.T) config {
	return map[string]func(t *testing.T) config{
		"sqlite": func(t *testing.T) config {
			return config{store: storeSQLite, storePath: filepath.Join(t.TempDir(), "posbackend.db")}
		},
		"redis": func(t *testing.T) config {
			return config{store: storeRedis, storeURL: "redis://" + redistest.Start(t).Addr() + "/0"}
		},
		"postgres": func(t *testing.T) config {
			return config{store: storePostgres, storeURL: pgtest.Start(t).CreateDatabase(t)}
		},
	}
}

// TestStores runs the flow on each store, and restarts the backend on the
// same store: the shop's token (sealed in the store) and the ingested
// transactions survive, so a delivery repeated after the restart is still
// a duplicate and nothing is exchanged again.
func TestStores(t *testing.T) {
	for name, mk := range storeConfigs(t) {
		t.Run(name, func(t *testing.T) {
			cfg := mk(t)
			fake := shopifytest.NewServer()
			t.Cleanup(fake.Close)
			t.Setenv("POSBACKEND_FLOW_SECRET", fake.ClientSecret())
			cfg.clientID, cfg.secretEnv, cfg.shopifyURL = fake.ClientID(), "POSBACKEND_FLOW_SECRET", fake.URL
			a, _, logs := startApp(t, cfg)
			f := &flow{app: a, fake: fake, logs: logs,
				minter: sdktest.Minter{Secret: fake.ClientSecret(), ClientID: fake.ClientID(), Shop: fakeShop, UserID: "31"}}

			if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 || r.body["name"] != "flow-test" {
				t.Fatalf("/api/shop: %d %v", r.status, r.body)
			}
			s := sale(1001, "2026-12-01T12:00:00Z")
			if r := f.call(t, "POST", "/api/transactions", s); r.status != 201 {
				t.Fatalf("sale: %d %v", r.status, r.body)
			}

			// Restart on the same store.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			cfg.addr = "127.0.0.1:0"
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			out := &syncBuffer{}
			b, err := start(context.Background(), cfg, out, slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = b.shutdown(ctx)
			})
			f.app = b
			if r := f.call(t, "POST", "/api/transactions", s); r.status != 200 || r.body["status"] != "duplicate" {
				t.Fatalf("the sale again after a restart: %d %v", r.status, r.body)
			}
			if r := f.call(t, "GET", "/api/shop", nil); r.status != 200 {
				t.Fatalf("/api/shop after a restart: %d %v", r.status, r.body)
			}
			if c := fake.GrantCounts(); c.Exchange != 1 {
				t.Fatalf("grants %+v: the stored token was not used after the restart", c)
			}
			if n := len(fake.TagsAdded(fakeShop)); n != 1 {
				t.Fatalf("%d tagsAdd mutations, want 1", n)
			}
		})
	}
}
