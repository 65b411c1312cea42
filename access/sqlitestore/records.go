package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/possession-dev/possession/access"
)

// Load implements access.Store.
func (s *Store) Load(ctx context.Context, key access.Key) (access.Record, error) {
	row := s.db.QueryRowContext(ctx, `
SELECT scope, access_token, access_token IS NOT NULL, access_expires_ms,
	refresh_token, refresh_token IS NOT NULL, refresh_expires_ms, version, updated_ms
FROM possession_records WHERE shop = ? AND mode = ? AND user_id = ?`,
		key.Shop, int64(key.Mode), key.UserID)
	rec := access.Record{Key: key}
	var accessExp, refreshExp, updated sql.NullInt64
	var hasAccess, hasRefresh bool
	err := row.Scan(&rec.Scope, &rec.AccessToken, &hasAccess, &accessExp,
		&rec.RefreshToken, &hasRefresh, &refreshExp, &rec.Version, &updated)
	if isNoRows(err) {
		return access.Record{}, fmt.Errorf("sqlitestore: load %s: %w", key, access.ErrNotFound)
	}
	if err != nil {
		return access.Record{}, opError("load "+key.String(), err)
	}
	// A zero-length BLOB reads back as nil; the record had an empty,
	// non-nil token.
	if hasAccess && rec.AccessToken == nil {
		rec.AccessToken = []byte{}
	}
	if hasRefresh && rec.RefreshToken == nil {
		rec.RefreshToken = []byte{}
	}
	rec.AccessExpiresAt = fromMillis(accessExp)
	rec.RefreshExpiresAt = fromMillis(refreshExp)
	rec.UpdatedAt = fromMillis(updated)
	return rec, nil
}

// CompareAndSwap implements access.Store. The fence check, the version
// check and the write are one transaction under SQLite's write lock.
func (s *Store) CompareAndSwap(ctx context.Context, l access.Lease, rec access.Record) error {
	op := "compare-and-swap " + rec.Key.String()
	if l.Key != rec.Key {
		return opError(op, fmt.Errorf("lease of %s does not cover this key: %w", l.Key, access.ErrFenced))
	}
	k := rec.Key
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var fence int64
		err := tx.QueryRowContext(ctx,
			`SELECT fence FROM possession_locks WHERE shop = ? AND mode = ? AND user_id = ?`,
			k.Shop, int64(k.Mode), k.UserID).Scan(&fence)
		if err != nil && !isNoRows(err) {
			return err
		}
		if fence != l.Fence {
			return fmt.Errorf("lease %d, newest %d: %w", l.Fence, fence, access.ErrFenced)
		}
		var version int64
		err = tx.QueryRowContext(ctx,
			`SELECT version FROM possession_records WHERE shop = ? AND mode = ? AND user_id = ?`,
			k.Shop, int64(k.Mode), k.UserID).Scan(&version)
		if err != nil && !isNoRows(err) {
			return err
		}
		if version != rec.Version-1 {
			return fmt.Errorf("stored version %d, write of %d: %w", version, rec.Version, access.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `
INSERT OR REPLACE INTO possession_records
	(shop, mode, user_id, scope, access_token, access_expires_ms, refresh_token, refresh_expires_ms, version, updated_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.Shop, int64(k.Mode), k.UserID, rec.Scope, rec.AccessToken, millis(rec.AccessExpiresAt),
			rec.RefreshToken, millis(rec.RefreshExpiresAt), rec.Version, millis(rec.UpdatedAt))
		return err
	})
}

// Delete implements access.Store. Locks and their fences stay, so that a
// lease granted before the delete still cannot write over a newer one.
func (s *Store) Delete(ctx context.Context, shop string) error {
	return s.write(ctx, "delete", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM possession_records WHERE shop = ?`, shop)
		return err
	})
}

// Expiring implements access.Store.
func (s *Store) Expiring(ctx context.Context, t time.Time, limit int) ([]access.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("expiring", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT shop FROM possession_records
WHERE mode = 1 AND access_expires_ms IS NOT NULL AND access_expires_ms < ?
	AND length(access_token) > 0
ORDER BY access_expires_ms, shop LIMIT ?`, ceilMillis(t), limit)
	if err != nil {
		return nil, opError("expiring", err)
	}
	keys, err := offlineKeys(rows, limit)
	if err != nil {
		return nil, opError("expiring", err)
	}
	return keys, nil
}

// NonExpiring implements access.Store.
func (s *Store) NonExpiring(ctx context.Context, after string, limit int) ([]access.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("non-expiring", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	// Offline keys are "offline_" + shop, so Key.String order is shop
	// order; SQLite compares TEXT bytewise, as Go compares strings.
	lower, bounded, none := shopAfter(after)
	if none {
		return nil, nil
	}
	query := `SELECT shop FROM possession_records WHERE mode = 1 AND access_expires_ms IS NULL AND length(access_token) > 0`
	args := []any{}
	if bounded {
		query += ` AND shop > ?`
		args = append(args, lower)
	}
	query += ` ORDER BY shop LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, opError("non-expiring", err)
	}
	keys, err := offlineKeys(rows, limit)
	if err != nil {
		return nil, opError("non-expiring", err)
	}
	return keys, nil
}

// offlinePrefix is what Key.String puts before the shop of an offline key.
var offlinePrefix = access.Key{Mode: access.Offline}.String()

// shopAfter turns NonExpiring's after (a Key.String) into a bound on the
// shop column: shops greater than lower when bounded, every shop when
// not, and none at all when after sorts after every offline key.
func shopAfter(after string) (lower string, bounded, none bool) {
	switch {
	case strings.HasPrefix(after, offlinePrefix):
		return after[len(offlinePrefix):], true, false
	case after < offlinePrefix:
		return "", false, false
	default:
		return "", false, true
	}
}

func offlineKeys(rows *sql.Rows, limit int) ([]access.Key, error) {
	defer rows.Close()
	keys := make([]access.Key, 0, min(limit, 64))
	for rows.Next() {
		k := access.Key{Mode: access.Offline}
		if err := rows.Scan(&k.Shop); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return keys, nil
}
