// Package sqlitestore is the embedded default access.Store: one SQLite
// file on the machine, no server to run, safe for several processes
// opening the same file (a web server, a worker and a cron job on one
// host). It is pure Go (modernc.org/sqlite, no cgo).
//
// # Opening
//
//	store, err := sqlitestore.Open(ctx, "/var/lib/myapp/tokens.db")
//	...
//	defer store.Close()
//	manager, err := access.New(clientID, secret, store)
//
// Open creates the file and its schema if needed, and migrates an older
// schema; the schema's version is the file's PRAGMA user_version, and a
// file migrated by a newer release is refused with ErrSchemaTooNew rather
// than misread. Its tables are prefixed possession_, so the file may be
// shared with the application's own tables.
//
// # Several processes, one file
//
// The file is in WAL mode: readers never wait for writers. Every write is
// one transaction that takes SQLite's write lock up front (BEGIN
// IMMEDIATE) and waits for it up to the busy timeout (WithBusyTimeout),
// so what a write checks (the lock's fence, the record's version) cannot
// change before it writes, whichever process runs it. Within a process,
// writes go through one connection and queue for it (bounded by their
// contexts): many goroutines polling SQLite's lock would starve some of
// them past the busy timeout. A process killed mid-write leaves the file
// as it was before that transaction.
//
// Locks are rows: the key's newest fence and when its lease ends, read
// with the store's clock (WithClock; processes on one machine share the
// clock). A lock row stays after Unlock, so that fences keep growing;
// Delete removes records, never locks.
//
// Records are rows with one column per field; times are UTC Unix
// milliseconds, NULL for the zero time. Tokens are stored as the sealed
// bytes the Manager gives, never in plaintext.
//
// # Webhook deduplication
//
// Store also implements webhook.Deduper: a row per delivery, claim numbers
// from one counter, ended claims and done records swept in small batches
// by later claims. A delivery that is claimed or done is answered by a
// read, without the write lock.
//
// # Durability
//
// By default every commit syncs the write-ahead log (synchronous=FULL): a
// refresh token that Shopify rotated and the store then lost would lock
// the shop out until it re-authorizes. WithSynchronousNormal trades that
// for speed.
package sqlitestore
