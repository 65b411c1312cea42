package access

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is a Store (and a webhook.Deduper) that keeps everything in this
// process: for tests and one-process development. Its locks coordinate
// the goroutines of one process only; a fleet needs access/redisstore or
// access/pgstore, one machine access/sqlitestore. Nothing survives a
// restart.
type Memory struct {
	mu         sync.Mutex
	now        func() time.Time
	records    map[Key]Record
	locks      map[Key]memoryLock
	fences     map[Key]int64 // the last fence granted per key, kept after unlock
	deliveries map[string]memoryDelivery
	claims     int64 // the last claim number handed out, for any delivery
	ops        int
}

type memoryLock struct {
	fence int64
	until time.Time
}

type deliveryState uint8

const (
	deliveryFree deliveryState = iota
	deliveryClaimed
	deliveryDone
)

type memoryDelivery struct {
	claim int64 // the delivery's latest claim
	state deliveryState
	until time.Time // end of the claim's lease or of the done record's retention
}

// MemoryStore returns an empty in-process store.
func MemoryStore() *Memory {
	return &Memory{
		now:        time.Now,
		records:    map[Key]Record{},
		locks:      map[Key]memoryLock{},
		fences:     map[Key]int64{},
		deliveries: map[string]memoryDelivery{},
	}
}

// sweepEvery is how many operations pass between sweeps of ended locks and
// deliveries, which bounds the memory they hold.
const sweepEvery = 1024

// begin locks m and returns the time, after checking ctx. The caller
// unlocks.
func (m *Memory) begin(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	m.mu.Lock()
	now := m.now()
	m.ops++
	if m.ops%sweepEvery == 0 {
		m.sweep(now)
	}
	return now, nil
}

func (m *Memory) sweep(now time.Time) {
	for k, l := range m.locks {
		if !now.Before(l.until) {
			delete(m.locks, k)
		}
	}
	for id, d := range m.deliveries {
		if d.state != deliveryFree && !now.Before(d.until) {
			d.state = deliveryFree
		}
		if d.state == deliveryFree {
			// Claim numbers come from one counter for every delivery, so
			// a later claim of id still gets a larger number.
			delete(m.deliveries, id)
		}
	}
}

func copyRecord(r Record) Record {
	r.AccessToken = bytes.Clone(r.AccessToken)
	r.RefreshToken = bytes.Clone(r.RefreshToken)
	return r
}

// Load implements Store.
func (m *Memory) Load(ctx context.Context, key Key) (Record, error) {
	if _, err := m.begin(ctx); err != nil {
		return Record{}, err
	}
	defer m.mu.Unlock()
	r, ok := m.records[key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return copyRecord(r), nil
}

// Lock implements Store.
func (m *Memory) Lock(ctx context.Context, key Key, lease time.Duration) (Lease, error) {
	if lease <= 0 {
		return Lease{}, errors.New("access: memory store: lease must be positive")
	}
	now, err := m.begin(ctx)
	if err != nil {
		return Lease{}, err
	}
	defer m.mu.Unlock()
	if l, ok := m.locks[key]; ok && now.Before(l.until) {
		return Lease{}, ErrLocked
	}
	fence := m.fences[key] + 1
	m.fences[key] = fence
	until := now.Add(lease)
	m.locks[key] = memoryLock{fence: fence, until: until}
	return Lease{Key: key, Fence: fence, Until: until}, nil
}

// Unlock implements Store.
func (m *Memory) Unlock(ctx context.Context, l Lease) error {
	if _, err := m.begin(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if cur, ok := m.locks[l.Key]; ok && cur.fence == l.Fence {
		delete(m.locks, l.Key)
	}
	return nil
}

// CompareAndSwap implements Store.
func (m *Memory) CompareAndSwap(ctx context.Context, l Lease, rec Record) error {
	if l.Key != rec.Key {
		return fmt.Errorf("access: memory store: lease of %s does not cover %s: %w", l.Key, rec.Key, ErrFenced)
	}
	if _, err := m.begin(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if m.fences[rec.Key] != l.Fence {
		return ErrFenced
	}
	if m.records[rec.Key].Version != rec.Version-1 {
		return ErrConflict
	}
	rec.AccessExpiresAt = storedTime(rec.AccessExpiresAt)
	rec.RefreshExpiresAt = storedTime(rec.RefreshExpiresAt)
	rec.UpdatedAt = storedTime(rec.UpdatedAt)
	m.records[rec.Key] = copyRecord(rec)
	return nil
}

// storedTime is t as every store keeps it: UTC Unix milliseconds, the zero
// time kept as zero. Memory rounds like the others, so that a test against
// it sees what a database gives back.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, shop string) error {
	if _, err := m.begin(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k := range m.records {
		if k.Shop == shop {
			delete(m.records, k)
		}
	}
	return nil
}

// Expiring implements Store.
func (m *Memory) Expiring(ctx context.Context, t time.Time, limit int) ([]Key, error) {
	if _, err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var due []Record
	for _, r := range m.records {
		if r.Mode == Offline && !r.IsTombstone() && !r.AccessExpiresAt.IsZero() && r.AccessExpiresAt.Before(t) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b Record) int {
		if c := a.AccessExpiresAt.Compare(b.AccessExpiresAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Key.String(), b.Key.String())
	})
	return firstKeys(due, limit), nil
}

// NonExpiring implements Store.
func (m *Memory) NonExpiring(ctx context.Context, after string, limit int) ([]Key, error) {
	if _, err := m.begin(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var found []Record
	for k, r := range m.records {
		if k.Mode == Offline && !r.IsTombstone() && r.AccessExpiresAt.IsZero() && k.String() > after {
			found = append(found, r)
		}
	}
	slices.SortFunc(found, func(a, b Record) int { return cmp.Compare(a.Key.String(), b.Key.String()) })
	return firstKeys(found, limit), nil
}

func firstKeys(rs []Record, limit int) []Key {
	if limit < 0 {
		limit = 0
	}
	rs = rs[:min(limit, len(rs))]
	keys := make([]Key, len(rs))
	for i, r := range rs {
		keys[i] = r.Key
	}
	return keys
}

// ClaimDelivery implements webhook.Deduper.
func (m *Memory) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (claim int64, done bool, err error) {
	if lease <= 0 {
		return 0, false, errors.New("access: memory store: lease must be positive")
	}
	now, err := m.begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer m.mu.Unlock()
	d := m.deliveries[id]
	if d.state != deliveryFree && now.Before(d.until) {
		return 0, d.state == deliveryDone, nil
	}
	m.claims++
	m.deliveries[id] = memoryDelivery{claim: m.claims, state: deliveryClaimed, until: now.Add(lease)}
	return m.claims, false, nil
}

// CompleteDelivery implements webhook.Deduper.
func (m *Memory) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	now, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	d := m.deliveries[id]
	d.state, d.until = deliveryDone, now.Add(retention)
	m.deliveries[id] = d
	return nil
}

// ReleaseDelivery implements webhook.Deduper.
func (m *Memory) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	if _, err := m.begin(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if d, ok := m.deliveries[id]; ok && d.state == deliveryClaimed && d.claim == claim {
		d.state = deliveryFree
		m.deliveries[id] = d
	}
	return nil
}
