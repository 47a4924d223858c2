#include "limits/scripts.h"

namespace hp::limits {

namespace {

// Writes after TIME must be replicated as effects: the only way since
// Redis 7 (which has REDIS_VERSION_NUM) and the default since Redis 5;
// older servers are asked with replicate_commands(). Calling it on Redis 7
// (a deprecated no-op) costs about as much as the rest of a GCRA hit.
#define HP_EFFECTS "if not redis.REDIS_VERSION_NUM and redis.replicate_commands then pcall(redis.replicate_commands) end\n"

// Shared head of the lease scripts: server time in ms and expired leases
// dropped.
const char *kLeaseHead = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local zkey, hkey = KEYS[1], KEYS[2]
local gone = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
-- unpack() of a long list overflows Lua's stack: the ids go in slices.
for i = 1, #gone, 256 do
  redis.call('HDEL', hkey, unpack(gone, i, math.min(i + 255, #gone)))
end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now) end
local function keep()
  local last = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', zkey, last[2])
    redis.call('PEXPIREAT', hkey, last[2])
  end
end
local function list(out)
  local all = redis.call('ZRANGE', zkey, 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    out[#out + 1] = all[i]
    out[#out + 1] = redis.call('HGET', hkey, all[i]) or '0'
    out[#out + 1] = tonumber(all[i + 1]) - now
  end
  return out
end
)lua";

std::string lease(const char *body) {
  return std::string(HP_EFFECTS) + kLeaseHead + body;
}

// The acquire's body: shared by the plain and the conditional script.
const char *kAcquireBody = R"lua(
local res, limit, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local exp = now + ttl
if redis.call('ZSCORE', zkey, res) then
  redis.call('ZADD', zkey, exp, res)
  keep()
  return {1, redis.call('ZCARD', zkey), tonumber(redis.call('HGET', hkey, res) or '0')}
end
local n = redis.call('ZCARD', zkey)
if n >= limit then return list({2, n, 0}) end
-- Ids only grow per subject: past the last one, and past now*1000 so they
-- keep growing after every lease (and the hash) expired.
local id = math.max(tonumber(redis.call('HGET', hkey, '') or '0') + 1, now * 1000)
local sid = string.format('%.0f', id)
redis.call('HSET', hkey, '', sid, res, sid)
redis.call('ZADD', zkey, exp, res)
keep()
return {0, n + 1, id}
)lua";

}  // namespace

const redis::Script &acquire_script() {
  static const redis::Script s(lease(kAcquireBody));
  return s;
}

const redis::Script &acquire_if_script() {
  // The memberships are read before anything is written (expired leases
  // included), so a refusal changes nothing.
  static const redis::Script s(std::string(HP_EFFECTS R"lua(
for i = 3, #KEYS do
  if redis.call('SISMEMBER', KEYS[i], ARGV[i + 1]) == 0 then return {3, 0, 0, i - 3} end
end
)lua") + kLeaseHead + kAcquireBody);
  return s;
}

const redis::Script &release_script() {
  static const redis::Script s(lease(R"lua(
local res = ARGV[1]
if not redis.call('ZSCORE', zkey, res) then return 0 end
redis.call('ZREM', zkey, res)
redis.call('HDEL', hkey, res)
return 1
)lua"));
  return s;
}

const redis::Script &renew_script() {
  static const redis::Script s(lease(R"lua(
local res, ttl = ARGV[1], tonumber(ARGV[2])
if not redis.call('ZSCORE', zkey, res) then return 0 end
redis.call('ZADD', zkey, now + ttl, res)
keep()
return 1
)lua"));
  return s;
}

const redis::Script &holders_script() {
  static const redis::Script s(lease("return list({})\n"));
  return s;
}

const redis::Script &gcra_script() {
  // One call decides every hit a loop turn gathered, in order, on one
  // server time. KEYS: one per hit; ARGV: per hit its increment and
  // tolerance in whole microseconds and the key's lifetime in ms (the
  // longest a stored TAT can lie ahead). Whole-microsecond TATs keep the
  // stored numbers integers, which Redis formats and parses cheaply. Out:
  // per hit {allowed, µs from now to the TAT}, or an error in place of the
  // flag for a key that holds something else (the other hits still count).
  static const redis::Script s(HP_EFFECTS R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local out = {}
for i = 1, #KEYS do
  local key, a, o = KEYS[i], 3 * i - 2, 2 * i - 1
  local inc = ARGV[a]
  local tat = redis.pcall('GET', key)
  if type(tat) == 'table' then
    out[o], out[o + 1] = tat, 0
  else
    tat = tonumber(tat)
    if not tat or tat < now then tat = now end
    local new_tat = tat + inc
    if new_tat - ARGV[a + 1] > now then
      out[o], out[o + 1] = 0, tat - now
    else
      if inc ~= '0' then redis.call('SET', key, new_tat, 'PX', ARGV[a + 2]) end
      out[o], out[o + 1] = 1, new_tat - now
    end
  end
end
return out
)lua");
  return s;
}

const redis::Script &budget_lease_script() {
  // A fixed window of the server's clock: window w covers [w * period,
  // (w + 1) * period). The key holds the window it counts ('w', 'p') and
  // the hits leased in it ('n'); another window starts again from 0.
  // Leases never pass the limit, whoever holds them.
  static const redis::Script s(HP_EFFECTS R"lua(
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local want, limit, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local span = period * 1000
local w = math.floor(now / span)
local cur = redis.call('HMGET', KEYS[1], 'w', 'p', 'n')
local n = 0
if tonumber(cur[1]) == w and tonumber(cur[2]) == period then n = tonumber(cur[3]) or 0 end
local grant = math.max(0, math.min(want, limit - n))
local left = (w + 1) * span - now
if grant > 0 then
  redis.call('HSET', KEYS[1], 'w', string.format('%.0f', w), 'p', period, 'n', n + grant)
  redis.call('PEXPIRE', KEYS[1], math.ceil(left / 1000) + 1000)
end
return {grant, string.format('%.0f', w), left, limit - n - grant}
)lua");
  return s;
}

const redis::Script &budget_return_script() {
  static const redis::Script s(R"lua(
local cur = redis.call('HMGET', KEYS[1], 'w', 'p', 'n')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then return -1 end
local n = math.max(0, tonumber(cur[3]) - tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'n', n)
return n
)lua");
  return s;
}

}  // namespace hp::limits
