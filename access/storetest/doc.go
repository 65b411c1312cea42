// Package storetest is the conformance suite every access.Store (and every
// webhook.Deduper) passes: the same tests run against access.MemoryStore,
// access/sqlitestore, access/redisstore and access/pgstore. A new backend
// is done when this suite passes.
//
// # The store suite
//
// Run checks the contract of access.Store: Load and ErrNotFound;
// CompareAndSwap by version (the first write is version 1, a stale version
// gets ErrConflict, nothing is written on failure); fencing (a lease
// superseded by a newer one gets ErrFenced; a lease that ended while
// nobody else took the lock may still write, see below); Lock, ErrLocked
// and lease expiry (a crashed holder blocks a key only until its lease
// ends); Unlock only by the holder; fences that grow per key across
// separate clients; Delete of every record of a shop (and a writer that
// read a deleted record gets ErrConflict); Expiring (offline records,
// soonest first, limit, zero expiry excluded) and NonExpiring paging in
// Key.String byte order; tombstones (records without an access token:
// loaded like any record, never listed by Expiring or NonExpiring whatever
// their expiry fields, followed by a new grant); the exact round trip of every Record field (times
// at millisecond precision, UTC); concurrency (many writers on separate
// clients racing for one key: exactly one wins each version); and context
// cancellation.
//
// Leases in the suite are short (150 ms) and waits poll until a lease has
// ended, so the whole suite takes about a second of wall time per store;
// its cases run in parallel.
//
// # An ended lease nobody superseded may still write
//
// The suite requires that a lease whose time ran out, while no other
// holder took the key's lock, can still write. Nobody newer exists whose
// write it could overwrite, and the version check still refuses a write
// over anything stored since the holder read. Refusing would make a slow
// refresh, which has already rotated the shop's refresh token at Shopify,
// throw its new pair away and lock the shop out.
//
// # The deduplication suite
//
// RunDeduper checks webhook.Deduper: one claim per delivery among
// concurrent instances, done deliveries reported until their retention
// ends, released or expired claims claimable again, claim numbers that
// grow, a stale claim's release that cannot free a newer claim. Run calls
// it for every store that implements webhook.Deduper.
//
// # Fleet and fault tests
//
// RunProcesses runs the store from several OS processes (the test binary
// re-executed) against one backend: concurrent increments that must all
// land, and a holder killed (SIGKILL) between every two steps of
// lock → load → compare-and-swap → unlock, after which the lease frees
// the key, the record is whole, and the dead holder's lease is fenced.
// Benchmark measures a store's round trips (Load; Lock + CompareAndSwap +
// Unlock) with allocations reported.
//
// Workload drives a stream of locked increments from several clients, for
// the tests that restart a database under load; Consistent tells a whole
// record written by these tests from a torn or corrupted one.
package storetest
