package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/possession-dev/possession/access"
)

// Load implements access.Store.
func (s *Store) Load(ctx context.Context, key access.Key) (access.Record, error) {
	op := "load " + key.String()
	if err := ctx.Err(); err != nil {
		return access.Record{}, opError(op, err)
	}
	rec := access.Record{Key: key}
	var accessExp, refreshExp, updated *int64
	err := s.db.QueryRow(ctx, s.q.load, key.Shop, int16(key.Mode), key.UserID).Scan(
		&rec.Scope, &rec.AccessToken, &accessExp, &rec.RefreshToken, &refreshExp, &rec.Version, &updated)
	if isNoRows(err) {
		return access.Record{}, opError(op, access.ErrNotFound)
	}
	if err != nil {
		return access.Record{}, opError(op, err)
	}
	rec.AccessExpiresAt = fromMillis(accessExp)
	rec.RefreshExpiresAt = fromMillis(refreshExp)
	rec.UpdatedAt = fromMillis(updated)
	return rec, nil
}

// CompareAndSwap implements access.Store, in one statement: the fence
// check locks the key's lock row FOR SHARE (a concurrent Lock waits for
// the write to commit), and the write is conditional on the fence and on
// the stored version.
func (s *Store) CompareAndSwap(ctx context.Context, l access.Lease, rec access.Record) error {
	op := "compare-and-swap " + rec.Key.String()
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if l.Key != rec.Key {
		return opError(op, fmt.Errorf("lease of %s does not cover this key: %w", l.Key, access.ErrFenced))
	}
	k := rec.Key
	args := []any{
		k.Shop, int16(k.Mode), k.UserID, l.Fence,
		rec.Scope, rec.AccessToken, millis(rec.AccessExpiresAt), rec.RefreshToken, millis(rec.RefreshExpiresAt),
		rec.Version, millis(rec.UpdatedAt),
	}
	query := s.q.insert
	if rec.Version != 1 {
		query = s.q.update
		args = append(args, rec.Version-1)
	}
	var fence, written int64
	if err := s.db.QueryRow(ctx, query, args...).Scan(&fence, &written); err != nil {
		return opError(op, err)
	}
	switch {
	case fence != l.Fence:
		return opError(op, fmt.Errorf("lease %d, newest %d: %w", l.Fence, fence, access.ErrFenced))
	case written == 0:
		return opError(op, fmt.Errorf("write of version %d: %w", rec.Version, access.ErrConflict))
	}
	return nil
}

// Delete implements access.Store. Locks and their fences stay, so that a
// lease granted before the delete still cannot write over a newer one.
func (s *Store) Delete(ctx context.Context, shop string) error {
	if err := ctx.Err(); err != nil {
		return opError("delete", err)
	}
	if _, err := s.db.Exec(ctx, s.q.delete, shop); err != nil {
		return opError("delete", err)
	}
	return nil
}

// Expiring implements access.Store.
func (s *Store) Expiring(ctx context.Context, t time.Time, limit int) ([]access.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("expiring", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, s.q.expiring, ceilMillis(t), limit)
	keys, err := offlineKeys(rows, err)
	if err != nil {
		return nil, opError("expiring", err)
	}
	return keys, nil
}

// offlinePrefix is what Key.String puts before the shop of an offline key.
var offlinePrefix = access.Key{Mode: access.Offline}.String()

// NonExpiring implements access.Store. Offline keys are "offline_" + shop,
// so Key.String order is the shop column's byte order (COLLATE "C").
func (s *Store) NonExpiring(ctx context.Context, after string, limit int) ([]access.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("non-expiring", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	var rows pgx.Rows
	var err error
	switch {
	case strings.HasPrefix(after, offlinePrefix):
		lower := after[len(offlinePrefix):]
		// text cannot hold NUL. No stored shop contains one, and for
		// those, shop > p+"\x00"+rest exactly when shop > p.
		if i := strings.IndexByte(lower, 0); i >= 0 {
			lower = lower[:i]
		}
		rows, err = s.db.Query(ctx, s.q.nonExpiringAfter, limit, lower)
	case after < offlinePrefix:
		rows, err = s.db.Query(ctx, s.q.nonExpiring, limit)
	default: // after sorts after every offline key
		return nil, nil
	}
	keys, err := offlineKeys(rows, err)
	if err != nil {
		return nil, opError("non-expiring", err)
	}
	return keys, nil
}

func offlineKeys(rows pgx.Rows, err error) ([]access.Key, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (access.Key, error) {
		k := access.Key{Mode: access.Offline}
		err := row.Scan(&k.Shop)
		return k, err
	})
}
