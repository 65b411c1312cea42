// Package childproc runs a test of the current test binary again as a
// child process, for the tests that need separate OS processes
// (access/storetest, access/accesstest): the child finds its role in
// the environment it is given.
package childproc

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Options say what a child gets and what is done with its output.
type Options struct {
	// Env is added to the parent's environment.
	Env []string
	// Stdin makes Child.Stdin a pipe to the child's standard input.
	Stdin bool
	// OnLine is called with each line the child prints (standard output
	// and error), from the goroutine that reads them.
	OnLine func(line string)
	// OnExit is called once the child has exited, before Done is closed.
	OnExit func()
}

// Child is a running child process and its output.
type Child struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser // with Options.Stdin
	mu    sync.Mutex
	out   strings.Builder // everything the child printed
	done  chan struct{}
	err   error // of Wait, once done is closed
}

// Start runs the test named testName (every level of the name matched
// exactly) of this test binary in a child process, and kills it when t
// ends.
func Start(t testing.TB, testName string, o Options) *Child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var pattern []string
	for _, part := range strings.Split(testName, "/") {
		pattern = append(pattern, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(exe, "-test.run="+strings.Join(pattern, "/"), "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), o.Env...)
	c := &Child{Cmd: cmd, done: make(chan struct{})}
	if o.Stdin {
		if c.Stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			if o.OnLine != nil {
				o.OnLine(line)
			}
		}
		c.err = cmd.Wait()
		if o.OnExit != nil {
			o.OnExit()
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		c.Kill()
		<-c.done
	})
	return c
}

// Output is everything the child printed so far.
func (c *Child) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// Kill sends SIGKILL: the child runs no deferred code and no cleanup.
func (c *Child) Kill() { _ = c.Cmd.Process.Kill() }

// Done is closed once the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Err is Wait's error, once Done is closed.
func (c *Child) Err() error { return c.err }
