// The Lua scripts of the Redis backend: each check is one EVALSHA. Times
// come from the server (redis.call('TIME')), never from a client clock.
#pragma once

#include "redis/client.h"

namespace hp::limits {

// KEYS: leases zset (resource -> expiry ms), ids hash (resource -> lease
// id, '' -> last id). ARGV: resource, limit, ttl_ms.
// -> {0 granted | 1 held | 2 denied, count, id, [resource, id, ms left]...}
const redis::Script &acquire_script();
// acquire_script() that first requires members: KEYS[3..] are set keys,
// ARGV[4..] the member each must hold (ARGV[i + 1] for KEYS[i]). A member
// missing: nothing is written -> {3 not a member, 0, 0, index from 0}.
const redis::Script &acquire_if_script();
// KEYS as acquire; ARGV: resource. -> 1 released, 0 not held.
const redis::Script &release_script();
// KEYS as acquire; ARGV: resource, ttl_ms. -> 1 renewed, 0 not held.
const redis::Script &renew_script();
// KEYS as acquire. -> {resource, id, ms left}...
const redis::Script &holders_script();
// KEYS: one TAT key per hit. ARGV: per hit increment us, tolerance us,
// key lifetime ms. -> per hit {1 allowed, us from now to the new TAT} |
// {0 denied, us from now to the TAT} | {error, 0}
const redis::Script &gcra_script();
// Local budgets. KEYS: the key's window hash. ARGV: hits wanted, limit per
// window, period ms. -> {granted, window index (decimal string), us left
// in the window, hits of the window nobody holds}
const redis::Script &budget_lease_script();
// KEYS as the lease. ARGV: window index, period ms, hits given back.
// -> hits leased in the window now, -1 when that window is over
const redis::Script &budget_return_script();

}  // namespace hp::limits
