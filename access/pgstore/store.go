package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/possession-dev/possession/access"
)

// DB is what the store needs of a PostgreSQL connection: a *pgxpool.Pool
// provides it. (A single *pgx.Conn does too, but is not safe for
// concurrent use.)
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Store is an access.Store and a webhook.Deduper on PostgreSQL, for a
// fleet of instances sharing one database. It is safe for concurrent use.
type Store struct {
	db     DB
	q      queries
	claims atomic.Uint64 // claims made by this Store, to pace the sweep
}

var _ access.Store = (*Store)(nil)

// New returns a store on db, after creating or migrating its tables. Any
// number of instances may call New at once: migrations run under an
// advisory lock, once. The pool stays the caller's to configure and close.
func New(ctx context.Context, db DB, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("%w: nil database", ErrInvalidArgument)
	}
	s := &Store{db: db, q: newQueries(pgx.Identifier{c.schema}.Sanitize())}
	if err := s.migrate(ctx, c.schema); err != nil {
		return nil, err
	}
	return s, nil
}

// migrations are applied in order, each recorded in
// possession_schema_migrations (named so as not to collide with the
// application's own schema_migrations). A migration is never changed once
// released: a new one is appended. {s} is the schema.
var migrations = []string{
	// 1: records, locks, deliveries. Keys and ids compare bytewise
	// (COLLATE "C"): NonExpiring pages in Key.String byte order whatever
	// the database's collation.
	`
CREATE TABLE {s}.possession_records (
	shop               text COLLATE "C" NOT NULL,
	mode               smallint NOT NULL,
	user_id            text COLLATE "C" NOT NULL,
	scope              text NOT NULL,
	access_token       bytea,
	access_expires_ms  bigint,
	refresh_token      bytea,
	refresh_expires_ms bigint,
	version            bigint NOT NULL,
	updated_ms         bigint,
	PRIMARY KEY (shop, mode, user_id)
);
CREATE INDEX possession_records_expiring ON {s}.possession_records (access_expires_ms, shop)
	WHERE mode = 1 AND access_expires_ms IS NOT NULL;
CREATE INDEX possession_records_nonexpiring ON {s}.possession_records (shop)
	WHERE mode = 1 AND access_expires_ms IS NULL;
CREATE TABLE {s}.possession_locks (
	shop       text COLLATE "C" NOT NULL,
	mode       smallint NOT NULL,
	user_id    text COLLATE "C" NOT NULL,
	fence      bigint NOT NULL,
	expires_ms bigint NOT NULL,
	PRIMARY KEY (shop, mode, user_id)
);
CREATE TABLE {s}.possession_deliveries (
	id         text COLLATE "C" PRIMARY KEY,
	claim      bigint NOT NULL,
	done       boolean NOT NULL,
	expires_ms bigint NOT NULL
);
CREATE INDEX possession_deliveries_expiry ON {s}.possession_deliveries (expires_ms);
CREATE SEQUENCE {s}.possession_delivery_claims;
`,
}

