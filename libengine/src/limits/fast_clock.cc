#include "limits/fast_clock.h"

#include <cstdio>
#include <cstring>

namespace hp::limits {

namespace {

#ifdef HP_LIMITS_HAVE_TSC
bool kernel_uses_tsc() {
  FILE *f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
  if (!f) return false;
  char name[32] = {0};
  bool tsc = std::fgets(name, sizeof name, f) && std::strncmp(name, "tsc\n", 4) == 0;
  std::fclose(f);
  return tsc;
}

// A (counter, ns) pair read close together: the counter on both sides of
// the clock read, retried when something (a preemption) came between.
bool pair(uint64_t *tsc, uint64_t *ns) {
  for (int i = 0; i < 100; i++) {
    uint64_t a = __rdtsc();
    uint64_t t = mono_ns();
    uint64_t b = __rdtsc();
    if (b > a && b - a < 20000) {
      *tsc = a + (b - a) / 2;
      *ns = t;
      return true;
    }
  }
  return false;
}
#endif

}  // namespace

FastClock::Scale FastClock::calibrate() {
  Scale s;
#ifdef HP_LIMITS_HAVE_TSC
  uint64_t t0, n0, t1, n1;
  if (!kernel_uses_tsc() || !pair(&t0, &n0)) return s;
  // 2 ms of counting sets the rate within tens of ppm; only how fast
  // this clock runs matters (nothing compares it with another clock).
  do {
    if (!pair(&t1, &n1)) return s;
  } while (n1 - n0 < 2000000);
  if (t1 <= t0) return s;
  s.mult = static_cast<uint64_t>((static_cast<unsigned __int128>(n1 - n0) << 32) / (t1 - t0));
  // The start as the base: a core whose counter trails by less than 2 ms
  // still reads past it.
  s.tsc0 = t0;
  s.ns0 = n0;
#endif
  return s;
}

}  // namespace hp::limits
