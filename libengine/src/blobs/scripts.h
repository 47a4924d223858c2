// The Lua scripts of the Redis backend. Each runs atomically on the server,
// so a file is published, found, listed or deleted in one step, and
// declares in KEYS every key it touches.
//
// Keys, all under the hash tag {prefix} (one Redis Cluster slot):
//   {p}:seq            commit counter
//   {p}:f:<id>         hash: a committed file's metadata
//   {p}:n:<filename>   sorted set: ids of the filename's files by commit
//                      order (so ZRANK is the revision)
//   {p}:names          sorted set, all scores 0: "<filename>\0<seq, 16 hex
//                      digits>\0<id>", listed in order with ZRANGEBYLEX
//   {p}:c:<id>:<n>     chunk n: its bytes then its CRC32C (4 bytes, LE)
//   {p}:uploads        hash: id of an upload in progress -> "<lease end ms
//                      (server clock)>:<chunks written>"
#pragma once

#include "redis/client.h"

namespace hp::blobs::scripts {

const redis::Script &put_chunk();
const redis::Script &commit();
const redis::Script &abort();
const redis::Script &find();
const redis::Script &list();
const redis::Script &remove();
const redis::Script &expired_uploads();
const redis::Script &gc();

}  // namespace hp::blobs::scripts
