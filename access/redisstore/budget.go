package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/possession-dev/possession/admin"
)

// Budget is an admin.Budget kept in Redis: every Client of every instance
// that uses a Budget on the same Redis (and prefix) paces each shop
// against one bucket, so that a fleet together stays under the shop's
// limit. Pass it to admin.WithBudget. It is safe for concurrent use.
//
// Each Reserve and Settle is one Lua script, atomic in Redis: a
// reservation is written before its caller waits for it, and one whose
// caller dies unsettled stops counting at its Expires time. The time is
// the caller's clock (admin passes its Clock's): instances should keep
// their clocks in step (NTP); a skew of d lets an instance that is ahead
// count d × restoreRate points early, which Shopify's THROTTLED answer
// and admin's retry then absorb.
//
// Share a Budget only among the Clients of one app: Shopify's bucket is
// per app and shop.
type Budget struct {
	c      redis.Scripter
	prefix string
}

var _ admin.Budget = (*Budget)(nil)

// NewBudget returns a Budget on client (a *redis.Client, or anything
// that runs scripts). WithPrefix applies as for New; the keys are
// p budget:{shop}, p budget:{shop}:pending and p budget:{shop}:costs.
func NewBudget(client redis.Scripter, opts ...Option) (*Budget, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidArgument)
	}
	return &Budget{c: client, prefix: c.prefix}, nil
}

// budgetKeyTTL is how long a shop's budget is kept after its last use;
// afterwards the next call learns it again.
const budgetKeyTTL = 24 * time.Hour

// keys are, under the prefix p and for the shop query-escaped:
//
//	p budget:{shop}           hash: max, rate, level, at (Unix ms)
//	p budget:{shop}:pending   sorted set: reservation ids by expiry (Unix ms)
//	p budget:{shop}:costs     hash: reservation id -> cost
//	p budget:{shop}:settled   sorted set: answered reservation ids by answer time (Unix ms)
//	p budget:{shop}:charged   hash: answered reservation id -> "{answer number} {points Shopify took}"
//	p budget:{shop}:answers   counter: answers recorded; a reservation id starts with its value
//	                          at the reservation, to order an answer at the instant of a send
func (b *Budget) keys(shop string) []string {
	p := b.prefix + "budget:" + url.QueryEscape(shop)
	return []string{p, p + ":pending", p + ":costs", p + ":settled", p + ":charged", p + ":answers"}
}

// Lua shared by both scripts.
const luaCommon = `
local function pending(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for i = 1, #expired, 1000 do
    local chunk = {unpack(expired, i, math.min(i + 999, #expired))}
    redis.call('ZREM', KEYS[2], unpack(chunk))
    redis.call('HDEL', KEYS[3], unpack(chunk))
  end
  local sum = 0
  for _, c in ipairs(redis.call('HVALS', KEYS[3])) do sum = sum + tonumber(c) end
  return sum
end
local function num(x) return string.format('%.17g', x) end
local function touch(ttl)
  for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
`

// reserveScript: KEYS as keys; ARGV now (Unix ms), cost, random id part,
// pending TTL (ms), key TTL (ms). Returns {0, id} when the shop is
// unknown, else {1, id, wait ms, expires ms, send at ms}.
var reserveScript = redis.NewScript(luaCommon + `
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local id = (redis.call('GET', KEYS[6]) or '0') .. '.' .. ARGV[3]
local st = redis.call('HMGET', KEYS[1], 'max', 'rate', 'level', 'at')
if not st[1] then return {0, id} end
local max, rate, level, at = tonumber(st[1]), tonumber(st[2]), tonumber(st[3]), tonumber(st[4])
local p = pending(now)
if now > at then level = level + (now - at) / 1000 * rate; at = now end
level = math.min(level, max - p) - cost
local wait = 0
if level < 0 then wait = math.ceil(-level / rate * 1000) end
local expires = now + wait + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], expires, id)
redis.call('HSET', KEYS[3], id, ARGV[2])
redis.call('HSET', KEYS[1], 'level', num(level), 'at', num(at))
touch(ARGV[5])
return {1, id, string.format('%.0f', wait), string.format('%.0f', expires), string.format('%.0f', now + wait)}
`)

