package pgstore

import (
	"context"
	"time"

	"github.com/possession-dev/possession/access"
)

// Lock implements access.Store. A lock is a row holding the key's newest
// fence and when its lease ends, by the database's clock; one upsert
// takes it when the lease has ended and draws the next fence. The row
// stays after Unlock (with its lease ended), so fences keep growing.
// Until is this machine's clock before the call plus the lease, so it
// never claims more than the database grants.
func (s *Store) Lock(ctx context.Context, key access.Key, lease time.Duration) (access.Lease, error) {
	op := "lock " + key.String()
	if err := ctx.Err(); err != nil {
		return access.Lease{}, opError(op, err)
	}
	ms, err := durationMillis("lease", lease)
	if err != nil {
		return access.Lease{}, opError(op, err)
	}
	start := time.Now()
	var fence int64
	err = s.db.QueryRow(ctx, s.q.lock, key.Shop, int16(key.Mode), key.UserID, ms).Scan(&fence)
	if isNoRows(err) {
		return access.Lease{}, opError(op, access.ErrLocked)
	}
	if err != nil {
		return access.Lease{}, opError(op, err)
	}
	return access.Lease{Key: key, Fence: fence, Until: start.Add(lease)}, nil
}

// Unlock implements access.Store.
func (s *Store) Unlock(ctx context.Context, l access.Lease) error {
	op := "unlock " + l.Key.String()
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if _, err := s.db.Exec(ctx, s.q.unlock, l.Key.Shop, int16(l.Key.Mode), l.Key.UserID, l.Fence); err != nil {
		return opError(op, err)
	}
	return nil
}
