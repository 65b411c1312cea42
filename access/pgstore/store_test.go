package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/accesstest"
	"github.com/possession-dev/possession/access/pgstore"
	"github.com/possession-dev/possession/access/pgstore/pgtest"
	"github.com/possession-dev/possession/access/storetest"
	"github.com/possession-dev/possession/webhook"
	"github.com/possession-dev/possession/webhook/webhooktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var _ webhook.Deduper = (*pgstore.Store)(nil)

// pool returns a pool on dsn, closed when t ends.
func pool(t *testing.T, dsn string, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	for _, f := range configure {
		f(cfg)
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func newStore(t *testing.T, db pgstore.DB, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), db, pgstore.WithSchema(schema))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

var schemas atomic.Int64

// uniqueSchema gives each subtest its own namespace in a shared database.
func uniqueSchema() string { return fmt.Sprintf("test_%d", schemas.Add(1)) }

// TestStore runs the tests that can share one server (starting one takes
// seconds): each in its own database or schema.
func TestStore(t *testing.T) {
	srv := pgtest.Start(t)
	t.Run("Conformance", func(t *testing.T) {
		dsn := srv.CreateDatabase(t)
		storetest.Run(t, func(t *testing.T) func() access.Store {
			schema := uniqueSchema()
			return func() access.Store { return newStore(t, pool(t, dsn), schema) }
		})
	})
	t.Run("Fleet", func(t *testing.T) {
		// Eight Managers, each on its own pool, through the fleet rules:
		// one refresh per shop and expiry, a dead holder taken over and
		// fenced.
		dsn, schema := srv.CreateDatabase(t), uniqueSchema()
		accesstest.RunFleet(t, func(t *testing.T) access.Store { return newStore(t, pool(t, dsn), schema) })
	})
	// The webhook package's own checks of a Deduper: its contract, and
	// exactly-once handling of 1,000 webhooks delivered three times each,
	// concurrently, to four instances sharing the store.
	t.Run("WebhookDeduper", func(t *testing.T) {
		dsn := srv.CreateDatabase(t)
		webhooktest.TestDeduper(t, func(t *testing.T) webhook.Deduper { return newStore(t, pool(t, dsn), uniqueSchema()) })
	})
	t.Run("WebhookExactlyOnce", func(t *testing.T) {
		dsn := srv.CreateDatabase(t)
		webhooktest.TestExactlyOnce(t, func(t *testing.T) webhook.Deduper {
			return newStore(t, pool(t, dsn, func(c *pgxpool.Config) { c.MaxConns = 16 }), uniqueSchema())
		})
	})
	t.Run("MigratesOnce", func(t *testing.T) { migratesOnce(t, srv) })
	t.Run("RefusesNewerSchema", func(t *testing.T) { refusesNewerSchema(t, srv) })
}

// TestFaults runs the tests that stop the server.
func TestFaults(t *testing.T) {
	srv := pgtest.Start(t)
	t.Run("RestartUnderLoad", func(t *testing.T) { restartUnderLoad(t, srv) })
	t.Run("ErrorsWhileDown", func(t *testing.T) { errorsWhileDown(t, srv) })
}

// TestProcesses runs the store from several OS processes: a fleet.
func TestProcesses(t *testing.T) {
	var dsn string
	if !storetest.IsChild() { // children are given the backend
		dsn = pgtest.Start(t).CreateDatabase(t)
	}
	storetest.RunProcesses(t, func(t *testing.T) string {
		return dsn + " " + uniqueSchema()
	}, func(t *testing.T, backend string) access.Store {
		dsn, schema, _ := strings.Cut(backend, " ")
		return newStore(t, pool(t, dsn), schema)
	})
}

func restartUnderLoad(t *testing.T, srv *pgtest.Server) {
	// PostgreSQL crashes (immediate shutdown) or restarts under a stream
	// of locked writes from four instances: callers get errors while it
	// is down, never a torn, stale or lost record, and writes resume.
	dsn := srv.CreateDatabase(t)
	schema := uniqueSchema()
	var clients []access.Store
	for range 4 {
		clients = append(clients, newStore(t, pool(t, dsn, func(c *pgxpool.Config) {
			c.ConnConfig.ConnectTimeout = time.Second
		}), schema))
	}
	key := access.Key{Shop: "restart.myshopify.com", Mode: access.Offline}
	storetest.RunOutages(t, srv, clients, key, 300*time.Millisecond, 2*time.Minute)
}

func migratesOnce(t *testing.T, srv *pgtest.Server) {
	// Eight instances start at once on an empty database: the migrations
	// run once, under the advisory lock, and every New succeeds.
	dsn := srv.CreateDatabase(t)
	p := pool(t, dsn, func(c *pgxpool.Config) { c.MaxConns = 16 })
	ctx := context.Background()
	for _, schema := range []string{"public", "possession"} {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				_, err := pgstore.New(ctx, p, pgstore.WithSchema(schema))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("schema %s: concurrent New: %v", schema, err)
			}
		}
		var n, max int
		if err := p.QueryRow(ctx, `SELECT count(*), max(version) FROM `+schema+`.possession_schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != max || n < 1 {
			t.Fatalf("schema %s: %d migration rows up to version %d: each must be applied once", schema, n, max)
		}
	}
	// The store works and a second New keeps its data.
	s := newStore(t, p, "public")
	key := access.Key{Shop: "m.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := newStore(t, p, "public").Load(ctx, key); err != nil {
		t.Fatalf("Load through a second New: %v", err)
	}
}

func refusesNewerSchema(t *testing.T, srv *pgtest.Server) {
	p := pool(t, srv.CreateDatabase(t))
	ctx := context.Background()
	newStore(t, p, "public")
	if _, err := p.Exec(ctx, `INSERT INTO possession_schema_migrations (version) VALUES (99)`); err != nil {
		t.Fatal(err)
	}
	if s, err := pgstore.New(ctx, p); !errors.Is(err, pgstore.ErrSchemaTooNew) || s != nil {
		t.Fatalf("New on a schema at version 99 = %v, %v; want ErrSchemaTooNew", s, err)
	}
}

func TestNewErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		db   pgstore.DB
		opts []pgstore.Option
		want error
	}{
		{"nil database", nil, nil, pgstore.ErrInvalidArgument},
		{"nil option", nil, []pgstore.Option{nil}, pgstore.ErrInvalidOption},
		{"empty schema", nil, []pgstore.Option{pgstore.WithSchema("")}, pgstore.ErrInvalidOption},
		{"schema too long", nil, []pgstore.Option{pgstore.WithSchema(strings.Repeat("s", 64))}, pgstore.ErrInvalidOption},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := pgstore.New(ctx, c.db, c.opts...)
			if !errors.Is(err, c.want) || s != nil {
				t.Fatalf("New = %v, %v; want nil, %v", s, err, c.want)
			}
		})
	}
}

func errorsWhileDown(t *testing.T, srv *pgtest.Server) {
	s := newStore(t, pool(t, srv.CreateDatabase(t)), "public")
	key := access.Key{Shop: "down.myshopify.com", Mode: access.Offline}
	if _, err := s.Lock(context.Background(), key, 0); !errors.Is(err, pgstore.ErrInvalidArgument) {
		t.Errorf("Lock with a zero lease: %v, want ErrInvalidArgument", err)
	}
	storetest.ErrorsWhileDown(t, srv, s, "PostgreSQL", "pgstore: ")
}

// TestFleetProcesses runs eight OS processes, each with its own pool and
// Manager, asking for one shop's token while it crosses its refresh
// margin again and again: one refresh per expiry, every token served
// honoured, no revoked pair left stored.
func TestFleetProcesses(t *testing.T) {
	accesstest.RunFleetProcesses(t, func(t *testing.T) string {
		return pgtest.Start(t).CreateDatabase(t) + " " + uniqueSchema()
	}, func(t *testing.T, backend string) access.Store {
		dsn, schema, _ := strings.Cut(backend, " ")
		return newStore(t, pool(t, dsn), schema)
	})
}
