package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/access"
)

// Client is what the store needs of a go-redis client: *redis.Client
// (standalone, or Sentinel through redis.NewFailoverClient) provides it.
// Redis Cluster does not fit: the scripts touch a shop's keys and the
// store-wide indexes together, which Cluster spreads over slots.
type Client interface {
	redis.Scripter
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
	ZRangeArgs(ctx context.Context, z redis.ZRangeArgs) *redis.StringSliceCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

// Store is an access.Store and a webhook.Deduper on Redis, for a fleet of
// instances sharing one Redis. It is safe for concurrent use.
type Store struct {
	c      Client
	prefix string
}

var _ access.Store = (*Store)(nil)

// New returns a store on client. It does not talk to Redis until used;
// the client stays the caller's to configure and close.
func New(client Client, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidArgument)
	}
	return &Store{c: client, prefix: c.prefix}, nil
}

// Keys, under the prefix p:
//
//	p rec:{id}       hash: one record, a field per Record field (and the
//	                 id of the write that stored it)
//	p lock:{id}      string: "{fence} {write id}" of the live lease,
//	                 expiring with it (PX)
//	p fence:{id}     counter: the key's newest fence (INCR), never deleted
//	p shop:{shop}    set: the ids of a shop's records, for Delete
//	p expiring       sorted set: offline ids by access expiry (Unix ms),
//	                 tombstones left out
//	p nonexpiring    sorted set, all scores 0: Key.String of offline
//	                 records without expiry, in byte order (BYLEX),
//	                 tombstones left out
//	p dlv:{id}       string: "{claim} {write id}" while claimed, or "done"; PX
//	p claims         counter: the last delivery claim number
//
// A record's id is "offline:{shop}" or "online:{shop}:{user}", shop and
// user query-escaped so that no two keys share an id.

func (s *Store) id(k access.Key) (string, error) {
	switch k.Mode {
	case access.Offline:
		return "offline:" + url.QueryEscape(k.Shop), nil
	case access.Online:
		return "online:" + url.QueryEscape(k.Shop) + ":" + url.QueryEscape(k.UserID), nil
	}
	return "", fmt.Errorf("%w: key mode %d", ErrInvalidArgument, k.Mode)
}

// keyOf is the inverse of id, for the offline ids the indexes hold.
func keyOf(id string) (access.Key, error) {
	rest, ok := strings.CutPrefix(id, "offline:")
	if !ok {
		return access.Key{}, fmt.Errorf("%w: index member %q", ErrCorrupt, id)
	}
	shop, err := url.QueryUnescape(rest)
	if err != nil {
		return access.Key{}, fmt.Errorf("%w: index member %q", ErrCorrupt, id)
	}
	return access.Key{Shop: shop, Mode: access.Offline}, nil
}

func (s *Store) shopKey(shop string) string { return s.prefix + "shop:" + url.QueryEscape(shop) }

// Record hash fields. A nil token or a zero time has no field at all, so
// nil and empty tokens, and zero and real times, read back apart.
const (
	fShop          = "shop"
	fMode          = "mode"
	fUserID        = "user_id"
	fScope         = "scope"
	fAccessToken   = "access_token"
	fAccessExpires = "access_expires_ms"
	fRefreshToken  = "refresh_token"
	fRefreshExpire = "refresh_expires_ms"
	fVersion       = "version"
	fUpdated       = "updated_ms"
)

