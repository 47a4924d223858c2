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
const char *kLeaseHead = HP_EFFECTS R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local zkey, hkey = KEYS[1], KEYS[2]
local gone = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
  redis.call('HDEL', hkey, unpack(gone))
end
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

std::string lease(const char *body) { return std::string(kLeaseHead) + body; }

}  // namespace

const redis::Script &acquire_script() {
  static const redis::Script s(lease(R"lua(
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
)lua"));
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
  // Only the decision and the distance to the TAT travel back: the client
  // has the interval and tolerance to work out remaining, retry and reset
  // (with the same integer arithmetic as the memory backend), which keeps
  // the script short. TATs are microseconds; a Lua number handed to SET
  // reaches Redis as "%.17g" (the whole double).
  static const redis::Script s(HP_EFFECTS R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tau, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
if new_tat - tau > now then return {0, math.floor((tat - now) * 1000)} end
if cost > 0 then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
end
return {1, math.floor((new_tat - now) * 1000)}
)lua");
  return s;
}

}  // namespace hp::limits
