package keysource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/possession-dev/possession/keysource"
	"github.com/possession-dev/possession/sdk"
	"github.com/possession-dev/possession/sdk/sdktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond until it holds or 5 s pass: file notifications are
// real I/O, so the bound is on the wait, not a sleep.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// named returns a secret of Shopify's shape ("shpss_" and 32 characters)
// that starts with name, so that tests tell secrets apart by name.
func named(name string) string { return "shpss_" + name + strings.Repeat("0", 32-len(name)) }

func currentSecret(src keysource.Source) string {
	r := src.Keyring()
	if r.Len() == 0 {
		return ""
	}
	return string(r.Key(0).Secret.Bytes())
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func openFile(t *testing.T, path string, opts ...keysource.Option) *keysource.FileSource {
	t.Helper()
	src, err := keysource.File(path, opts...)
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

func TestFileReadsAndTrims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, "  "+named("current")+" \n\n"+named("previous")+"\r\n")
	src := openFile(t, path, keysource.WithClientID("app"))
	r := src.Keyring()
	if r.Len() != 2 || r.Key(0).ID != "file:current" || r.Key(1).ID != "file:previous" || r.Key(0).ClientID != "app" {
		t.Fatalf("keyring %v", r)
	}
	if string(r.Key(0).Secret.Bytes()) != named("current") || string(r.Key(1).Secret.Bytes()) != named("previous") {
		t.Fatalf("secrets not trimmed")
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if src.Keyring() != r {
		t.Fatal("keys gone after Close")
	}
}

func TestFileConstructionErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, " \n\n")
	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "missing"), os.ErrNotExist},
		{"empty", empty, keysource.ErrEmptySecret},
		{"directory", dir, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := keysource.File(tt.path)
			if err == nil || src != nil {
				t.Fatalf("want an error, got %v", src)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFileInPlaceRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, named("one")+"\n")
	src := openFile(t, path)
	gen := src.Keyring().Generation()
	writeFile(t, path, named("two")+"\n"+named("one")+"\n")
	waitFor(t, "new secret", func() bool { return currentSecret(src) == named("two") })
	if src.Keyring().Generation() == gen || src.Keyring().Len() != 2 {
		t.Fatalf("keyring not replaced: %v", src.Keyring())
	}
}

func TestFileUnchangedContentKeepsGeneration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, named("one")+"\n")
	src := openFile(t, path)
	before := src.Keyring()
	writeFile(t, path, named("one"))
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if src.Keyring() != before {
		t.Fatal("identical content produced a new keyring (and would drop the session cache)")
	}
}

func TestFileRenameOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	writeFile(t, path, named("one")+"\n")
	src := openFile(t, path)
	tmp := filepath.Join(dir, ".secret.swp")
	writeFile(t, tmp, named("two")+"\n")
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "renamed secret", func() bool { return currentSecret(src) == named("two") })
}

// k8sMount lays out a directory as the kubelet mounts a Secret: the file is
// a symlink into ..data, itself a symlink to a timestamped directory.
type k8sMount struct {
	dir string
	n   int
}

func (m *k8sMount) write(t *testing.T, content string) {
	t.Helper()
	m.n++
	ts := filepath.Join(m.dir, "..2026_11_26_"+strings.Repeat("x", m.n))
	if err := os.Mkdir(ts, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ts, "shopify-secret"), content)
	tmpLink := filepath.Join(m.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmpLink); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(m.dir, "..data"))
	if err := os.Rename(tmpLink, filepath.Join(m.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(m.dir, old)); err != nil {
			t.Fatal(err)
		}
	}
	if m.n == 1 {
		if err := os.Symlink(filepath.Join("..data", "shopify-secret"), m.path()); err != nil {
			t.Fatal(err)
		}
	}
}

func (m *k8sMount) path() string { return filepath.Join(m.dir, "shopify-secret") }

// TestFileKubernetesSwap swaps the ..data symlink repeatedly while
// verifications run, and checks that every verification succeeds (the
// keyring is never empty) and that each new secret is picked up.
func TestFileKubernetesSwap(t *testing.T) {
	m := &k8sMount{dir: t.TempDir()}
	m.write(t, named("0")+"\n")
	src := openFile(t, m.path())
	v, err := sdk.New(src, sdk.WithClientID("app"), sdk.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}

	// Each rotation keeps the previous secret as the second line, as an
	// operator rotating without downtime would; tokens are signed with the
	// secret that was current when the round began. A verification holds
	// inFlight's read lock from choosing its secret to its result, and the
	// rotation switches the signing secret under the write lock, so that
	// no token signed with a secret two rotations old is still being
	// verified when the next write drops that secret (under load, a worker
	// could otherwise sleep through a whole rotation: seen once in CI as 1
	// of 646 verifications failing with ErrSignature).
	var signing atomic.Value
	var inFlight sync.RWMutex
	signing.Store(named("0"))
	var failures, checks atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				inFlight.RLock()
				if src.Keyring().Len() == 0 {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, "empty keyring")
				}
				tok := sdktest.Minter{Secret: signing.Load().(string), ClientID: "app"}.Admin()
				if _, err := v.Verify(context.Background(), tok); err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
				inFlight.RUnlock()
				checks.Add(1)
			}
		}()
	}
	prev := named("0")
	for i := 1; i <= 5; i++ {
		next := named(strings.Repeat("n", i))
		m.write(t, next+"\n"+prev+"\n")
		waitFor(t, "swapped secret "+next, func() bool { return currentSecret(src) == next })
		inFlight.Lock() // waits out verifications still signing with an older secret
		signing.Store(next)
		inFlight.Unlock()
		prev = next
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d verifications failed during swaps; first: %v", failures.Load(), checks.Load(), firstFailure.Load())
	}
	if checks.Load() == 0 {
		t.Fatal("no verifications ran")
	}
}

// TestFileEmptyDuringRewriteKeepsKeys truncates the file (as a writer does
// before writing) and checks that the last good keys stay and the error is
// reported, then that the finished write is picked up.
func TestFileEmptyDuringRewriteKeepsKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, named("good")+"\n")
	var reported atomic.Int64
	var lastErr atomic.Value
	src := openFile(t, path, keysource.WithErrorHandler(func(err error) {
		reported.Add(1)
		lastErr.Store(err)
	}))
	writeFile(t, path, "")
	waitFor(t, "the empty file to be reported", func() bool { return reported.Load() > 0 })
	if currentSecret(src) != named("good") {
		t.Fatal("last good keys dropped")
	}
	err := lastErr.Load().(error)
	if !errors.Is(err, keysource.ErrEmptySecret) || !errors.Is(src.Err(), keysource.ErrEmptySecret) {
		t.Fatalf("reported %v, Err %v; want ErrEmptySecret", err, src.Err())
	}
	if strings.Contains(err.Error(), named("good")) {
		t.Fatal("error contains the secret")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reload of a missing file: %v", err)
	}
	if currentSecret(src) != named("good") {
		t.Fatal("last good keys dropped when the file vanished")
	}

	writeFile(t, path, named("new")+"\n")
	waitFor(t, "the rewritten secret", func() bool { return currentSecret(src) == named("new") })
	waitFor(t, "Err to clear", func() bool { return src.Err() == nil })
}

func TestFileOptionsValidated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, named("x"))
	if _, err := keysource.File(path, keysource.WithPollInterval(-time.Second)); err == nil {
		t.Fatal("negative poll interval accepted")
	}
}