var casScript = redis.NewScript(`
-- KEYS: record, fence counter, shop set, expiring, nonexpiring
-- ARGV: fence, previous version, id, nonexpiring member, offline ("1";
--       "2" for an offline tombstone, which is in neither index),
--       access expiry in ms ("" for none), write id, then field, value, ...
-- A write id already stored means this very call was applied before: the
-- client retried it after losing the reply.
if redis.call('HGET', KEYS[1], 'write_id') == ARGV[7] then return 0 end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 1 end
if (redis.call('HGET', KEYS[1], 'version') or '0') ~= ARGV[2] then return 2 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'write_id', ARGV[7], unpack(ARGV, 8))
redis.call('SADD', KEYS[3], ARGV[3])
if ARGV[5] == '1' then
	if ARGV[6] == '' then
		redis.call('ZREM', KEYS[4], ARGV[3])
		redis.call('ZADD', KEYS[5], 0, ARGV[4])
	else
		redis.call('ZADD', KEYS[4], ARGV[6], ARGV[3])
		redis.call('ZREM', KEYS[5], ARGV[4])
	end
elseif ARGV[5] == '2' then
	redis.call('ZREM', KEYS[4], ARGV[3])
	redis.call('ZREM', KEYS[5], ARGV[4])
end
return 0
`)

var deleteScript = redis.NewScript(`
-- KEYS: shop set, expiring, nonexpiring
-- ARGV: record key prefix, the shop's nonexpiring member
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do
	redis.call('DEL', ARGV[1] .. id)
	redis.call('ZREM', KEYS[2], id)
end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1])
return #ids
`)

// Load implements access.Store.
func (s *Store) Load(ctx context.Context, key access.Key) (access.Record, error) {
	op := "load " + key.String()
	if err := ctx.Err(); err != nil {
		return access.Record{}, opError(op, err)
	}
	id, err := s.id(key)
	if err != nil {
		return access.Record{}, opError(op, err)
	}
	h, err := s.c.HGetAll(ctx, s.prefix+"rec:"+id).Result()
	if err != nil {
		return access.Record{}, opError(op, err)
	}
	if len(h) == 0 {
		return access.Record{}, opError(op, access.ErrNotFound)
	}
	rec, err := parseRecord(key, h)
	if err != nil {
		return access.Record{}, opError(op, err)
	}
	return rec, nil
}

func parseRecord(key access.Key, h map[string]string) (access.Record, error) {
	rec := access.Record{Key: key, Scope: h[fScope]}
	if h[fShop] != key.Shop || h[fMode] != strconv.Itoa(int(key.Mode)) || h[fUserID] != key.UserID {
		return access.Record{}, fmt.Errorf("%w: record's key fields differ from its key", ErrCorrupt)
	}
	if v, ok := h[fAccessToken]; ok {
		rec.AccessToken = []byte(v)
	}
	if v, ok := h[fRefreshToken]; ok {
		rec.RefreshToken = []byte(v)
	}
	var err error
	if rec.Version, err = strconv.ParseInt(h[fVersion], 10, 64); err != nil || rec.Version < 1 {
		return access.Record{}, fmt.Errorf("%w: version %q", ErrCorrupt, h[fVersion])
	}
	for _, t := range []struct {
		field string
		dst   *time.Time
	}{
		{fAccessExpires, &rec.AccessExpiresAt},
		{fRefreshExpire, &rec.RefreshExpiresAt},
		{fUpdated, &rec.UpdatedAt},
	} {
		v, ok := h[t.field]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return access.Record{}, fmt.Errorf("%w: %s %q", ErrCorrupt, t.field, v)
		}
		*t.dst = time.UnixMilli(n).UTC()
	}
	return rec, nil
}

