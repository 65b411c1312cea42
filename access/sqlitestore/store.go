package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/possession-dev/possession/access"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Store is an access.Store and a webhook.Deduper in one SQLite file. It is
// safe for concurrent use by the goroutines of a process and by several
// processes opening the same file on one machine.
type Store struct {
	db     *sql.DB // reads: several connections (WAL readers never wait)
	wdb    *sql.DB // writes: one connection, so this process's writers queue here
	now    func() time.Time
	claims atomic.Uint64 // claims made by this Store, to pace the sweep
}

var _ access.Store = (*Store)(nil)

// Open opens (creating if needed) the store in the SQLite file at path,
// in WAL mode, and creates or migrates its schema. Close it when done.
//
// Several processes may open the same file: every write takes SQLite's
// write lock up front (BEGIN IMMEDIATE) and waits for it up to the busy
// timeout, and readers never block writers. The file must be on a local
// file system (WAL needs shared memory between the processes; it does not
// work over NFS).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalidArgument)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", c.busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+c.synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// One write connection: this process's writers wait their turn in
	// database/sql's queue (bounded by their contexts) instead of all
	// polling SQLite's write lock, which starves some of them past the
	// busy timeout under load. Other processes still wait for the lock
	// through the busy timeout, one writer each.
	wdb.SetMaxOpenConns(1)
	s := &Store{db: db, wdb: wdb, now: c.now}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database. Locks this Store holds stay held until their
// leases end.
func (s *Store) Close() error {
	return errors.Join(s.wdb.Close(), s.db.Close())
}

// migrations are applied in order; PRAGMA user_version counts how many a
// file has. A migration is never changed once released: a new one is
// appended.
var migrations = []string{
	// 1: records, locks, deliveries, counters.
	`
CREATE TABLE possession_records (
	shop               TEXT    NOT NULL,
	mode               INTEGER NOT NULL,
	user_id            TEXT    NOT NULL,
	scope              TEXT    NOT NULL,
	access_token       BLOB,
	access_expires_ms  INTEGER,
	refresh_token      BLOB,
	refresh_expires_ms INTEGER,
	version            INTEGER NOT NULL,
	updated_ms         INTEGER,
	PRIMARY KEY (shop, mode, user_id)
);
CREATE INDEX possession_records_expiring ON possession_records (access_expires_ms)
	WHERE mode = 1 AND access_expires_ms IS NOT NULL;
CREATE INDEX possession_records_nonexpiring ON possession_records (shop)
	WHERE mode = 1 AND access_expires_ms IS NULL;
CREATE TABLE possession_locks (
	shop       TEXT    NOT NULL,
	mode       INTEGER NOT NULL,
	user_id    TEXT    NOT NULL,
	fence      INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL,
	PRIMARY KEY (shop, mode, user_id)
);
CREATE TABLE possession_deliveries (
	id         TEXT    NOT NULL PRIMARY KEY,
	claim      INTEGER NOT NULL,
	done       INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL
);
CREATE INDEX possession_deliveries_expiry ON possession_deliveries (expires_ms);
CREATE TABLE possession_counters (
	name  TEXT    NOT NULL PRIMARY KEY,
	value INTEGER NOT NULL
);
INSERT INTO possession_counters (name, value) VALUES ('delivery_claim', 0);
`,
}

// migrate brings the file's schema to len(migrations), in one write
// transaction: processes opening a new file at once serialise on SQLite's
// write lock, the first migrates, the others find it done.
func (s *Store) migrate(ctx context.Context) error {
	return s.write(ctx, "migrate", func(tx *sql.Tx) error {
		var have int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("%w: version %d, this package knows %d", ErrSchemaTooNew, have, len(migrations))
		}
		for i := have; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if have == len(migrations) {
			return nil
		}
		// PRAGMA takes no parameters; the value is our own integer.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations)))
		return err
	})
}

// write runs f in a transaction that holds SQLite's write lock from its
// first statement (BEGIN IMMEDIATE, from the DSN's _txlock), so that what
// f reads cannot change before it writes, in this process or another. An
// error from f rolls back; sentinel errors pass through wrapped.
func (s *Store) write(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return opError(op, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return opError(op, err)
	}
	if err := tx.Commit(); err != nil {
		return opError(op, err)
	}
	return nil
}

func opError(op string, err error) error {
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// millis is t as the store keeps it, UTC Unix milliseconds; the zero time
// is NULL.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// ceilMillis is the smallest whole millisecond not before t: a stored
// millisecond m is before t exactly when m < ceilMillis(t).
func ceilMillis(t time.Time) int64 {
	m := t.UnixMilli() // truncates toward zero
	if time.UnixMilli(m).Before(t) {
		m++
	}
	return m
}

// positive checks a lease or retention argument.
func positive(what string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: %s %v, want more than 0", ErrInvalidArgument, what, d)
	}
	return nil
}

// isNoRows reports whether err is database/sql's empty result.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
