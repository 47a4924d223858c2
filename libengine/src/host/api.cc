// extern "C" definitions of the host subsystem.
#include <string>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "host/sample.h"
#include "host/snapshot.h"

using hp::core::set_error;

extern "C" {

int hp_host_snapshot(hp_host_info *out) {
  if (!out) return set_error(HP_EINVAL, "host_snapshot: out is NULL");
  if (out->version != HP_HOST_INFO_VERSION)
    return set_error(HP_EINVAL, "host_snapshot: unknown hp_host_info version ", std::to_string(out->version));
  return hp::host::snapshot(out);
}

int hp_host_sample(hp_engine *e, uint32_t window_ms, hp_host_sample_cb cb, void *data) {
  if (!e || !cb) return set_error(HP_EINVAL, "host_sample: engine or cb is NULL");
  if (window_ms == 0) window_ms = HP_HOST_SAMPLE_WINDOW_MS;
  if (window_ms > 60000) return set_error(HP_EINVAL, "host_sample: window_ms ", std::to_string(window_ms), " is over 60000");
  return hp::core::guard("host_sample", [&] {
    return hp::host::start_sample(hp::core::Engine::from_c(e), window_ms, cb, data);
  });
}

}  // extern "C"