// migrate creates the schema and applies the missing migrations, all in
// one transaction holding a transaction-level advisory lock, so that
// instances starting at once wait for the first and then find the work
// done; a failed migration rolls back whole.
func (s *Store) migrate(ctx context.Context, schema string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return opError("migrate", err)
	}
	defer tx.Rollback(ctx)
	h := fnv.New64a()
	h.Write([]byte("possession-dev/possession/pgstore:" + schema))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return opError("migrate: advisory lock", err)
	}
	sch := pgx.Identifier{schema}.Sanitize()
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+sch+`;
CREATE TABLE IF NOT EXISTS `+sch+`.possession_schema_migrations (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return opError("migrate", err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM `+sch+`.possession_schema_migrations`).Scan(&have); err != nil {
		return opError("migrate", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: version %d, this package knows %d", ErrSchemaTooNew, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, strings.ReplaceAll(migrations[v-1], "{s}", sch)); err != nil {
			return opError(fmt.Sprintf("migration %d", v), err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+sch+`.possession_schema_migrations (version) VALUES ($1)`, v); err != nil {
			return opError(fmt.Sprintf("migration %d", v), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return opError("migrate", err)
	}
	return nil
}

// Times of leases and deliveries are the database's clock, so that every
// instance of the fleet measures them alike: floor for now, ceil for the
// start of a lease, so a lease never ends early.
const (
	nowMs   = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`
	startMs = `ceil(extract(epoch FROM clock_timestamp()) * 1000)::bigint`
)

// queries are the statements, with the schema filled in once.
type queries struct {
	load, insert, update, delete, expiring, nonExpiring, nonExpiringAfter string
	lock, unlock                                                          string
	claimInsert, claimRead, claimTakeover, complete, forget, release      string
	sweep                                                                 string
}

func newQueries(sch string) queries {
	r := func(q string) string {
		q = strings.ReplaceAll(q, "{s}", sch)
		q = strings.ReplaceAll(q, "{now}", nowMs)
		return strings.ReplaceAll(q, "{start}", startMs)
	}
	// The fence check of a write: the key's lock row, locked FOR SHARE so
	// that no Lock can grant a newer fence until the write commits (and
	// read at its newest, as READ COMMITTED does for a locking read).
	const lockRow = `lk AS (SELECT fence FROM {s}.possession_locks WHERE shop = $1 AND mode = $2 AND user_id = $3 FOR SHARE)`
	return queries{
		load: r(`SELECT scope, access_token, access_expires_ms, refresh_token, refresh_expires_ms, version, updated_ms
FROM {s}.possession_records WHERE shop = $1 AND mode = $2 AND user_id = $3`),
		insert: r(`WITH ` + lockRow + `, w AS (
	INSERT INTO {s}.possession_records
		(shop, mode, user_id, scope, access_token, access_expires_ms, refresh_token, refresh_expires_ms, version, updated_ms)
	SELECT $1, $2, $3, $5, $6, $7, $8, $9, $10, $11
	WHERE COALESCE((SELECT fence FROM lk), 0) = $4
	ON CONFLICT (shop, mode, user_id) DO NOTHING
	RETURNING 1
)
SELECT COALESCE((SELECT fence FROM lk), 0), (SELECT count(*) FROM w)`),
		update: r(`WITH ` + lockRow + `, w AS (
	UPDATE {s}.possession_records SET scope = $5, access_token = $6, access_expires_ms = $7,
		refresh_token = $8, refresh_expires_ms = $9, version = $10, updated_ms = $11
	WHERE shop = $1 AND mode = $2 AND user_id = $3 AND version = $12
		AND COALESCE((SELECT fence FROM lk), 0) = $4
	RETURNING 1
)
SELECT COALESCE((SELECT fence FROM lk), 0), (SELECT count(*) FROM w)`),
		delete: r(`DELETE FROM {s}.possession_records WHERE shop = $1`),
		expiring: r(`SELECT shop FROM {s}.possession_records
WHERE mode = 1 AND access_expires_ms IS NOT NULL AND access_expires_ms < $1
	AND octet_length(access_token) > 0
ORDER BY access_expires_ms, shop LIMIT $2`),
		nonExpiring: r(`SELECT shop FROM {s}.possession_records
WHERE mode = 1 AND access_expires_ms IS NULL AND octet_length(access_token) > 0
ORDER BY shop LIMIT $1`),
		nonExpiringAfter: r(`SELECT shop FROM {s}.possession_records
WHERE mode = 1 AND access_expires_ms IS NULL AND octet_length(access_token) > 0 AND shop > $2
ORDER BY shop LIMIT $1`),
		lock: r(`INSERT INTO {s}.possession_locks AS l (shop, mode, user_id, fence, expires_ms)
VALUES ($1, $2, $3, 1, {start} + $4)
ON CONFLICT (shop, mode, user_id) DO UPDATE SET fence = l.fence + 1, expires_ms = EXCLUDED.expires_ms
WHERE l.expires_ms <= {now}
RETURNING fence`),
		unlock: r(`UPDATE {s}.possession_locks SET expires_ms = 0
WHERE shop = $1 AND mode = $2 AND user_id = $3 AND fence = $4`),
		claimInsert: r(`INSERT INTO {s}.possession_deliveries (id, claim, done, expires_ms)
VALUES ($1, nextval('{s}.possession_delivery_claims'), false, {start} + $2)
ON CONFLICT (id) DO NOTHING RETURNING claim`),
		claimRead: r(`SELECT done, expires_ms > {now} FROM {s}.possession_deliveries WHERE id = $1`),
		claimTakeover: r(`UPDATE {s}.possession_deliveries
SET claim = nextval('{s}.possession_delivery_claims'), done = false, expires_ms = {start} + $2
WHERE id = $1 AND expires_ms <= {now} RETURNING claim`),
		complete: r(`INSERT INTO {s}.possession_deliveries (id, claim, done, expires_ms) VALUES ($1, $2, true, {start} + $3)
ON CONFLICT (id) DO UPDATE SET done = true, expires_ms = EXCLUDED.expires_ms`),
		forget:  r(`DELETE FROM {s}.possession_deliveries WHERE id = $1`),
		release: r(`DELETE FROM {s}.possession_deliveries WHERE id = $1 AND claim = $2 AND NOT done`),
		sweep: r(`DELETE FROM {s}.possession_deliveries WHERE id IN (
	SELECT id FROM {s}.possession_deliveries WHERE expires_ms <= {now} LIMIT $1 FOR UPDATE SKIP LOCKED)`),
	}
}

func opError(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// millis is t as the store keeps it, UTC Unix milliseconds; the zero time
// is NULL.
func millis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	m := t.UnixMilli()
	return &m
}

func fromMillis(m *int64) time.Time {
	if m == nil {
		return time.Time{}
	}
	return time.UnixMilli(*m).UTC()
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

// durationMillis rounds d up to whole milliseconds: a lease never ends
// before it was asked to.
func durationMillis(what string, d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("%w: %s %v, want more than 0", ErrInvalidArgument, what, d)
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
