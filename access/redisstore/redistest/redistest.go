// Package redistest runs a real redis-server for tests: on 127.0.0.1, on a
// free port, with its data in a temporary directory, stopped when the test
// ends, and able to crash and come back on the same port for fault tests.
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//
// Start skips the test when redis-server is not installed (Debian:
// apt-get install redis-server), with a message saying so, except when the
// environment has CI=true, where it fails it: in CI a skipped store test
// would pass unnoticed. POSSESSION_REDIS_SERVER names the binary when it
// is not on PATH.
//
// The server runs with its append-only file on (appendfsync everysec by
// default, WithFsyncAlways for every write), so that Kill and Resume act
// like a crash and a restart that keep what was acknowledged, and without
// RDB snapshots.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process a test started.
type Server struct {
	bin  string
	dir  string
	port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Option configures Start.
type Option interface{ apply(*config) }

type config struct {
	fsyncAlways bool
	args        []string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithFsyncAlways makes the server sync its append-only file before it
// acknowledges each write (appendfsync always), so that even a crash of
// the machine loses nothing acknowledged.
func WithFsyncAlways() Option {
	return optionFunc(func(c *config) { c.fsyncAlways = true })
}

// WithArgs adds redis-server command-line arguments ("--maxmemory",
// "10mb"), after the ones Start sets.
func WithArgs(args ...string) Option {
	return optionFunc(func(c *config) { c.args = append(c.args, args...) })
}

// Binary returns the path of redis-server, or an error saying how to
// install it.
func Binary() (string, error) {
	if p := os.Getenv("POSSESSION_REDIS_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("redistest: POSSESSION_REDIS_SERVER: %w", err)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redistest: redis-server not found (Debian: apt-get install redis-server; or set POSSESSION_REDIS_SERVER)")
	}
	return p, nil
}

// Start starts a redis-server for t and stops it when t ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true, so this fails instead of skipping", err)
		}
		t.Skipf("%v; skipping", err)
	}
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	fsync := "everysec"
	if c.fsyncAlways {
		fsync = "always"
	}
	s := &Server{bin: bin, dir: t.TempDir()}
	s.args = append([]string{
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", fsync,
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--daemonize", "no",
	}, c.args...)
	t.Cleanup(func() { s.Kill(t) })
	// A free port can be taken by someone else before the server binds
	// it; try a few.
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 4 {
			t.Fatalf("redistest: %v", err)
		}
	}
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.dir }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs the server on s.port and waits until it answers PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	cmd := exec.Command(s.bin, append([]string{"--port", strconv.Itoa(s.port)}, s.args...)...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := ping(s.Addr()); err == nil {
			s.cmd, s.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited on port %d: %s", s.port, s.logTail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server not answering on port %d after 15s: %s", s.port, s.logTail())
		}
	}
}

// ping sends PING and expects +PONG (or -LOADING while the server loads
// its append-only file, which is not ready yet).
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Kill ends the server with SIGKILL, as a crash would: clients get
// connection errors until Resume. A no-op when it is not running.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.stop(t, os.Kill)
}

// Stop shuts the server down cleanly (SIGTERM: it flushes its
// append-only file and exits). A no-op when it is not running.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop(t, nil)
}

func (s *Server) stop(t testing.TB, sig os.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if sig == nil {
		s.cmd.Process.Signal(os.Interrupt)
	} else {
		s.cmd.Process.Signal(sig)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("redistest: redis-server did not stop within 15s; killed")
	}
	s.cmd, s.done = nil, nil
}

// Resume starts the server again on the same port with the same data
// directory, after Kill or Stop, and waits until it has loaded its data
// and answers.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	// The old process's port may linger for a moment.
	var err error
	for range 50 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: resume: %v", err)
}

// Restart is Stop then Resume.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Resume(t)
}
