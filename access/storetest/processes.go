package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/access/internal/childproc"
)

// Environment of a child process started by RunProcesses.
const (
	envRole    = "POSSESSION_STORETEST_ROLE"
	envBackend = "POSSESSION_STORETEST_BACKEND"
	envArgs    = "POSSESSION_STORETEST_ARGS"
	// Lines a child writes for its parent start with this.
	linePrefix = "storetest: "
)

// IsChild reports whether this process is a child that RunProcesses
// started. A test calling RunProcesses runs again in every child, so what
// it does before the call runs there too; it can use IsChild to skip that.
func IsChild() bool { return os.Getenv(envRole) != "" }

// RunProcesses runs the store from several OS processes against one
// backend: the test binary re-executed, running the calling test again
// with a role to play. newBackend runs in the parent only, once per
// subtest: it makes a fresh, empty namespace and returns its description
// (a file path, an address and key prefix, a connection string), which
// reaches the children in the environment. open, in the parent and in
// every child, opens a client of the backend backend describes.
//
// The subtests: "Increments" (four processes increment one record 25
// times each under its lock: no increment is lost); "KilledBetweenSteps"
// (a holder is killed with SIGKILL after each step of lock → load →
// compare-and-swap → unlock: its lock holds until its lease ends and
// then frees itself, the record is the old or the new whole record, and
// the dead holder's lease is fenced); "KilledAtRandom" (three processes
// increment in a loop with short leases and are killed at random moments,
// mid-write included: the key frees itself, the record is whole, and no
// acknowledged write is lost).
//
// Call it from a top-level test, and start what newBackend needs (a
// server) inside newBackend, since everything before the call also runs in
// each child (see IsChild).
func RunProcesses(t *testing.T, newBackend func(t *testing.T) string, open func(t *testing.T, backend string) access.Store) {
	t.Helper()
	if role := os.Getenv(envRole); role != "" {
		runChild(t, role, os.Getenv(envBackend), os.Getenv(envArgs), open)
		return
	}
	p := &processes{parent: t, open: open}
	t.Run("Increments", func(t *testing.T) { p.increments(t, newBackend(t)) })
	t.Run("KilledBetweenSteps", func(t *testing.T) { p.killedBetweenSteps(t, newBackend(t)) })
	t.Run("KilledAtRandom", func(t *testing.T) { p.killedAtRandom(t, newBackend(t)) })
}

type processes struct {
	parent *testing.T // the test the children run again
	open   func(t *testing.T, backend string) access.Store
}

var processKey = offlineKey("processes.myshopify.com")

// childArgs is what a child is told to do.
type childArgs struct {
	Count int           `json:"count,omitempty"` // increments
	Lease time.Duration `json:"lease"`
}

// child is a running child process and its storetest lines.
type child struct {
	*childproc.Child
	lines chan string // the child's storetest lines, without the prefix
}

// start starts a child playing role against backend.
func (p *processes) start(t *testing.T, role, backend string, args childArgs) *child {
	t.Helper()
	a, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{lines: make(chan string, 1024)}
	c.Child = childproc.Start(t, p.parent.Name(), childproc.Options{
		Env:   []string{envRole + "=" + role, envBackend + "=" + backend, envArgs + "=" + string(a)},
		Stdin: true,
		OnLine: func(line string) {
			if rest, ok := strings.CutPrefix(line, linePrefix); ok {
				select {
				case c.lines <- rest:
				default: // nobody reads progress lines that fast; drop
				}
			}
		},
		OnExit: func() { close(c.lines) },
	})
	return c
}

// next returns the child's next storetest line.
func (c *child) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.Done()
			t.Fatalf("child ended (%v) before its next step; its output:\n%s", c.Err(), c.Output())
		}
		return line
	case <-time.After(30 * time.Second):
		t.Fatalf("child silent for 30s; its output:\n%s", c.Output())
	}
	return ""
}

// wait waits for the child to exit and fails the test unless it passed.
func (c *child) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(90 * time.Second):
		t.Fatalf("child still running after 90s; its output:\n%s", c.Output())
	}
	if c.Err() != nil {
		t.Fatalf("child failed: %v; its output:\n%s", c.Err(), c.Output())
	}
}

