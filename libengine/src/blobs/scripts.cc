#include "blobs/scripts.h"

#include <string>

namespace hp::blobs::scripts {

namespace {

// Shared by the scripts that return files: the server's clock in ms, and a
// file as {id, filename, length, chunk_size, upload_date, content_type,
// sha256, metadata, seq, revision}, or nil, from its f:<id> and
// n:<filename> keys (both declared by the caller).
const char *const kCommon = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function info(fkey, nkey, id)
  local h = redis.call('HMGET', fkey, 'filename', 'length', 'chunk_size', 'upload_date',
                       'content_type', 'sha256', 'metadata', 'seq')
  if not h[1] then return nil end
  local rank = redis.call('ZRANK', nkey, id)
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

// The scripts below read keys whose names come from other keys (a file's
// filename, a filename's ids): the caller reads those names first and
// declares every key, so that on a Redis Cluster a slot migration answers
// ASK or TRYAGAIN instead of letting a script read a key that moved as
// missing. Where the names may have changed in between, a script answers
// "HPSTALE" and the caller reads them again.

// KEYS: f:<id>, n:<filename>. ARGV: id, revision ('' when found by id;
// else the ZRANGE index the id was read at, -1 the latest).
const redis::Script &find() {
  static const redis::Script s = make(R"lua(
if ARGV[2] ~= '' then
  local r = tonumber(ARGV[2])
  local ids = redis.call('ZRANGE', KEYS[2], r, r)
  if ids[1] ~= ARGV[1] then return 'HPSTALE' end
end
return info(KEYS[1], KEYS[2], ARGV[1]) or false
)lua");
  return s;
}

// KEYS: names, then f:<id>, n:<filename> of each member. ARGV: latest only
// ('1'/'0'), then the members, read from names just before. Returns, per
// member, its file, or 0 when it is gone or (latest only) not the latest.
const redis::Script &list() {
  static const redis::Script s = make(R"lua(
local out = {}
for i = 2, #ARGV do
  local k = 2 * (i - 1)
  local f = redis.call('ZSCORE', KEYS[1], ARGV[i]) and info(KEYS[k], KEYS[k + 1], string.sub(ARGV[i], -24))
  if f and ARGV[1] == '1' and f[10] ~= redis.call('ZCARD', KEYS[k + 1]) - 1 then f = nil end
  table.insert(out, f or 0)
end
return out
)lua");
  return s;
}

// KEYS: n:<filename>, names, then per file f:<id> and its chunk keys.
// ARGV: files the name must have ('' for any), then per file: id, chunk
// keys. Deletes those files; returns how many.
const redis::Script &remove() {
  static const redis::Script s = make(R"lua(
if ARGV[1] ~= '' and redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[1]) then return 'HPSTALE' end
local n, k = 0, 3
for a = 2, #ARGV, 2 do
  local id, chunks = ARGV[a], tonumber(ARGV[a + 1])
  local h = redis.call('HMGET', KEYS[k], 'filename', 'seq')
  if h[1] then
    redis.call('DEL', KEYS[k])
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], h[1] .. '\0' .. string.format('%016x', tonumber(h[2])) .. '\0' .. id)
    for c = k + 1, k + chunks do redis.call('UNLINK', KEYS[c]) end
    n = n + 1
  end
  k = k + 1 + chunks
end
return n
)lua");
  return s;
}

// KEYS: uploads. Returns {id, entry, ...} of the uploads whose lease ran out.
const redis::Script &expired_uploads() {
  static const redis::Script s = make(R"lua(
local now, out = now_ms(), {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local d = string.match(all[i + 1], '^(%d+):%d+$')
  if not d or tonumber(d) < now then
    table.insert(out, all[i])
    table.insert(out, all[i + 1])
  end
end
return out
)lua");
  return s;
}

// KEYS: uploads, then the chunk keys of each upload. ARGV: per upload: id,
// its entry as expired_uploads() read it, chunk keys. Reclaims those whose
// entry did not change since (a write renews the lease); returns how many.
const redis::Script &gc() {
  static const redis::Script s = make(R"lua(
local n, k = 0, 2
for a = 1, #ARGV, 3 do
  local chunks = tonumber(ARGV[a + 2])
  if redis.call('HGET', KEYS[1], ARGV[a]) == ARGV[a + 1] then
    for c = k, k + chunks - 1 do redis.call('UNLINK', KEYS[c]) end
    redis.call('HDEL', KEYS[1], ARGV[a])
    n = n + 1
  end
  k = k + chunks
end
return n
)lua");
  return s;
}

}  // namespace hp::blobs::scripts