// settleScript: KEYS as keys; ARGV now, id, known, sent, charged, has
// status, maximum, available, restore rate, send at (ms), pending TTL
// (ms), key TTL (ms).
var settleScript = redis.NewScript(luaCommon + `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local held = false
if ARGV[3] == '1' then
  local cost = redis.call('HGET', KEYS[3], id)
  if cost then
    held = true
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    local st = redis.call('HMGET', KEYS[1], 'max', 'rate', 'level', 'at')
    if ARGV[4] == '0' and st[1] then
      local max, rate, level, at = tonumber(st[1]), tonumber(st[2]), tonumber(st[3]), tonumber(st[4])
      local p = pending(now)
      if now > at then level = level + (now - at) / 1000 * rate; at = now end
      level = math.min(level + tonumber(cost), max - p)
      redis.call('HSET', KEYS[1], 'level', num(level), 'at', num(at))
    end
  end
end
if ARGV[4] == '1' and (held or ARGV[3] == '0') then
  local n = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[4], now, id)
  redis.call('HSET', KEYS[5], id, n .. ' ' .. ARGV[5])
end
if ARGV[6] == '1' then
  local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - tonumber(ARGV[11])))
  for i = 1, #old, 1000 do
    local chunk = {unpack(old, i, math.min(i + 999, #old))}
    redis.call('ZREM', KEYS[4], unpack(chunk))
    redis.call('HDEL', KEYS[5], unpack(chunk))
  end
  local sendAt = tonumber(ARGV[10])
  local myseq = tonumber(string.match(id, '^(%d+)%.') or '0')
  local since = 0
  local later = redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[10], '+inf', 'WITHSCORES')
  for i = 1, #later, 2 do
    local other, at = later[i], tonumber(later[i + 1])
    if other ~= id then
      local v = redis.call('HGET', KEYS[5], other)
      if v then
        local seq, charged = string.match(v, '^(%d+) (.+)$')
        if at > sendAt or tonumber(seq) > myseq then since = since + tonumber(charged) end
      end
    end
  end
  local max = tonumber(ARGV[7])
  local level = math.min(tonumber(ARGV[8]), max) - pending(now) - since
  redis.call('HSET', KEYS[1], 'max', ARGV[7], 'rate', ARGV[9], 'level', num(level), 'at', ARGV[1])
end
touch(ARGV[12])
return 1
`)

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Reserve implements admin.Budget.
func (b *Budget) Reserve(ctx context.Context, shop string, cost float64, now time.Time) (admin.Reservation, error) {
	r := admin.Reservation{Shop: shop, Cost: cost, SendAt: now}
	res, err := reserveScript.Run(ctx, b.c, b.keys(shop), ms(now), strconv.FormatFloat(cost, 'g', -1, 64), nonce(),
		admin.PendingTTL.Milliseconds(), budgetKeyTTL.Milliseconds()).Slice()
	if err != nil {
		return admin.Reservation{}, fmt.Errorf("redisstore: budget reserve for %s: %w", shop, err)
	}
	if len(res) < 2 {
		return admin.Reservation{}, fmt.Errorf("redisstore: budget reserve for %s: %w", shop, errors.New("short script answer"))
	}
	r.ID, _ = res[1].(string)
	if known, _ := res[0].(int64); known == 0 {
		return r, nil
	}
	if len(res) != 5 {
		return admin.Reservation{}, fmt.Errorf("redisstore: budget reserve for %s: answer %v", shop, res)
	}
	var v [3]int64
	for i := range v {
		n, err := strconv.ParseInt(fmt.Sprint(res[i+2]), 10, 64)
		if err != nil {
			return admin.Reservation{}, fmt.Errorf("redisstore: budget reserve for %s: answer %v", shop, res)
		}
		v[i] = n
	}
	r.Known = true
	r.Wait = time.Duration(v[0]) * time.Millisecond
	r.Expires = time.UnixMilli(v[1])
	r.SendAt = time.UnixMilli(v[2])
	return r, nil
}

// Settle implements admin.Budget.
func (b *Budget) Settle(ctx context.Context, r admin.Reservation, a admin.Answer, now time.Time) error {
	flag := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	st := a.Status
	has := st != nil && st.MaximumAvailable > 0 && st.RestoreRate > 0 &&
		!isBad(st.CurrentlyAvailable) && !isBad(st.MaximumAvailable) && !isBad(st.RestoreRate)
	var max, avail, rate string
	if has {
		max, avail, rate = f(st.MaximumAvailable), f(st.CurrentlyAvailable), f(st.RestoreRate)
	}
	sendAt := r.SendAt
	if sendAt.IsZero() {
		sendAt = now
	}
	charged := a.Charged
	if charged < 0 || isBad(charged) {
		charged = r.Cost
	}
	err := settleScript.Run(ctx, b.c, b.keys(r.Shop), ms(now), r.ID, flag(r.Known), flag(a.Sent), f(charged), flag(has),
		max, avail, rate, ms(sendAt), admin.PendingTTL.Milliseconds(), budgetKeyTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: budget settle for %s: %w", r.Shop, err)
	}
	return nil
}

func isBad(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }
