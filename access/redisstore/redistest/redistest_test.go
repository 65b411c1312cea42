package redistest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/access/redisstore/redistest"
	"github.com/possession-dev/possession/internal/servertest"
)

// do sends one inline command and returns the reply's first line.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "%s\r\n", cmd)
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "$") && line != "$-1" {
		v, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(v)
	}
	return line
}

func TestKillResumeKeepsData(t *testing.T) {
	srv := redistest.Start(t, redistest.WithFsyncAlways())
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr = %q, want 127.0.0.1", srv.Addr())
	}
	if got := do(t, srv.Addr(), "SET k v1"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	srv.Kill(t)
	if _, err := net.DialTimeout("tcp", srv.Addr(), 200*time.Millisecond); err == nil {
		t.Fatal("server still accepts connections after Kill")
	}
	srv.Resume(t)
	if got := do(t, srv.Addr(), "GET k"); got != "v1" {
		t.Fatalf("GET after a crash and resume = %q, want v1 (append-only file)", got)
	}
	srv.Restart(t)
	if got := do(t, srv.Addr(), "GET k"); got != "v1" {
		t.Fatalf("GET after a restart = %q, want v1", got)
	}
}

func TestTwoServersAreSeparate(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t, redistest.WithArgs("--maxmemory", "10mb"))
	if a.Addr() == b.Addr() {
		t.Fatal("two servers on one address")
	}
	do(t, a.Addr(), "SET k a")
	if got := do(t, b.Addr(), "GET k"); got != "$-1" {
		t.Fatalf("GET on the other server = %q, want nil", got)
	}
	if got := do(t, b.Addr(), "CONFIG GET maxmemory"); !strings.HasPrefix(got, "*") {
		t.Fatalf("CONFIG GET = %q", got)
	}
}

func TestMissingBinary(t *testing.T) {
	start := func(tb testing.TB) { redistest.Start(tb) }
	t.Setenv("POSSESSION_REDIS_SERVER", "/nonexistent/redis-server")
	t.Setenv("CI", "")
	if skipped, failed := servertest.GiveUp(t, start); !strings.Contains(skipped, "POSSESSION_REDIS_SERVER") || failed != "" {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip naming the binary", skipped, failed)
	}
	t.Setenv("CI", "true")
	if skipped, failed := servertest.GiveUp(t, start); !strings.Contains(failed, "CI=true") || skipped != "" {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure", skipped, failed)
	}
}
