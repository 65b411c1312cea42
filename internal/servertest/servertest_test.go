package servertest_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/internal/servertest"
)

func TestUnavailable(t *testing.T) {
	missing := errors.New("x not found (install x)")
	t.Setenv("CI", "")
	if skipped, failed := servertest.GiveUp(t, func(tb testing.TB) { servertest.Unavailable(tb, missing) }); !strings.Contains(skipped, "install x") || failed != "" {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip saying why", skipped, failed)
	}
	t.Setenv("CI", "true")
	if skipped, failed := servertest.GiveUp(t, func(tb testing.TB) { servertest.Unavailable(tb, missing) }); !strings.Contains(failed, "CI=true") || skipped != "" {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure", skipped, failed)
	}
}

func TestOnFreePortRetries(t *testing.T) {
	var ports []int
	err := servertest.OnFreePort(3, func(port int) error {
		ports = append(ports, port)
		return errors.New("taken")
	})
	if err == nil || len(ports) != 3 {
		t.Fatalf("err %v after %d attempts, want an error after 3", err, len(ports))
	}
	for _, p := range ports {
		if p <= 0 {
			t.Fatalf("port %d", p)
		}
	}
	n := 0
	if err := servertest.OnFreePort(3, func(int) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("err %v after %d attempts, want success after 1", err, n)
	}
}

func TestRetry(t *testing.T) {
	n := 0
	err := servertest.Retry(5, time.Millisecond, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v after %d calls, want success after 3", err, n)
	}
	if err := servertest.Retry(2, time.Millisecond, func() error { return errors.New("never") }); err == nil || err.Error() != "never" {
		t.Fatalf("err %v, want the last error", err)
	}
}

func TestLogTail(t *testing.T) {
	path := t.TempDir() + "/log"
	if got := servertest.LogTail(path, 4); !strings.HasPrefix(got, "(no log") {
		t.Fatalf("missing log: %q", got)
	}
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servertest.LogTail(path, 4); got != "6789" {
		t.Fatalf("tail %q, want 6789", got)
	}
	if got := servertest.LogTail(path, 40); got != "0123456789" {
		t.Fatalf("tail %q, want all", got)
	}
}
