package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/access"
)

// lockScript takes a free lock: SET NX PX of the lock key, holding a fence
// just drawn from the key's counter (INCR). Both in one script, so a
// refused Lock draws no fence and the holder's fence stays the newest.
var lockScript = redis.NewScript(`
-- KEYS: lock, fence counter; ARGV: lease in ms, write id
local held = redis.call('GET', KEYS[1])
if held then
	local fence, writer = string.match(held, '^(%d+) (.*)$')
	if writer == ARGV[2] then return tonumber(fence) end -- this call, retried
	return 0
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ' ' .. ARGV[2], 'NX', 'PX', ARGV[1])
return fence
`)

var unlockScript = redis.NewScript(`
-- KEYS: lock; ARGV: fence
local held = redis.call('GET', KEYS[1])
if held and string.match(held, '^%d+') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// Lock implements access.Store. The lease is measured by Redis's clock
// (PX); Until is this machine's clock before the request plus the lease,
// so it never claims more than Redis grants.
func (s *Store) Lock(ctx context.Context, key access.Key, lease time.Duration) (access.Lease, error) {
	op := "lock " + key.String()
	if err := ctx.Err(); err != nil {
		return access.Lease{}, opError(op, err)
	}
	px, err := durationMillis("lease", lease)
	if err != nil {
		return access.Lease{}, opError(op, err)
	}
	id, err := s.id(key)
	if err != nil {
		return access.Lease{}, opError(op, err)
	}
	start := time.Now()
	fence, err := lockScript.Run(ctx, s.c, []string{s.prefix + "lock:" + id, s.prefix + "fence:" + id}, px, nonce()).Int64()
	if err != nil {
		return access.Lease{}, opError(op, err)
	}
	if fence == 0 {
		return access.Lease{}, opError(op, access.ErrLocked)
	}
	return access.Lease{Key: key, Fence: fence, Until: start.Add(lease)}, nil
}

// Unlock implements access.Store.
func (s *Store) Unlock(ctx context.Context, l access.Lease) error {
	op := "unlock " + l.Key.String()
	if err := ctx.Err(); err != nil {
		return opError(op, err)
	}
	id, err := s.id(l.Key)
	if err != nil {
		return opError(op, err)
	}
	if err := unlockScript.Run(ctx, s.c, []string{s.prefix + "lock:" + id}, strconv.FormatInt(l.Fence, 10)).Err(); err != nil {
		return opError(op, err)
	}
	return nil
}
