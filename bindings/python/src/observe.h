// Stats dicts (snake_case, as the .pyi TypedDicts declare them) shared by
// the wrapped handle kinds, and the engine's events sent to logging.
#pragma once

#include "module.h"

namespace hp_py {

// The interpreter is shutting down: no Python code may run.
bool finalizing();
// Sends the engine's background events to hotpath._log.emit.
void watch_events(hp_engine *e);

// The Redis figures of a handle, or None when it has no Redis client.
py::object redis_stats_dict(const hp_redis_stats &r, bool present);
py::dict geo_stats_dict(const hp_geo_stats &s);
py::dict limiter_stats_dict(const hp_limiter_stats &s, bool redis);
py::dict blobs_stats_dict(const hp_blobs_stats &s, bool redis);

void init_observe(py::module_ &m);

}  // namespace hp_py
