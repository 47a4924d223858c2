// Host metrics read through libuv.
#pragma once

#include <cstdint>

#include "hotpath.h"

namespace hp::host {

// Fills everything but cpu_load. Returns 0 or an HP_E* code with a message.
int snapshot(hp_host_info *out);

// Cumulative CPU times over all cores, for a load measured between two reads.
struct CpuTimes {
  uint64_t idle = 0;
  uint64_t total = 0;
};
int cpu_times(CpuTimes *out);

// Percent busy between two reads, 0..100.
double cpu_load(const CpuTimes &before, const CpuTimes &after);

}  // namespace hp::host
