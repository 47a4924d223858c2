// Stats objects (camelCase, as index.d.ts declares them) shared by the
// wrapped handle kinds.
#pragma once

#include "addon.h"

namespace hp_node {

// The Redis figures of a handle, or null when it has no Redis client.
Napi::Value RedisStatsObject(Napi::Env env, const hp_redis_stats &r, bool present);
Napi::Object GeoStatsObject(Napi::Env env, const hp_geo_stats &s);
Napi::Object LimiterStatsObject(Napi::Env env, const hp_limiter_stats &s, bool redis);
Napi::Object BlobsStatsObject(Napi::Env env, const hp_blobs_stats &s, bool redis);

void InitObserve(Napi::Env env, Napi::Object exports);

}  // namespace hp_node
