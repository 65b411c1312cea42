package pgtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/possession-dev/possession/access/pgstore/pgtest"
)

func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestServer(t *testing.T) {
	srv := pgtest.Start(t, pgtest.WithSetting("application_name", "pgtest's test"))
	dsn := srv.CreateDatabase(t)
	if !strings.Contains(dsn, "127.0.0.1:") {
		t.Fatalf("DSN %q, want 127.0.0.1", dsn)
	}
	if got := query(t, dsn, "SHOW application_name"); got != "pgtest's test" {
		t.Fatalf("application_name = %q, want the setting given", got)
	}
	if got := query(t, dsn, "SELECT current_user"); got != "postgres" {
		t.Fatalf("current_user = %q", got)
	}
	// The default collation sorts by language, not bytes.
	if got := query(t, dsn, "SELECT string_agg(x, ' ' ORDER BY x) FROM (VALUES ('ab'), ('a-c'), ('B')) v(x)"); got != "a-c ab B" {
		t.Fatalf("ORDER BY under the default collation = %q, want ICU en-US order \"a-c ab B\" (bytes: \"B a-c ab\")", got)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept AS SELECT 'v1'::text AS v"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	srv.Kill(t)
	if _, err := pgx.Connect(context.Background(), dsn); err == nil {
		t.Fatal("connected after Kill")
	}
	srv.Resume(t)
	if got := query(t, dsn, "SELECT v FROM kept"); got != "v1" {
		t.Fatalf("after a crash and resume: %q, want v1", got)
	}
	srv.Restart(t)
	if got := query(t, dsn, "SELECT v FROM kept"); got != "v1" {
		t.Fatalf("after a restart: %q, want v1", got)
	}
}

// skipTB records how Start gave up instead of ending the test.
type skipTB struct {
	testing.TB
	skipped, failed string
}

type stop struct{}

func (s *skipTB) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	panic(stop{})
}

func (s *skipTB) Fatalf(format string, args ...any) {
	s.failed = fmt.Sprintf(format, args...)
	panic(stop{})
}

func startMissing(t *testing.T) *skipTB {
	tb := &skipTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != (stop{}) {
				panic(r)
			}
		}()
		pgtest.Start(tb)
	}()
	return tb
}

func TestMissingBinaries(t *testing.T) {
	t.Setenv("POSSESSION_PG_BIN", "/nonexistent")
	t.Setenv("CI", "")
	if tb := startMissing(t); !strings.Contains(tb.skipped, "POSSESSION_PG_BIN") || tb.failed != "" {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip naming the setting", tb.skipped, tb.failed)
	}
	t.Setenv("CI", "true")
	if tb := startMissing(t); !strings.Contains(tb.failed, "CI=true") || tb.skipped != "" {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure", tb.skipped, tb.failed)
	}
}
