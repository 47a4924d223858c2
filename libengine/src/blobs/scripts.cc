#include "blobs/scripts.h"

#include <string>

namespace hp::blobs::scripts {

namespace {

// Shared by the scripts that return files: the server's clock in ms, and a
// file as {id, filename, length, chunk_size, upload_date, content_type,
// sha256, metadata, seq, revision}, or nil.
const char *const kCommon = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function info(base, id)
  local h = redis.call('HMGET', base .. 'f:' .. id, 'filename', 'length', 'chunk_size', 'upload_date',
                       'content_type', 'sha256', 'metadata', 'seq')
  if not h[1] then return nil end
  local rank = redis.call('ZRANK', base .. 'n:' .. h[1], id)
  return {id, h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], rank}
end
)lua";

redis::Script make(const char *body) {
  return redis::Script(std::string(kCommon) + body);
}

}  // namespace

// KEYS: uploads, chunk key. ARGV: id, chunks after this one, lease ms,
// chunk value, chunk TTL ms (the chunk expires unless a commit keeps it).
const redis::Script &put_chunk() {
  static const redis::Script s = make(R"lua(
local ups = KEYS[1]
if ARGV[2] ~= '1' and not redis.call('HGET', ups, ARGV[1]) then
  return redis.error_reply('HPRECLAIMED upload ' .. ARGV[1] .. ' was reclaimed (its lease ran out)')
end
redis.call('HSET', ups, ARGV[1], (now_ms() + tonumber(ARGV[3])) .. ':' .. ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return 1
)lua");
  return s;
}

// KEYS: uploads, seq, f:<id>, n:<filename>, names, then every chunk key.
// ARGV: id, filename, length, chunk_size, content_type, sha256, metadata,
// chunks. Every chunk must still be there; they lose their TTL. Returns
// {seq, upload date, revision}.
const redis::Script &commit() {
  static const redis::Script s = make(R"lua(
local id, name = ARGV[1], ARGV[2]
if tonumber(ARGV[8]) > 0 and not redis.call('HGET', KEYS[1], id) then
  return redis.error_reply('HPRECLAIMED upload ' .. id .. ' was reclaimed before its commit')
end
for i = 6, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    return redis.error_reply('HPRECLAIMED upload ' .. id .. ': chunk ' .. (i - 6) .. ' expired before the commit')
  end
end
redis.call('HDEL', KEYS[1], id)
for i = 6, #KEYS do redis.call('PERSIST', KEYS[i]) end
local seq = redis.call('INCR', KEYS[2])
local now = now_ms()
redis.call('HSET', KEYS[3], 'filename', name, 'length', ARGV[3], 'chunk_size', ARGV[4],
           'upload_date', now, 'content_type', ARGV[5], 'sha256', ARGV[6], 'metadata', ARGV[7], 'seq', seq)
redis.call('ZADD', KEYS[4], seq, id)
redis.call('ZADD', KEYS[5], 0, name .. '\0' .. string.format('%016x', seq) .. '\0' .. id)
return {seq, now, redis.call('ZRANK', KEYS[4], id)}
)lua");
  return s;
}

// KEYS: uploads, then every chunk key written. ARGV: id.
const redis::Script &abort() {
  static const redis::Script s = make(R"lua(
for i = 2, #KEYS do redis.call('UNLINK', KEYS[i]) end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
)lua");
  return s;
}

// ARGV: base, id or '', filename, revision (ZRANGE index: -1 the latest).
const redis::Script &find() {
  static const redis::Script s = make(R"lua(
local id = ARGV[2]
if id == '' then
  local r = tonumber(ARGV[4])
  local ids = redis.call('ZRANGE', ARGV[1] .. 'n:' .. ARGV[3], r, r)
  if #ids == 0 then return false end
  id = ids[1]
end
return info(ARGV[1], id) or false
)lua");
  return s;
}

// ARGV: base, ZRANGEBYLEX min, max, limit, latest only ('1'/'0').
// Returns {cursor member or '', {file, ...}}.
const redis::Script &list() {
  static const redis::Script s = make(R"lua(
local base, min, max, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out, last, more = {}, '', false
while not more do
  local batch = redis.call('ZRANGEBYLEX', base .. 'names', min, max, 'LIMIT', 0, limit + 1)
  for _, m in ipairs(batch) do
    if #out >= limit then
      more = true
      break
    end
    local f = info(base, string.sub(m, -24))
    if f and (ARGV[5] == '0' or f[10] == redis.call('ZCARD', base .. 'n:' .. f[2]) - 1) then
      table.insert(out, f)
    end
    last = m
  end
  if #batch < limit + 1 then break end
  min = '(' .. last
end
if not more then last = '' end
return {last, out}
)lua");
  return s;
}

// ARGV: base, id or '', filename. Returns the number of files deleted.
const redis::Script &remove() {
  static const redis::Script s = make(R"lua(
local function del(base, id)
  local h = redis.call('HMGET', base .. 'f:' .. id, 'filename', 'seq', 'length', 'chunk_size')
  if not h[1] then return 0 end
  redis.call('DEL', base .. 'f:' .. id)
  redis.call('ZREM', base .. 'n:' .. h[1], id)
  redis.call('ZREM', base .. 'names', h[1] .. '\0' .. string.format('%016x', tonumber(h[2])) .. '\0' .. id)
  local cs, n = tonumber(h[4]), 0
  if cs > 0 then n = math.ceil(tonumber(h[3]) / cs) end
  for c = 0, n - 1 do redis.call('UNLINK', base .. 'c:' .. id .. ':' .. c) end
  return 1
end
if ARGV[2] ~= '' then return del(ARGV[1], ARGV[2]) end
local n = 0
for _, id in ipairs(redis.call('ZRANGE', ARGV[1] .. 'n:' .. ARGV[3], 0, -1)) do n = n + del(ARGV[1], id) end
return n
)lua");
  return s;
}

// ARGV: base. Reclaims uploads whose lease ran out; returns how many.
const redis::Script &gc() {
  static const redis::Script s = make(R"lua(
local ups = ARGV[1] .. 'uploads'
local now, n = now_ms(), 0
local all = redis.call('HGETALL', ups)
for i = 1, #all, 2 do
  local d, c = string.match(all[i + 1], '^(%d+):(%d+)$')
  if not d or tonumber(d) < now then
    for k = 0, (tonumber(c) or 0) - 1 do redis.call('UNLINK', ARGV[1] .. 'c:' .. all[i] .. ':' .. k) end
    redis.call('HDEL', ups, all[i])
    n = n + 1
  end
end
return n
)lua");
  return s;
}

}  // namespace hp::blobs::scripts
