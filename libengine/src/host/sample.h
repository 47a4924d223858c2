// An asynchronous CPU-load sample: two CPU-time reads a window apart, on a
// loop timer.
#pragma once

#include "core/engine.h"
#include "host/snapshot.h"

namespace hp::host {

int start_sample(core::Engine *engine, uint32_t window_ms, hp_host_sample_cb cb, void *data);

}  // namespace hp::host