func (p *processes) increments(t *testing.T, backend string) {
	const procs, each = 4, 25
	s := p.open(t, backend)
	ctx := testContext(t)
	children := make([]*child, procs)
	for i := range children {
		children[i] = p.start(t, "increment", backend, childArgs{Count: each, Lease: 10 * time.Second})
	}
	for _, c := range children {
		c.wait(t)
	}
	rec, err := s.Load(ctx, processKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := Consistent(rec); err != nil {
		t.Fatalf("record torn: %v", err)
	}
	if rec.Version != procs*each {
		t.Fatalf("version %d after %d processes incremented %d times each: want %d, increments were lost",
			rec.Version, procs, each, procs*each)
	}
}

// The steps a "steps" child reports, in order; the parent kills it after
// one of them.
var steps = []string{"locked", "loaded", "written", "unlocked"}

func (p *processes) killedBetweenSteps(t *testing.T, backend string) {
	s := p.open(t, backend)
	ctx := testContext(t)
	f := &fixture{T: t, ctx: ctx, s: s}
	f.write(s, record(processKey, 1))
	const lease = 1500 * time.Millisecond
	for k, killAfter := range steps {
		before, err := s.Load(ctx, processKey)
		if err != nil {
			t.Fatal(err)
		}
		c := p.start(t, "steps", backend, childArgs{Lease: lease})
		var dead access.Lease
		for i := 0; i <= k; i++ {
			line := c.next(t)
			name, rest, _ := strings.Cut(line, " ")
			if name != steps[i] {
				t.Fatalf("child reported %q, want step %q", line, steps[i])
			}
			if name == "locked" {
				dead = parseLease(t, rest)
			}
			if i < k {
				fmt.Fprintln(c.Stdin, "go")
			}
		}
		c.Kill()
		<-c.Done()

		// What the dead holder wrote is there whole, or not at all.
		wantVersion := before.Version
		if k >= 2 {
			wantVersion++
		}
		f.mustLoad(s, record(processKey, wantVersion))

		// Its lock holds until the lease ends, then frees itself.
		var l access.Lease
		if k < 3 {
			if _, err := s.Lock(ctx, processKey, longLease); !errors.Is(err, access.ErrLocked) &&
				time.Now().Before(dead.Until.Add(-100*time.Millisecond)) {
				t.Fatalf("killed after %q: Lock during the dead holder's lease: %v, want ErrLocked", killAfter, err)
			}
			l = f.waitLockable(s, processKey, longLease)
			if time.Now().Before(dead.Until) {
				t.Fatalf("killed after %q: lock granted before the dead holder's lease ended", killAfter)
			}
		} else {
			l = f.lock(s, processKey, longLease)
		}
		if l.Fence <= dead.Fence {
			t.Fatalf("killed after %q: fence %d after the dead holder's %d", killAfter, l.Fence, dead.Fence)
		}
		// The dead holder's lease cannot write (were it only paused).
		if err := s.CompareAndSwap(ctx, dead, record(processKey, wantVersion+1)); !errors.Is(err, access.ErrFenced) {
			t.Fatalf("killed after %q: write under the dead holder's lease: %v, want ErrFenced", killAfter, err)
		}
		if err := s.CompareAndSwap(ctx, l, record(processKey, wantVersion+1)); err != nil {
			t.Fatalf("killed after %q: the next holder's write: %v", killAfter, err)
		}
		if err := s.Unlock(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
}

func parseLease(t *testing.T, s string) access.Lease {
	t.Helper()
	var fence, until int64
	if _, err := fmt.Sscanf(s, "%d %d", &fence, &until); err != nil {
		t.Fatalf("child's lease %q: %v", s, err)
	}
	return access.Lease{Key: processKey, Fence: fence, Until: time.Unix(0, until)}
}

func (p *processes) killedAtRandom(t *testing.T, backend string) {
	s := p.open(t, backend)
	ctx := testContext(t)
	f := &fixture{T: t, ctx: ctx, s: s}
	const procs, rounds, lease = 3, 3, 600 * time.Millisecond
	var acked int64
	for round := range rounds {
		children := make([]*child, procs)
		for i := range children {
			children[i] = p.start(t, "churn", backend, childArgs{Lease: lease})
		}
		// Let every child write a few times, then kill each at a random
		// moment of its loop.
		var wg sync.WaitGroup
		versions := make([]int64, procs)
		for i, c := range children {
			wg.Go(func() {
				n := 3 + rand.IntN(5)
				for range n {
					line, ok := <-c.lines
					if !ok {
						return
					}
					v, _ := strconv.ParseInt(strings.TrimPrefix(line, "wrote "), 10, 64)
					versions[i] = max(versions[i], v)
				}
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				c.Kill()
			})
		}
		wg.Wait()
		for _, c := range children {
			<-c.Done()
			if c.Err() == nil {
				t.Fatalf("round %d: a child exited by itself; its output:\n%s", round, c.Output())
			}
			for line := range c.lines { // reported before it died
				if v, err := strconv.ParseInt(strings.TrimPrefix(line, "wrote "), 10, 64); err == nil {
					acked = max(acked, v)
				}
			}
		}
		for _, v := range versions {
			acked = max(acked, v)
		}
		// The leases the dead held end; the record is whole and holds
		// every acknowledged write.
		l := f.waitLockable(s, processKey, longLease)
		if err := CheckRecord(ctx, s, processKey, acked); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := s.Unlock(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if acked == 0 {
		t.Fatal("no child ever wrote")
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// runChild plays role in a child process.
func runChild(t *testing.T, role, backend, rawArgs string, open func(t *testing.T, backend string) access.Store) {
	var args childArgs
	if err := json.Unmarshal([]byte(rawArgs), &args); err != nil {
		t.Fatalf("child args %q: %v", rawArgs, err)
	}
	s := open(t, backend)
	ctx := testContext(t)
	say := func(format string, a ...any) { fmt.Printf(linePrefix+format+"\n", a...) }
	switch role {
	case "increment":
		for range args.Count {
			if _, err := increment(ctx, s, args.Lease, nil); err != nil {
				t.Fatal(err)
			}
		}
	case "churn":
		for {
			v, err := increment(ctx, s, args.Lease, nil)
			if errors.Is(err, access.ErrFenced) {
				continue // this process stalled past its lease; another took over
			}
			if err != nil {
				t.Fatal(err)
			}
			say("wrote %d", v)
		}
	case "steps":
		in := bufio.NewScanner(os.Stdin)
		_, err := increment(ctx, s, args.Lease, func(step string, l access.Lease) {
			if step == "locked" {
				say("locked %d %d", l.Fence, l.Until.UnixNano())
			} else {
				say("%s", step)
			}
			if !in.Scan() {
				// The parent kills the child rather than closing stdin;
				// block like a holder stuck mid-operation would.
				select {}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown child role %q", role)
	}
}

// increment takes processKey's lock (waiting while another holds it),
// loads the record, writes the next version and unlocks, calling step
// after each of the four steps. It returns the version written.
func increment(ctx context.Context, s access.Store, lease time.Duration, step func(string, access.Lease)) (int64, error) {
	if step == nil {
		step = func(string, access.Lease) {}
	}
	var l access.Lease
	for {
		var err error
		l, err = s.Lock(ctx, processKey, lease)
		if err == nil {
			break
		}
		if !errors.Is(err, access.ErrLocked) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(1+rand.IntN(3)) * time.Millisecond):
		}
	}
	step("locked", l)
	cur, err := s.Load(ctx, processKey)
	if errors.Is(err, access.ErrNotFound) {
		cur, err = access.Record{Key: processKey}, nil
	}
	if err != nil {
		return 0, err
	}
	if cur.Version > 0 {
		if err := Consistent(cur); err != nil {
			return 0, fmt.Errorf("loaded a torn record: %w", err)
		}
	}
	step("loaded", l)
	if err := s.CompareAndSwap(ctx, l, record(processKey, cur.Version+1)); err != nil {
		return 0, err
	}
	step("written", l)
	if err := s.Unlock(ctx, l); err != nil {
		return 0, err
	}
	step("unlocked", l)
	return cur.Version + 1, nil
}
