package keysource

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestFileUnknownSignerRefreshIsRateLimited counts file reads: however many
// tokens with an unknown signer arrive, the file is read at most once per
// interval.
func TestFileUnknownSignerRefreshIsRateLimited(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("shpss_11111111111111111111111111111111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	src, err := File(path, WithClock(clock), WithUnknownSignerInterval(30*time.Second), WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	base := src.reads.Load()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if src.RefreshUnknownSigner(context.Background()).Len() != 1 {
					t.Error("lost keys")
				}
			}
		}()
	}
	wg.Wait()
	if got := src.reads.Load() - base; got != 1 {
		t.Fatalf("400 unknown-signer refreshes in one interval read the file %d times, want 1", got)
	}
	mu.Lock()
	now = now.Add(29 * time.Second)
	mu.Unlock()
	src.RefreshUnknownSigner(context.Background())
	if got := src.reads.Load() - base; got != 1 {
		t.Fatalf("refresh before the interval ended read the file (%d reads)", got)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	src.RefreshUnknownSigner(context.Background())
	if got := src.reads.Load() - base; got != 2 {
		t.Fatalf("refresh after the interval: %d reads, want 2", got)
	}

	off, err := File(path, WithUnknownSignerInterval(0), WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	before := off.reads.Load()
	off.RefreshUnknownSigner(context.Background())
	if off.reads.Load() != before {
		t.Fatal("interval 0 should disable unknown-signer refreshes")
	}
}
