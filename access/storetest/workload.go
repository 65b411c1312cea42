package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/possession-dev/possession/access"
)

// Workload is a stream of locked increments of one key from several store
// clients, as a fleet refreshing one shop's token would write: each writer
// takes the lock, loads the record, writes the next version with
// CompareAndSwap and unlocks, again and again. Tests restart or kill the
// backend underneath it and then check that nothing acknowledged was lost
// and nothing torn or stale was ever read.
type Workload struct {
	key    access.Key
	cancel context.CancelFunc
	wg     sync.WaitGroup

	acked     atomic.Int64 // the highest version a CompareAndSwap acknowledged
	writes    atomic.Int64 // acknowledged writes
	errs      atomic.Int64 // calls that failed with an error that is not a sentinel
	fenced    atomic.Int64 // writes refused with ErrFenced (a lease ended in an outage)
	mu        sync.Mutex
	anomalies []error // what must never happen
}

// WorkloadStats is what a Workload saw.
type WorkloadStats struct {
	// Acked is the highest version a CompareAndSwap acknowledged; Writes
	// how many writes were acknowledged.
	Acked, Writes int64
	// Errors counts calls that failed with an error other than the
	// store's sentinels (the backend was down); Fenced, writes refused
	// because the writer's lease ended while it could not write.
	Errors, Fenced int64
	// Anomalies is what must never happen: a torn or corrupted record, a
	// record older than one already acknowledged (a stale read), a
	// version conflict under a held lock.
	Anomalies []error
}

// StartWorkload starts one writer per client on key, with leases of lease.
// A writer whose call fails waits a little and starts over; Stop ends the
// writers.
func StartWorkload(clients []access.Store, key access.Key, lease time.Duration) *Workload {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workload{key: key, cancel: cancel}
	for _, s := range clients {
		w.wg.Go(func() { w.writer(ctx, s, lease) })
	}
	return w
}

func (w *Workload) anomaly(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.anomalies) < 20 {
		w.anomalies = append(w.anomalies, err)
	}
}

// failed counts err and pauses, unless the workload is stopping.
func (w *Workload) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	switch {
	case errors.Is(err, access.ErrLocked):
	case errors.Is(err, access.ErrFenced):
		w.fenced.Add(1)
	case errors.Is(err, access.ErrConflict):
		w.anomaly(fmt.Errorf("version conflict under a held lock: %w", err))
	default:
		w.errs.Add(1)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Millisecond):
	}
}

func (w *Workload) writer(ctx context.Context, s access.Store, lease time.Duration) {
	for ctx.Err() == nil {
		l, err := s.Lock(ctx, w.key, lease)
		if err != nil {
			w.failed(ctx, err)
			continue
		}
		floor := w.acked.Load()
		cur, err := s.Load(ctx, w.key)
		switch {
		case errors.Is(err, access.ErrNotFound):
			cur = access.Record{Key: w.key}
		case err != nil:
			w.failed(ctx, err)
			continue // the lease ends by itself
		default:
			if err := Consistent(cur); err != nil {
				w.anomaly(fmt.Errorf("loaded a torn record at version %d: %w", cur.Version, err))
			}
		}
		if cur.Version < floor {
			w.anomaly(fmt.Errorf("stale read: loaded version %d after version %d was acknowledged", cur.Version, floor))
		}
		next := record(w.key, cur.Version+1)
		if err := s.CompareAndSwap(ctx, l, next); err != nil {
			w.failed(ctx, err)
			continue
		}
		w.writes.Add(1)
		for a := w.acked.Load(); next.Version > a && !w.acked.CompareAndSwap(a, next.Version); a = w.acked.Load() {
		}
		if err := s.Unlock(ctx, l); err != nil {
			w.failed(ctx, err)
		}
	}
}

// Acked returns the highest version acknowledged so far.
func (w *Workload) Acked() int64 { return w.acked.Load() }

// WaitWrites waits until n more writes than now have been acknowledged,
// or ctx ends.
func (w *Workload) WaitWrites(ctx context.Context, n int64) error {
	target := w.writes.Load() + n
	for w.writes.Load() < target {
		select {
		case <-ctx.Done():
			return fmt.Errorf("storetest: %d of %d writes acknowledged: %w", n-(target-w.writes.Load()), n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Stop ends the writers, waits for them and returns what they saw.
func (w *Workload) Stop() WorkloadStats {
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return WorkloadStats{
		Acked: w.acked.Load(), Writes: w.writes.Load(),
		Errors: w.errs.Load(), Fenced: w.fenced.Load(),
		Anomalies: append([]error(nil), w.anomalies...),
	}
}

// CheckRecord loads key from s and checks that the record is whole and
// holds at least version acked: nothing acknowledged was lost.
func CheckRecord(ctx context.Context, s access.Store, key access.Key, acked int64) error {
	rec, err := s.Load(ctx, key)
	if errors.Is(err, access.ErrNotFound) && acked == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storetest: load %s: %w", key, err)
	}
	if err := Consistent(rec); err != nil {
		return fmt.Errorf("storetest: %s at version %d is torn: %w", key, rec.Version, err)
	}
	if rec.Version < acked {
		return fmt.Errorf("storetest: %s at version %d, but version %d was acknowledged: a write was lost", key, rec.Version, acked)
	}
	return nil
}
