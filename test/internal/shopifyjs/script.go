package shopifyjs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Script is a running Node script of tools/shopify-js that answers each
// JSON line on its stdin with one line on its stdout, and exits at the end
// of its input.
type Script struct {
	name   string
	mu     sync.Mutex
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr *bytes.Buffer
}

// Start runs node script args... in tools/shopify-js (Dir, which skips
// without Node or pkg) until t ends, then closes its input and waits for
// it, killing it after 10 seconds. When t failed, the script's stderr is
// logged.
func Start(t testing.TB, pkg, script string, args ...string) *Script {
	t.Helper()
	cmd := exec.Command("node", append([]string{script}, args...)...)
	cmd.Dir = Dir(t, pkg)
	s := &Script{name: script, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	var err error
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = s.stdin.Close() // the script exits at the end of its input
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && s.stderr.Len() > 0 {
			t.Logf("node stderr:\n%s", s.stderr.String())
		}
	})
	s.stdout = bufio.NewScanner(out)
	s.stdout.Buffer(make([]byte, 1<<20), 1<<20)
	return s
}

// ReadLine returns the script's next line, such as a greeting it writes
// once it is ready.
func (s *Script) ReadLine(t testing.TB) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readLine(t)
}

func (s *Script) readLine(t testing.TB) []byte {
	t.Helper()
	if !s.stdout.Scan() {
		t.Fatalf("no answer from %s: %v\n%s", s.name, s.stdout.Err(), s.stderr.String())
	}
	return bytes.Clone(s.stdout.Bytes())
}

// Ask writes request as one JSON line and returns the script's answer.
// Calls from several goroutines take turns.
func (s *Script) Ask(t testing.TB, request any) []byte {
	t.Helper()
	line, err := json.Marshal(request)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.stdin.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	return s.readLine(t)
}
