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

// ClaimDelivery implements webhook.Deduper without a transaction, each
// statement atomic on its own: insert a claim if the id is new (the common
// case, one round trip); otherwise read the row, and take it over with an
// update conditional on its claim or retention having ended. Claim
// numbers come from a sequence, so they grow across ids and sweeps.
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
	// Each round sees a newer state; a row that was released, completed
	// or taken over between two statements sends it round again.
	for range 4 {
		var claim int64
		err := s.db.QueryRow(ctx, s.q.claimInsert, id, leaseMs).Scan(&claim)
		if err == nil {
			return claim, false, nil
		}
		if !isNoRows(err) {
			return 0, false, err
		}
		var done, live bool
		err = s.db.QueryRow(ctx, s.q.claimRead, id).Scan(&done, &live)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		if live {
			return 0, done, nil
		}
		// The update waits for a concurrent writer of the row and then
		// checks again that it has ended (READ COMMITTED re-evaluates
		// the condition on the newest row).
		err = s.db.QueryRow(ctx, s.q.claimTakeover, id, leaseMs).Scan(&claim)
		if err == nil {
			return claim, false, nil
		}
		if !isNoRows(err) {
			return 0, false, err
		}
	}
	// Claimed and settled over and over meanwhile: as good as busy.
	return 0, false, nil
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
