package access

import (
	"context"
	"time"
)

// Mode tells an offline (per shop) token from an online (per user) one.
type Mode uint8

const (
	// Offline is the shop's token, for background work and most API calls.
	// From 2027-01-01 a public app's offline tokens expire (about an hour)
	// and come with a refresh token that rotates on every use.
	Offline Mode = iota + 1
	// Online is a token for one staff user of the shop, bounded by that
	// user's permissions; it expires and is not refreshed.
	Online
)

// String returns "offline" or "online".
func (m Mode) String() string {
	switch m {
	case Offline:
		return "offline"
	case Online:
		return "online"
	}
	return "unknown"
}

// Key names one stored token: the shop's offline token, or one user's
// online token for the shop.
type Key struct {
	// Shop is the shop's domain, "example.myshopify.com", taken from a
	// verified session's dest.
	Shop string
	Mode Mode
	// UserID is the Shopify user ID for online tokens, "" for offline.
	UserID string
}

// String returns the session ID Shopify's libraries use for the record:
// "offline_{shop}" or "{shop}_{userID}".
func (k Key) String() string {
	if k.Mode == Online {
		return k.Shop + "_" + k.UserID
	}
	return "offline_" + k.Shop
}

// Record is what a Store keeps for a Key: explicit fields, never a
// serialised object. AccessToken and RefreshToken hold ciphertext sealed
// by the Manager (AES-256-GCM, the other fields as associated data); a
// store never sees a plaintext token.
//
// Every time is kept by stores as UTC Unix milliseconds; the Manager
// truncates times to the millisecond before it writes, so a record reads
// back equal to what was written.
//
// A record without an access token (AccessToken empty) is a tombstone:
// the grant it held is dead (Shopify refused its refresh token, or
// rejected a token that cannot be refreshed) and only the merchant can
// grant again. The Manager writes one with CompareAndSwap, under the
// key's lease, instead of deleting the record, so that the version keeps
// growing and a holder that read the live record before cannot write it
// back (its write conflicts). The Manager's tombstones have every other
// field zero too, but a store recognises one by the empty access token
// alone.
type Record struct {
	Key
	// Scope is the comma-separated access scopes Shopify granted.
	Scope string
	// AccessToken is the sealed access token.
	AccessToken []byte
	// AccessExpiresAt is when the access token expires; zero for a
	// non-expiring offline token.
	AccessExpiresAt time.Time
	// RefreshToken is the sealed refresh token; nil when there is none
	// (non-expiring offline and online tokens).
	RefreshToken []byte
	// RefreshExpiresAt is when the refresh token expires; zero without one.
	RefreshExpiresAt time.Time
	// Version is 1 for the first write of a key and grows by one with every
	// write after it. A record that was never stored has version 0.
	Version int64
	// UpdatedAt is when the record was last written.
	UpdatedAt time.Time
}

// IsTombstone reports whether r is a tombstone: a record without an
// access token, standing for a grant that is dead until the merchant
// grants again (see Record).
func (r Record) IsTombstone() bool { return len(r.AccessToken) == 0 }

// Lease is a held fleet-wide lock on one Key, good until Until unless
// renewed. Fence grows with every acquisition of the key's lock, in the
// whole fleet: a write carries it, and a store refuses the write when a
// newer lease of the key has been granted since (ErrFenced), so a holder
// that stalled past its lease can never overwrite what its successor
// stored.
type Lease struct {
	Key   Key
	Fence int64
	Until time.Time
}

// Store persists token records and coordinates the fleet. Implementations:
// MemoryStore (one process), access/sqlitestore (one machine, the embedded
// default), access/redisstore and access/pgstore (a fleet). Every one
// passes the conformance suite in access/storetest.
//
// Methods are safe for concurrent use, honour ctx, and return errors that
// wrap the sentinels below where they apply. An implementation must hold
// that a process may die between any two calls: a lock whose holder died
// frees itself when its lease ends, and nothing but CompareAndSwap changes
// a record.
type Store interface {
	// Load returns the record stored for key, or an error wrapping
	// ErrNotFound. A tombstone is returned like any record: its version
	// is what the next write must follow.
	Load(ctx context.Context, key Key) (Record, error)

	// Lock takes key's fleet-wide lock for the lease duration, without
	// waiting: it returns an error wrapping ErrLocked while another live
	// lease holds it. A lease that has ended no longer holds the lock.
	// Every successful Lock of a key returns a larger Fence than any
	// before it.
	Lock(ctx context.Context, key Key, lease time.Duration) (Lease, error)

	// Unlock releases the lock if l still holds it, and is a no-op
	// otherwise (the lease ended, or another holder took the key since).
	Unlock(ctx context.Context, l Lease) error

	// CompareAndSwap writes rec (rec.Key names it) if the stored record's
	// version is rec.Version-1 (0: no record stored) and no lease of the
	// key newer than l has been granted. It fails with ErrConflict when the
	// version differs, and with ErrFenced when a newer lease exists; either
	// way nothing is written. l must be a lease of rec.Key. rec.UpdatedAt
	// is stored as given. A tombstone is written like any record (it
	// replaces the record, at the next version), and a record may follow
	// a tombstone (the merchant granted again).
	CompareAndSwap(ctx context.Context, l Lease, rec Record) error

	// Delete removes every record of shop (offline and online),
	// tombstones included, for app/uninstalled and shop/redact. Deleting
	// nothing is not an error. A writer that read a deleted record fails
	// its CompareAndSwap with ErrConflict.
	Delete(ctx context.Context, shop string) error

	// Expiring returns the keys of up to limit offline records whose
	// access token expires before t (records with a zero AccessExpiresAt
	// are never included), soonest first: for a background refresher. A
	// limit of 0 or less returns none. Online records are never included:
	// they are not refreshed, so listing them would let a shop's expired
	// online tokens fill every page ahead of the offline tokens that need
	// the refresher. Tombstones are never included either, whatever their
	// AccessExpiresAt: a dead grant cannot be refreshed, and listing it
	// would fill every page with shops that wait for their merchant.
	Expiring(ctx context.Context, t time.Time, limit int) ([]Key, error)

	// NonExpiring returns the keys of up to limit offline records whose
	// access token never expires (a zero AccessExpiresAt), for
	// MigrateToExpiring; tombstones are never included. after is the last
	// key of the previous page ("" for the first), in Key.String order.
	NonExpiring(ctx context.Context, after string, limit int) ([]Key, error)
}
