// The memory backend's GCRA clock: nanoseconds from the CPU's timestamp
// counter where the kernel itself keeps time with it (clocksource "tsc":
// invariant and in step across cores), read in a fraction of what
// clock_gettime costs; CLOCK_MONOTONIC elsewhere. Its values mean nothing
// outside this process: only in-process state may store them.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HP_LIMITS_HAVE_TSC 1
#endif

namespace hp::limits {

uint64_t mono_ns();

class FastClock {
 public:
  static uint64_t now() {
#ifdef HP_LIMITS_HAVE_TSC
    const Scale &s = scale();
    if (s.mult) {
      uint64_t ticks = __rdtsc() - s.tsc0;
      return s.ns0 + static_cast<uint64_t>((static_cast<unsigned __int128>(ticks) * s.mult) >> 32);
    }
#endif
    return mono_ns();
  }

 private:
  // ns = ns0 + (tsc - tsc0) * mult / 2^32; mult 0: use mono_ns().
  struct Scale {
    uint64_t tsc0 = 0;
    uint64_t ns0 = 0;
    uint64_t mult = 0;
  };
  static const Scale &scale() {
    static const Scale s = calibrate();
    return s;
  }
  static Scale calibrate();
};

}  // namespace hp::limits
