package sqlitestore

import (
	"context"
	"database/sql"
	"time"
)

// sweepEvery is how many claims (of this Store) pass between sweeps of
// ended claims and done records, sweepBatch how many rows one sweep
// deletes at most: the table stays bounded by the deliveries of one
// retention window, and no single write holds the lock for long.
const (
	sweepEvery = 32
	sweepBatch = 256
)

// ClaimDelivery implements webhook.Deduper: a read, and when that finds
// the id free, a write transaction that checks again and claims it.
// Claim numbers come from one counter for the whole file, so they grow
// across ids and sweeps.
func (s *Store) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (claim int64, done bool, err error) {
	if err := positive("lease", lease); err != nil {
		return 0, false, opError("claim delivery", err)
	}
	// A live claim or done record answers without the write lock: most
	// of Shopify's duplicate copies and retries meet one.
	var isDone bool
	var expires int64
	err = s.db.QueryRowContext(ctx,
		`SELECT done, expires_ms FROM possession_deliveries WHERE id = ?`, id).Scan(&isDone, &expires)
	switch {
	case err == nil && s.now().UnixMilli() < expires:
		return 0, isDone, nil
	case err != nil && !isNoRows(err):
		return 0, false, opError("claim delivery", err)
	}
	sweep := s.claims.Add(1)%sweepEvery == 0
	err = s.write(ctx, "claim delivery", func(tx *sql.Tx) error {
		now := s.now()
		nowMs := now.UnixMilli()
		if sweep {
			if _, err := tx.ExecContext(ctx, `
DELETE FROM possession_deliveries WHERE rowid IN (
	SELECT rowid FROM possession_deliveries WHERE expires_ms <= ? LIMIT ?)`, nowMs, sweepBatch); err != nil {
				return err
			}
		}
		var isDone bool
		var expires int64
		err := tx.QueryRowContext(ctx,
			`SELECT done, expires_ms FROM possession_deliveries WHERE id = ?`, id).Scan(&isDone, &expires)
		if err != nil && !isNoRows(err) {
			return err
		}
		if err == nil && nowMs < expires {
			done = isDone
			return nil
		}
		if err := tx.QueryRowContext(ctx, `
UPDATE possession_counters SET value = value + 1 WHERE name = 'delivery_claim' RETURNING value`).Scan(&claim); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
INSERT INTO possession_deliveries (id, claim, done, expires_ms) VALUES (?, ?, 0, ?)
ON CONFLICT (id) DO UPDATE SET claim = excluded.claim, done = 0, expires_ms = excluded.expires_ms`,
			id, claim, ceilMillis(now.Add(lease)))
		return err
	})
	if err != nil {
		return 0, false, err
	}
	return claim, done, nil
}

// CompleteDelivery implements webhook.Deduper. A retention of zero or less
// forgets id at once.
func (s *Store) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	return s.write(ctx, "complete delivery", func(tx *sql.Tx) error {
		if retention <= 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM possession_deliveries WHERE id = ?`, id)
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO possession_deliveries (id, claim, done, expires_ms) VALUES (?, ?, 1, ?)
ON CONFLICT (id) DO UPDATE SET done = 1, expires_ms = excluded.expires_ms`,
			id, claim, ceilMillis(s.now().Add(retention)))
		return err
	})
}

// ReleaseDelivery implements webhook.Deduper.
func (s *Store) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	return s.write(ctx, "release delivery", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`DELETE FROM possession_deliveries WHERE id = ? AND claim = ? AND done = 0`, id, claim)
		return err
	})
}
