package redistest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/possession-dev/possession/access/redisstore/redistest"
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
		redistest.Start(tb)
	}()
	return tb
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("POSSESSION_REDIS_SERVER", "/nonexistent/redis-server")
	t.Setenv("CI", "")
	if tb := startMissing(t); !strings.Contains(tb.skipped, "POSSESSION_REDIS_SERVER") || tb.failed != "" {
		t.Fatalf("without CI: skipped %q, failed %q; want a skip naming the binary", tb.skipped, tb.failed)
	}
	t.Setenv("CI", "true")
	if tb := startMissing(t); !strings.Contains(tb.failed, "CI=true") || tb.skipped != "" {
		t.Fatalf("with CI=true: skipped %q, failed %q; want a failure", tb.skipped, tb.failed)
	}
}