// CompareAndSwap implements access.Store: the fence check, the version
// check, the write and the index updates are one Lua script, which Redis
// runs atomically.
func (s *Store) CompareAndSwap(ctx context.Context, l access.Lease, rec access.Record) error {
	op := "compare-and-swap " + rec.Key.String()
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	if l.Key != rec.Key {
		return opError(op, fmt.Errorf("lease of %s does not cover this key: %w", l.Key, access.ErrFenced))
	}
	id, err := s.id(rec.Key)
	if err != nil {
		return opError(op, err)
	}
	k := rec.Key
	offline, accessExp := "0", ""
	if k.Mode == access.Offline {
		offline = "1"
		if rec.IsTombstone() {
			offline = "2" // a dead grant: neither refreshed nor migrated
		}
	}
	if !rec.AccessExpiresAt.IsZero() {
		accessExp = strconv.FormatInt(rec.AccessExpiresAt.UnixMilli(), 10)
	}
	args := []any{
		strconv.FormatInt(l.Fence, 10), strconv.FormatInt(rec.Version-1, 10), id, k.String(), offline, accessExp, nonce(),
		fShop, k.Shop, fMode, strconv.Itoa(int(k.Mode)), fUserID, k.UserID, fScope, rec.Scope,
		fVersion, strconv.FormatInt(rec.Version, 10),
	}
	if rec.AccessToken != nil {
		args = append(args, fAccessToken, rec.AccessToken)
	}
	if rec.RefreshToken != nil {
		args = append(args, fRefreshToken, rec.RefreshToken)
	}
	for _, t := range []struct {
		field string
		t     time.Time
	}{{fAccessExpires, rec.AccessExpiresAt}, {fRefreshExpire, rec.RefreshExpiresAt}, {fUpdated, rec.UpdatedAt}} {
		if !t.t.IsZero() {
			args = append(args, t.field, strconv.FormatInt(t.t.UnixMilli(), 10))
		}
	}
	keys := []string{
		s.prefix + "rec:" + id, s.prefix + "fence:" + id, s.shopKey(k.Shop),
		s.prefix + "expiring", s.prefix + "nonexpiring",
	}
	res, err := casScript.Run(ctx, s.c, keys, args...).Int()
	if err != nil {
		return opError(op, err)
	}
	switch res {
	case 0:
		return nil
	case 1:
		return opError(op, fmt.Errorf("lease %d: %w", l.Fence, access.ErrFenced))
	default:
		return opError(op, fmt.Errorf("write of version %d: %w", rec.Version, access.ErrConflict))
	}
}

// Delete implements access.Store. Locks and fences stay, so that a lease
// granted before the delete still cannot write over a newer one.
func (s *Store) Delete(ctx context.Context, shop string) error {
	if err := ctx.Err(); err != nil {
		return opError("delete", err)
	}
	keys := []string{s.shopKey(shop), s.prefix + "expiring", s.prefix + "nonexpiring"}
	if err := deleteScript.Run(ctx, s.c, keys, s.prefix+"rec:", access.Key{Shop: shop, Mode: access.Offline}.String()).Err(); err != nil {
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
	ids, err := s.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.prefix + "expiring", ByScore: true,
		Start: "-inf", Stop: "(" + strconv.FormatInt(ceilMillis(t), 10),
		Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, opError("expiring", err)
	}
	keys := make([]access.Key, 0, len(ids))
	for _, id := range ids {
		k, err := keyOf(id)
		if err != nil {
			return nil, opError("expiring", err)
		}
		keys = append(keys, k)
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
	start := "-"
	if after != "" {
		start = "(" + after
	}
	members, err := s.c.ZRangeArgs(ctx, redis.ZRangeArgs{
		Key: s.prefix + "nonexpiring", ByLex: true, Start: start, Stop: "+", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, opError("non-expiring", err)
	}
	prefix := access.Key{Mode: access.Offline}.String()
	keys := make([]access.Key, 0, len(members))
	for _, m := range members {
		shop, ok := strings.CutPrefix(m, prefix)
		if !ok {
			return nil, opError("non-expiring", fmt.Errorf("%w: index member %q", ErrCorrupt, m))
		}
		keys = append(keys, access.Key{Shop: shop, Mode: access.Offline})
	}
	return keys, nil
}

func opError(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w", op, err)
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

// nonce returns a value unique to one call, so that a script the client
// retries after losing its reply (go-redis retries on network errors)
// recognises its own earlier effect instead of reporting a conflict.
func nonce() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// durationMillis rounds d up to whole milliseconds, for PX: a lease never
// ends before it was asked to.
func durationMillis(what string, d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("%w: %s %v, want more than 0", ErrInvalidArgument, what, d)
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), nil
}
