// Package redisstore is an access.Store (and webhook.Deduper) on Redis,
// for a fleet of instances that share one Redis: the fleet-wide lock that
// makes a shop's expiring offline token refresh once, the fenced
// compare-and-swap that stores the new pair, and webhook deduplication.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	store, err := redisstore.New(rdb, redisstore.WithPrefix("myapp:"))
//	manager, err := access.New(clientID, secret, store)
//
// It works on a standalone Redis (or a primary behind Sentinel, with
// redis.NewFailoverClient), version 6.2 or later, not on Redis Cluster:
// its scripts update a shop's record and the store-wide expiry indexes
// together, which Cluster would put in different slots.
//
// # Locks and fences
//
// Lock is SET NX PX of the key's lock, holding a fence drawn from the
// key's counter with INCR, in one script: the lease ends by itself in
// Redis when its holder dies, and every grant has a larger fence. The
// counter is never deleted, not even by Delete, so fences keep growing.
//
// CompareAndSwap is one Lua script: it refuses the write (ErrFenced)
// unless the lease's fence is still the key's newest, refuses it
// (ErrConflict) unless the stored version is the one before, and then
// replaces the record's hash and updates the indexes, all atomically.
// Every script recognises its own earlier effect by a per-call id, so a
// call go-redis retries after losing the reply reports what happened,
// not a conflict with itself.
//
// # Records
//
// A record is a hash with one field per Record field (tokens as the sealed
// bytes the Manager gives, times as UTC Unix milliseconds; a nil token or
// a zero time has no field). A set per shop lists its records for Delete;
// a sorted set by access expiry serves Expiring, and a sorted set of equal
// scores, read in byte order (ZRANGE BYLEX), serves NonExpiring.
//
// # Webhook deduplication
//
// A delivery is one key: its claim number while claimed, "done" once
// handled, with a TTL of the claim's lease or the retention, so Redis
// forgets deliveries by itself. Claim numbers come from one counter.
//
// # Durability
//
// Redis acknowledges a write before it is on disk unless told otherwise.
// A lost write here is a lost refresh token, which Shopify has already
// rotated: the shop must re-authorize. Run Redis with the append-only
// file on (appendonly yes; appendfsync always to survive the machine
// crashing, everysec to survive a crash of Redis alone), and without
// eviction of these keys (maxmemory-policy noeviction, or a dedicated
// database). A Redis that lost its data also lost its fence counters; the
// leases granted after are then not fenced against the ones before.
//
// # Admin API budget
//
// Budget is an admin.Budget on the same Redis: give one to each instance's
// admin.Client (admin.WithBudget) and the fleet paces every shop against
// one cost bucket, so that N instances together are not throttled. Each
// reservation and answer is one script; a reservation whose instance died
// stops counting at its expiry. It passes admin/budgettest; the fleet
// tests run four Clients on separate connections against shopifytest.
//
//	budget, err := redisstore.NewBudget(rdb)
//	client, err := admin.New(tokens, admin.WithAPIVersion("2026-10"), admin.WithBudget(budget))
//
// # Testing
//
// Package redistest runs a real redis-server for tests.
package redisstore
