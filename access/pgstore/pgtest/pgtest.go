// Package pgtest runs a real PostgreSQL server for tests: a new cluster
// (initdb) in a temporary directory, on 127.0.0.1 and a free port, stopped
// and removed when the test ends, and able to crash and come back for
// fault tests.
//
//	srv := pgtest.Start(t)
//	pool, err := pgxpool.New(ctx, srv.CreateDatabase(t))
//
// PostgreSQL refuses to run as root. When the test runs as root (CI
// containers), pgtest runs initdb and pg_ctl as the unprivileged
// "postgres" user that Debian's package creates (runuser -u postgres),
// in a directory it gives that user.
//
// Start skips the test when PostgreSQL is not installed (Debian: apt-get
// install postgresql), with a message saying so, except when the
// environment has CI=true, where it fails it. It looks for the binaries in
// POSSESSION_PG_BIN, then the newest /usr/lib/postgresql/*/bin, then PATH.
//
// The cluster's default collation is ICU's en-US, as on many production
// servers, so that a test relying on byte order where the database sorts
// by language fails here too. fsync is off (a crash of the test machine
// is not what is tested; a crash of PostgreSQL still loses nothing
// committed, since commits are written to the operating system).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a PostgreSQL cluster a test started.
type Server struct {
	bin     string // directory of initdb, pg_ctl
	dir     string // owned by the server's user; data/ and the socket
	port    int
	asUser  string // "postgres" when running as root, else ""
	uid     int
	gid     int
	mu      sync.Mutex
	running bool
	dbs     atomic.Int64
}

// Option configures Start.
type Option interface{ apply(*config) }

type config struct {
	settings []string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithSetting adds a server setting ("max_connections", "300"), after
// the ones Start sets.
func WithSetting(name, value string) Option {
	return optionFunc(func(c *config) { c.settings = append(c.settings, name+" = '"+strings.ReplaceAll(value, "'", "''")+"'") })
}

// BinDir returns the directory of PostgreSQL's initdb and pg_ctl, or an
// error saying how to install them.
func BinDir() (string, error) {
	if d := os.Getenv("POSSESSION_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			return "", fmt.Errorf("pgtest: POSSESSION_PG_BIN: %w", err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL not found (Debian: apt-get install postgresql; or set POSSESSION_PG_BIN to the directory of initdb and pg_ctl)")
}

// version is the major version in /usr/lib/postgresql/{version}/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start creates and starts a cluster for t, and stops and removes it when
// t ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := BinDir()
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
	s := &Server{bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root, and PostgreSQL refuses root; the postgres user it would run as: %v", err)
		}
		s.asUser = "postgres"
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parents are private to the test's user, which
	// the postgres user could not enter.
	s.dir, err = os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill(t)
		os.RemoveAll(s.dir)
	})
	if s.asUser != "" {
		if err := os.Chown(s.dir, s.uid, s.gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	settings := append([]string{
		"listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + s.dir + "'",
		"fsync = off",
		"full_page_writes = off",
		"max_connections = 300",
		"shared_buffers = '32MB'",
		"log_min_messages = warning",
	}, c.settings...)
	conf, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conf.WriteString("\n# pgtest\n" + strings.Join(settings, "\n") + "\n")
	conf.Close()
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 3 {
			t.Fatalf("pgtest: %v", err)
		}
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run runs one of the cluster's programs, as the postgres user when
// running as root.
func (s *Server) run(program string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, program)
	var cmd *exec.Cmd
	if s.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return errors.New("already running")
	}
	out, err := s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"),
		"-o", "-p "+strconv.Itoa(s.port), "-w", "-t", "60", "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		if len(log) > 3000 {
			log = log[len(log)-3000:]
		}
		return fmt.Errorf("pg_ctl start on port %d: %v\n%s\n%s", s.port, err, out, log)
	}
	s.running = true
	return nil
}

// Port returns the port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DSN returns a connection string for database on the server, as the
// postgres superuser (trusted on 127.0.0.1).
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// CreateDatabase creates a new, empty database and returns its DSN.
func (s *Server) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.DSN(name)
}

// Kill stops the server the way a crash would (pg_ctl stop -m immediate:
// no checkpoint, connections cut; the next start replays the write-ahead
// log). A no-op when it is not running.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.stop(t, "immediate")
}

// Stop shuts the server down cleanly (pg_ctl stop -m fast). A no-op when
// it is not running.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop(t, "fast")
}

func (s *Server) stop(t testing.TB, mode string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		t.Errorf("pgtest: pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	s.running = false
}

// Resume starts the server again, after Kill or Stop, on the same port
// with the same data, and waits until it accepts connections.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	var err error
	for range 20 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("pgtest: resume: %v", err)
}

// Restart is Stop then Resume.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Resume(t)
}
