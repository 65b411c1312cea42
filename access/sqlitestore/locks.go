package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/possession-dev/possession/access"
)

// Lock implements access.Store. A lock is a row holding the key's newest
// fence and when its lease ends; the row stays after Unlock (with its
// lease ended) so the fence keeps growing. Leases are measured with the
// store's clock, which all processes on the machine share.
func (s *Store) Lock(ctx context.Context, key access.Key, lease time.Duration) (access.Lease, error) {
	op := "lock " + key.String()
	if err := positive("lease", lease); err != nil {
		return access.Lease{}, opError(op, err)
	}
	var granted access.Lease
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		now := s.now()
		var fence, expires int64
		err := tx.QueryRowContext(ctx,
			`SELECT fence, expires_ms FROM possession_locks WHERE shop = ? AND mode = ? AND user_id = ?`,
			key.Shop, int64(key.Mode), key.UserID).Scan(&fence, &expires)
		if err != nil && !isNoRows(err) {
			return err
		}
		if now.UnixMilli() < expires {
			return access.ErrLocked
		}
		until := now.Add(lease)
		fence++
		if _, err := tx.ExecContext(ctx, `
INSERT INTO possession_locks (shop, mode, user_id, fence, expires_ms) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (shop, mode, user_id) DO UPDATE SET fence = excluded.fence, expires_ms = excluded.expires_ms`,
			key.Shop, int64(key.Mode), key.UserID, fence, ceilMillis(until)); err != nil {
			return err
		}
		granted = access.Lease{Key: key, Fence: fence, Until: until}
		return nil
	})
	if err != nil {
		return access.Lease{}, err
	}
	return granted, nil
}

// Unlock implements access.Store.
func (s *Store) Unlock(ctx context.Context, l access.Lease) error {
	return s.write(ctx, "unlock "+l.Key.String(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
UPDATE possession_locks SET expires_ms = 0
WHERE shop = ? AND mode = ? AND user_id = ? AND fence = ?`,
			l.Key.Shop, int64(l.Key.Mode), l.Key.UserID, l.Fence)
		return err
	})
}
