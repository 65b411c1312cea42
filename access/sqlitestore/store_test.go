package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/access/sqlitestore"
	"github.com/possession-dev/possession/access/storetest"
	"github.com/possession-dev/possession/webhook"
	"github.com/possession-dev/possession/webhook/webhooktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var _ webhook.Deduper = (*sqlitestore.Store)(nil)

// open opens a store on path, closed when t ends.
func open(t *testing.T, path string, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// checkIntegrity runs SQLite's own consistency check on the file.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s = %q, %v", path, res, err)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() access.Store {
		path := filepath.Join(t.TempDir(), "tokens.db")
		return func() access.Store { return open(t, path) }
	})
}

// TestProcesses runs the store from several OS processes on one file: the
// embedded default must be safe for a machine running several instances.
func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "tokens.db")
		t.Cleanup(func() { checkIntegrity(t, path) })
		return path
	}, func(t *testing.T, path string) access.Store {
		return open(t, path)
	})
}

func TestOpenMigratesOnce(t *testing.T) {
	// Eight processes' worth of stores open a new file at once: one
	// creates the schema, the others find it, nobody fails.
	path := filepath.Join(t.TempDir(), "tokens.db")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			s, err := sqlitestore.Open(context.Background(), path)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s := open(t, path)
	ctx := context.Background()
	key := access.Key{Shop: "m.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); err != nil {
		t.Fatal(err)
	}
	// Reopening keeps the data: the schema is not created again.
	s.Close()
	s = open(t, path)
	if _, err := s.Load(ctx, key); err != nil {
		t.Fatalf("Load after reopening: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := open(t, path)
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := sqlitestore.Open(context.Background(), path); !errors.Is(err, sqlitestore.ErrSchemaTooNew) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a file at schema 99: %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
		opts []sqlitestore.Option
		want error
	}{
		{"empty path", "", nil, sqlitestore.ErrInvalidArgument},
		{"nil option", filepath.Join(dir, "a.db"), []sqlitestore.Option{nil}, sqlitestore.ErrInvalidOption},
		{"nil clock", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithClock(nil)}, sqlitestore.ErrInvalidOption},
		{"busy timeout too short", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.WithBusyTimeout(0)}, sqlitestore.ErrInvalidOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := sqlitestore.Open(context.Background(), c.path, c.opts...)
			if !errors.Is(err, c.want) || s != nil {
				t.Fatalf("Open = %v, %v; want nil, %v", s, err, c.want)
			}
		})
	}
	t.Run("not a database", func(t *testing.T) {
		if s, err := sqlitestore.Open(context.Background(), dir); err == nil {
			s.Close()
			t.Fatal("Open of a directory succeeded")
		}
	})
}

func TestBadArguments(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "tokens.db"))
	ctx := context.Background()
	key := access.Key{Shop: "a.myshopify.com", Mode: access.Offline}
	if _, err := s.Lock(ctx, key, 0); !errors.Is(err, sqlitestore.ErrInvalidArgument) {
		t.Errorf("Lock with a zero lease: %v, want ErrInvalidArgument", err)
	}
	if _, _, err := s.ClaimDelivery(ctx, "id", -time.Second); !errors.Is(err, sqlitestore.ErrInvalidArgument) {
		t.Errorf("ClaimDelivery with a negative lease: %v, want ErrInvalidArgument", err)
	}
	other := access.Key{Shop: "b.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, other, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); !errors.Is(err, access.ErrFenced) {
		t.Errorf("write under another key's lease: %v, want ErrFenced", err)
	}
}

