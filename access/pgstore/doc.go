// Package pgstore is an access.Store (and webhook.Deduper) on PostgreSQL,
// for a fleet of instances that share a database: the fleet-wide lock
// that makes a shop's expiring offline token refresh once, the fenced
// compare-and-swap that stores the new pair, and webhook deduplication.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	store, err := pgstore.New(ctx, pool)
//	manager, err := access.New(clientID, secret, store)
//
// # Tables and migrations
//
// New creates its tables (possession_records, possession_locks,
// possession_deliveries and a sequence, in the schema WithSchema names,
// "public" by default) and applies the migrations they lack. Applied
// migrations are rows of possession_schema_migrations; they run in one
// transaction under a transaction-level advisory lock, so instances
// starting at once migrate once and a failed migration leaves nothing
// half done. A schema migrated by a newer release is refused with
// ErrSchemaTooNew rather than misread. Keys compare bytewise (COLLATE
// "C") whatever the database's collation, so NonExpiring pages in
// Key.String order.
//
// # Locks and fences: rows, not advisory locks
//
// A lock is a row: the key's newest fence and when its lease ends, by the
// database's clock, so every instance measures leases alike. One upsert
// takes the lock only when the lease has ended and draws the next fence;
// the row stays after Unlock, and Delete never touches it, so fences keep
// growing. Advisory locks were the other choice, and the wrong one here:
// they belong to a session, so a pooled connection would hold a shop's
// lock for as long as the pool keeps it open, they have no lease that
// ends by itself when a holder stalls (only when its connection dies),
// and they carry no fence to refuse a stalled holder's write with.
//
// CompareAndSwap is one statement: it reads the key's lock row FOR SHARE
// (so no Lock can grant a newer fence until the write commits) and writes
// only if that fence is the lease's and the stored version is the one
// before; the result tells ErrFenced from ErrConflict.
//
// Records are rows with a column per Record field; times are UTC Unix
// milliseconds (bigint), NULL for the zero time; tokens are the sealed
// bytes the Manager gives (bytea).
//
// # Webhook deduplication
//
// A delivery is a row: its claim number from a sequence, whether it is
// done, and when its claim or retention ends. ClaimDelivery inserts (one
// round trip for a new delivery), or reads the row and takes it over with
// an update conditional on its having ended; ended rows are swept in
// small batches by later claims.
//
// # Testing
//
// Package pgtest runs a real PostgreSQL server for tests.
package pgstore
