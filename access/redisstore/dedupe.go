package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// A delivery is one string key: its claim number (and the id of the call
// that claimed it) while claimed, "done"
// once handled, expiring (PX) when the claim's lease or the retention
// ends, so Redis forgets deliveries by itself.
const doneValue = "done"

var claimScript = redis.NewScript(`
-- KEYS: delivery, claim counter; ARGV: lease in ms, write id
local v = redis.call('GET', KEYS[1])
if v then
	if v == 'done' then return -1 end
	local claim, writer = string.match(v, '^(%d+) (.*)$')
	if writer == ARGV[2] then return tonumber(claim) end -- this call, retried
	return 0
end
local claim = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], claim .. ' ' .. ARGV[2], 'PX', ARGV[1])
return claim
`)

var releaseScript = redis.NewScript(`
-- KEYS: delivery; ARGV: claim
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^%d+') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

func (s *Store) deliveryKey(id string) string { return s.prefix + "dlv:" + id }

// ClaimDelivery implements webhook.Deduper. Claim numbers come from one
// counter under the prefix, so they grow across ids and expiries.
func (s *Store) ClaimDelivery(ctx context.Context, id string, lease time.Duration) (claim int64, done bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, opError("claim delivery", err)
	}
	px, err := durationMillis("lease", lease)
	if err != nil {
		return 0, false, opError("claim delivery", err)
	}
	res, err := claimScript.Run(ctx, s.c, []string{s.deliveryKey(id), s.prefix + "claims"}, px, nonce()).Int64()
	if err != nil {
		return 0, false, opError("claim delivery", err)
	}
	if res < 0 {
		return 0, true, nil
	}
	return res, false, nil
}

// CompleteDelivery implements webhook.Deduper. A retention of zero or less
// forgets id at once.
func (s *Store) CompleteDelivery(ctx context.Context, id string, claim int64, retention time.Duration) error {
	if err := ctx.Err(); err != nil {
		return opError("complete delivery", err)
	}
	var err error
	if retention <= 0 {
		err = s.c.Del(ctx, s.deliveryKey(id)).Err()
	} else {
		px, _ := durationMillis("retention", retention)
		err = s.c.Set(ctx, s.deliveryKey(id), doneValue, time.Duration(px)*time.Millisecond).Err()
	}
	if err != nil {
		return opError("complete delivery", err)
	}
	return nil
}

// ReleaseDelivery implements webhook.Deduper.
func (s *Store) ReleaseDelivery(ctx context.Context, id string, claim int64) error {
	if err := ctx.Err(); err != nil {
		return opError("release delivery", err)
	}
	if err := releaseScript.Run(ctx, s.c, []string{s.deliveryKey(id)}, strconv.FormatInt(claim, 10)).Err(); err != nil {
		return opError("release delivery", err)
	}
	return nil
}
