package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/webhook"
)

// Server is a backend that a test can crash, stop cleanly and start again,
// such as pgtest.Server and redistest.Server.
type Server interface {
	Kill(t testing.TB)
	Stop(t testing.TB)
	Resume(t testing.TB)
}

// RunOutages runs a Workload of clients on key (leases of half a second)
// through three outages of srv, each lasting outage: a crash (Kill), a
// clean stop, a crash. It fails t unless writes resume after each within
// timeout in all, the callers saw errors while srv was down, and the
// Workload saw nothing torn, stale or lost.
func RunOutages(t *testing.T, srv Server, clients []access.Store, key access.Key, outage, timeout time.Duration) {
	t.Helper()
	w := StartWorkload(clients, key, 500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i, crash := range []bool{true, false, true} {
		if err := w.WaitWrites(ctx, 25); err != nil {
			w.Stop()
			t.Fatalf("before outage %d: %v", i, err)
		}
		if crash {
			srv.Kill(t)
		} else {
			srv.Stop(t)
		}
		time.Sleep(outage)
		srv.Resume(t)
		if err := w.WaitWrites(ctx, 25); err != nil {
			w.Stop()
			t.Fatalf("after outage %d: writes did not resume: %v", i, err)
		}
	}
	stats := w.Stop()
	t.Logf("%d writes acknowledged (last version %d), %d errors, %d fenced", stats.Writes, stats.Acked, stats.Errors, stats.Fenced)
	for _, a := range stats.Anomalies {
		t.Error(a)
	}
	if stats.Errors == 0 {
		t.Error("no caller saw an error: the outages did not happen")
	}
	if err := CheckRecord(ctx, clients[0], key, stats.Acked); err != nil {
		t.Fatal(err)
	}
}

// StoreDeduper is a backend's store that also dedupes webhook deliveries,
// as the SQL and Redis stores do.
type StoreDeduper interface {
	access.Store
	webhook.Deduper
}

// ErrorsWhileDown holds a lock on s, crashes srv (Kill) and checks that
// every method of s then fails with an error that is no sentinel (a
// connection error, not ErrNotFound, ErrLocked, ErrConflict or ErrFenced,
// and not a hang) and starts with errPrefix ("pgstore: "); then resumes
// srv and checks that the lease survived: a write under it succeeds.
// backend names the server in the failures ("PostgreSQL").
func ErrorsWhileDown(t *testing.T, srv Server, s StoreDeduper, backend, errPrefix string) {
	t.Helper()
	ctx := context.Background()
	key := access.Key{Shop: "down.myshopify.com", Mode: access.Offline}
	l, err := s.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill(t)
	calls := map[string]func() error{
		"Load":   func() error { _, err := s.Load(ctx, key); return err },
		"Lock":   func() error { _, err := s.Lock(ctx, key, time.Second); return err },
		"Unlock": func() error { return s.Unlock(ctx, l) },
		"CompareAndSwap": func() error {
			return s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1})
		},
		"Delete":        func() error { return s.Delete(ctx, key.Shop) },
		"Expiring":      func() error { _, err := s.Expiring(ctx, time.Now(), 1); return err },
		"NonExpiring":   func() error { _, err := s.NonExpiring(ctx, "", 1); return err },
		"ClaimDelivery": func() error { _, _, err := s.ClaimDelivery(ctx, "x", time.Second); return err },
		"CompleteDelivery": func() error {
			return s.CompleteDelivery(ctx, "x", 1, time.Second)
		},
		"ReleaseDelivery": func() error { return s.ReleaseDelivery(ctx, "x", 1) },
	}
	for name, call := range calls {
		err := call()
		if err == nil || errors.Is(err, access.ErrNotFound) || errors.Is(err, access.ErrLocked) ||
			errors.Is(err, access.ErrConflict) || errors.Is(err, access.ErrFenced) {
			t.Errorf("%s while %s is down: %v, want a connection error", name, backend, err)
		} else if !strings.HasPrefix(err.Error(), errPrefix) {
			t.Errorf("%s: error %q lacks the package prefix %q", name, err, errPrefix)
		}
	}
	srv.Resume(t)
	if err := s.CompareAndSwap(ctx, l, access.Record{Key: key, Version: 1}); err != nil {
		t.Fatalf("write after %s came back (the lease survived the crash): %v", backend, err)
	}
}
