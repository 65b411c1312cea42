package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/possession-dev/possession/access"
	"github.com/possession-dev/possession/webhook"
	"github.com/possession-dev/possession/webhook/webhooktest"
)

// mapDeduper is the smallest Deduper that keeps the contract, written
// from the interface's documentation alone: a second implementation to
// run the harness against besides the stores.
type mapDeduper struct {
	mu     sync.Mutex
	claims int64
	byID   map[string]mapEntry
}

type mapEntry struct {
	claim int64
	done  bool
	until time.Time
}

func newMapDeduper() *mapDeduper { return &mapDeduper{byID: map[string]mapEntry{}} }

func (m *mapDeduper) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (int64, bool, error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if e, ok := m.byID[id]; ok && now.Before(e.until) {
		return 0, e.done, nil
	}
	m.claims++
	m.byID[id] = mapEntry{claim: m.claims, until: now.Add(lease)}
	return m.claims, false, nil
}

func (m *mapDeduper) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[id] = mapEntry{claim: claim, done: true, until: time.Now().Add(retention)}
	return nil
}

func (m *mapDeduper) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byID[id]; ok && !e.done && e.claim == claim {
		delete(m.byID, id)
	}
	return nil
}

var dedupers = []struct {
	name string
	new  func(t *testing.T) webhook.Deduper
}{
	{"map", func(*testing.T) webhook.Deduper { return newMapDeduper() }},
	{"access.MemoryStore", func(*testing.T) webhook.Deduper { return access.MemoryStore() }},
}

func TestDeduperContract(t *testing.T) {
	for _, d := range dedupers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			webhooktest.TestDeduper(t, d.new)
		})
	}
}

func TestExactlyOnce(t *testing.T) {
	for _, d := range dedupers {
		t.Run(d.name, func(t *testing.T) { webhooktest.TestExactlyOnce(t, d.new) })
	}
}
