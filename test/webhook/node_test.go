package webhook_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/test/internal/shopifyjs"
)

// jsReference is a running tools/shopify-js/webhook-reference.mjs.
type jsReference struct {
	url    string // its webhook endpoint
	mu     sync.Mutex
	stdin  io.WriteCloser
	stdout *bufio.Scanner
}

// jsResult is what the script answers, for webhooks and queries.
type jsResult struct {
	Valid          bool     `json:"valid"`
	Reason         string   `json:"reason"`
	MissingHeaders []string `json:"missingHeaders"`
	Error          string   `json:"error"`
	WebhookType    string   `json:"webhookType"`
	Topic          string   `json:"topic"`
	WebhookID      string   `json:"webhookId"`
}

func startJSReference(t *testing.T, secret string) *jsReference {
	t.Helper()
	dir := shopifyjs.Dir(t, "@shopify/shopify-api")
	cmd := exec.Command("node", "webhook-reference.mjs", secret)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
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
		_ = stdin.Close() // the script exits at the end of its input
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() {
		t.Fatalf("webhook-reference.mjs did not start: %v\n%s", sc.Err(), stderr.String())
	}
	var hello struct{ Port int }
	if err := json.Unmarshal(sc.Bytes(), &hello); err != nil || hello.Port == 0 {
		t.Fatalf("webhook-reference.mjs said %q: %v", sc.Text(), err)
	}
	return &jsReference{url: fmt.Sprintf("http://127.0.0.1:%d/webhooks", hello.Port), stdin: stdin, stdout: sc}
}

// query runs one signed-query check in the script.
func (j *jsReference) query(t *testing.T, kind, query, state string, now time.Time) jsResult {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	line, _ := json.Marshal(map[string]any{"kind": kind, "query": query, "state": state, "now": now.Unix()})
	if _, err := j.stdin.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	if !j.stdout.Scan() {
		t.Fatalf("no answer from webhook-reference.mjs: %v", j.stdout.Err())
	}
	var r jsResult
	if err := json.Unmarshal(j.stdout.Bytes(), &r); err != nil {
		t.Fatalf("answer %q: %v", j.stdout.Text(), err)
	}
	if strings.HasPrefix(r.Error, "unknown kind") {
		t.Fatal(r.Error)
	}
	return r
}
