// Package servertest holds what the test-server packages of the store
// modules (access/pgstore/pgtest, access/redisstore/redistest) do alike:
// give up on a missing binary (a skip, a failure under CI), find a free
// port, retry a start, read the end of a server's log. It uses only the
// standard library, so that importing it adds nothing to their go.mod.
package servertest

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Unavailable ends t because the server cannot run (err says why and how
// to install it): a skip, except when the environment has CI=true, where
// a skipped store test would pass unnoticed, so it fails.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v; CI=true, so this fails instead of skipping", err)
	}
	t.Skipf("%v; skipping", err)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// OnFreePort calls start with a free port until it succeeds, at most
// attempts times: a free port can be taken by someone else before the
// server binds it. It returns start's last error.
func OnFreePort(attempts int, start func(port int) error) error {
	var err error
	for range attempts {
		var port int
		if port, err = FreePort(); err != nil {
			return err
		}
		if err = start(port); err == nil {
			return nil
		}
	}
	return err
}

// Retry calls f until it succeeds, at most attempts times, waiting between
// tries (a stopped server's port may linger for a moment). It returns f's
// last error.
func Retry(attempts int, wait time.Duration, f func() error) error {
	var err error
	for i := range attempts {
		if i > 0 {
			time.Sleep(wait)
		}
		if err = f(); err == nil {
			return nil
		}
	}
	return err
}

// LogTail returns the last n bytes of the log at path, for an error
// message.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// GiveUp runs start with a testing.TB that records, instead of ending the
// test, how start gave up: the message of a Skipf or of a Fatalf. For
// testing that a Start calls Unavailable.
func GiveUp(t testing.TB, start func(testing.TB)) (skipped, failed string) {
	tb := &giveUpTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != (stop{}) {
				panic(r)
			}
		}()
		start(tb)
	}()
	return tb.skipped, tb.failed
}

type giveUpTB struct {
	testing.TB
	skipped, failed string
}

type stop struct{}

func (s *giveUpTB) Skipf(format string, args ...any) {
	s.skipped = fmt.Sprintf(format, args...)
	panic(stop{})
}

func (s *giveUpTB) Fatalf(format string, args ...any) {
	s.failed = fmt.Sprintf(format, args...)
	panic(stop{})
}