func TestClockDrivesLeasesAndRetention(t *testing.T) {
	// Shopify's retry window is hours; with the clock option a test
	// covers it without waiting.
	clock := accesstest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, filepath.Join(t.TempDir(), "tokens.db"), sqlitestore.WithClock(clock.Now))
	ctx := context.Background()

	c, _, err := s.ClaimDelivery(ctx, "wh", time.Minute)
	if err != nil || c == 0 {
		t.Fatalf("ClaimDelivery = %d, %v", c, err)
	}
	if err := s.CompleteDelivery(ctx, "wh", c, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(48*time.Hour - time.Millisecond)
	if c, done, err := s.ClaimDelivery(ctx, "wh", time.Minute); err != nil || c != 0 || !done {
		t.Fatalf("claim just before the retention ends = %d, %v, %v; want done", c, done, err)
	}
	clock.Advance(time.Millisecond)
	if c2, done, err := s.ClaimDelivery(ctx, "wh", time.Minute); err != nil || c2 <= c || done {
		t.Fatalf("claim after the retention = %d, %v, %v; want a new claim", c2, done, err)
	}

	key := access.Key{Shop: "a.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Until.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("Until = %v, want the clock's now + 1h", l.Until)
	}
	clock.Advance(time.Hour - time.Millisecond)
	if _, err := s.Lock(ctx, key, time.Hour); !errors.Is(err, access.ErrLocked) {
		t.Fatalf("Lock a millisecond before the lease ends: %v, want ErrLocked", err)
	}
	clock.Advance(time.Millisecond)
	if l2, err := s.Lock(ctx, key, time.Hour); err != nil || l2.Fence <= l.Fence {
		t.Fatalf("Lock after the lease = %+v, %v", l2, err)
	}
}

func TestSweepBoundsDeliveries(t *testing.T) {
	clock := accesstest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "tokens.db")
	s := open(t, path, sqlitestore.WithClock(clock.Now))
	ctx := context.Background()
	for i := range 100 {
		id := "old-" + time.Duration(i).String()
		c, _, err := s.ClaimDelivery(ctx, id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteDelivery(ctx, id, c, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Hour)
	for i := range 64 {
		if _, _, err := s.ClaimDelivery(ctx, "new-"+time.Duration(i).String(), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM possession_deliveries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 64 {
		t.Fatalf("%d deliveries kept after 100 ended and 64 new were claimed: the sweep left ended ones", n)
	}
}

// TestFleet runs eight Managers, each on its own client of one file,
// through the fleet rules: one refresh per shop and expiry, a dead holder
// taken over and fenced.
func TestFleet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	accesstest.RunFleet(t, func(t *testing.T) access.Store { return open(t, path) })
}

// The webhook package's own checks of a Deduper: its contract, and
// exactly-once handling of 1,000 webhooks delivered three times each,
// concurrently, to four instances sharing the store.
func TestWebhookDeduper(t *testing.T) {
	webhooktest.TestDeduper(t, func(t *testing.T) webhook.Deduper {
		return open(t, filepath.Join(t.TempDir(), "tokens.db"))
	})
}

func TestWebhookExactlyOnce(t *testing.T) {
	if raceDetector {
		// Under -race modernc.org/sqlite (C translated to Go) runs about
		// 15 times slower (a write transaction ~4 ms instead of ~0.3):
		// with 96 deliveries in flight through one file, claims and
		// completions queue past the middleware's budgets and its
		// timeouts, not the store, decide the outcome. The race detector
		// covers these code paths in the Deduper suites above;
		// .ci/steps/50-sqlite-exactly-once.sh runs this without it.
		t.Skip("skipped under -race (modernc.org/sqlite is ~15x slower there); CI runs it without -race")
	}
	webhooktest.TestExactlyOnce(t, func(t *testing.T) webhook.Deduper {
		// Durability is not what this checks; synchronous=NORMAL keeps
		// 4,000 and more write transactions quick.
		return open(t, filepath.Join(t.TempDir(), "tokens.db"), sqlitestore.WithSynchronousNormal())
	})
}

// TestFleetProcesses runs eight OS processes, each with its own client of
// one file and its own Manager, asking for one shop's token while it
// crosses its refresh margin again and again: one refresh per expiry,
// every token served honoured, no revoked pair left stored.
func TestFleetProcesses(t *testing.T) {
	accesstest.RunFleetProcesses(t, func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "tokens.db")
		t.Cleanup(func() { checkIntegrity(t, path) })
		return path
	}, func(t *testing.T, path string) access.Store { return open(t, path) })
}
