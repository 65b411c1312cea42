package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
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
