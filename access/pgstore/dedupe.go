package pgstore

import (
	"context"
	"time"
)

// sweepEvery is how many claims (of this Store) pass between sweeps of
// ended claims and done records, sweepBatch how many rows one sweep
// deletes at most.
const (
	sweepEvery = 32
	sweepBatch = 256
)

// ClaimDelivery implements webhook.Deduper, in one transaction: insert a
// claim if the id is new; otherwise lock its row and take it over only if
// its claim or retention has ended. Claim numbers come from a sequence,
// so they grow across ids and sweeps.
func (s *Store) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (claim int64, done bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, opError("claim delivery", err)
	}
	ms, err := durationMillis("lease", lease)
	if err != nil {
		return 0, false, opError("claim delivery", err)
	}
	if s.claims.Add(1)%sweepEvery == 0 {
		if _, err := s.db.Exec(ctx, s.q.sweep, sweepBatch); err != nil {
			return 0, false, opError("claim delivery: sweep", err)
		}
	}
	claim, done, err = s.claim(ctx, id, ms)
	if err != nil {
		return 0, false, opError("claim delivery", err)
	}
	return claim, done, nil
}

func (s *Store) claim(ctx context.Context, id string, leaseMs int64) (int64, bool, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback(ctx)
	// A row released between the insert and the select is gone: try
	// again (twice is plenty; each round sees a newer state).
	for range 3 {
		var claim int64
		err := tx.QueryRow(ctx, s.q.claimInsert, id, leaseMs).Scan(&claim)
		if err == nil {
			return claim, false, tx.Commit(ctx)
		}
		if !isNoRows(err) {
			return 0, false, err
		}
		var done, live bool
		err = tx.QueryRow(ctx, s.q.claimSelect, id).Scan(&done, &live)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		if live {
			return 0, done, tx.Commit(ctx)
		}
		if err := tx.QueryRow(ctx, s.q.claimUpdate, id, leaseMs).Scan(&claim); err != nil {
			return 0, false, err
		}
		return claim, false, tx.Commit(ctx)
	}
	// Claimed and released over and over meanwhile: as good as busy.
	return 0, false, tx.Commit(ctx)
}

// CompleteDelivery implements webhook.Deduper. A retention of zero or less
// forgets id at once.
func (s *Store) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	if err := ctx.Err(); err != nil {
		return opError("complete delivery", err)
	}
	var err error
	if retention <= 0 {
		_, err = s.db.Exec(ctx, s.q.forget, id)
	} else {
		ms, _ := durationMillis("retention", retention)
		_, err = s.db.Exec(ctx, s.q.complete, id, claim, ms)
	}
	if err != nil {
		return opError("complete delivery", err)
	}
	return nil
}

// ReleaseDelivery implements webhook.Deduper.
func (s *Store) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	if err := ctx.Err(); err != nil {
		return opError("release delivery", err)
	}
	if _, err := s.db.Exec(ctx, s.q.release, id, claim); err != nil {
		return opError("release delivery", err)
	}
	return nil
}
