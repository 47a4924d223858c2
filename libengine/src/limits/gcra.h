// GCRA (generic cell rate algorithm): one stored number per key, the
// theoretical arrival time (TAT) of the next hit. The memory and SQLite
// backends share this arithmetic; Redis runs the same steps in Lua.
#pragma once

#include <algorithm>
#include <cstdint>

#include "limits/types.h"

namespace hp::limits {

inline uint64_t ceil_ms(uint64_t ns) { return (ns + 999999) / 1000000; }

// Decides one hit at `now` against the stored TAT (0: never hit). Returns
// the TAT to store, or `stored` when nothing changes (denied, or cost 0).
inline uint64_t gcra(uint64_t now, uint64_t stored, const Rate &r, hp_rate_result *out) {
  uint64_t tat = std::max(stored, now);
  uint64_t new_tat = tat + r.interval_ns * r.cost;
  uint64_t allow_at = new_tat > r.tolerance_ns ? new_tat - r.tolerance_ns : 0;
  uint64_t horizon = now + r.tolerance_ns;
  if (now < allow_at) {
    out->allowed = 0;
    out->retry_after_ms = ceil_ms(allow_at - now);
    out->remaining = horizon > tat ? static_cast<uint32_t>((horizon - tat) / r.interval_ns) : 0;
    out->reset_after_ms = ceil_ms(tat - now);
    return stored;
  }
  out->allowed = 1;
  out->retry_after_ms = 0;
  out->remaining = horizon > new_tat ? static_cast<uint32_t>((horizon - new_tat) / r.interval_ns) : 0;
  out->reset_after_ms = ceil_ms(new_tat - now);
  return r.cost ? new_tat : stored;
}

}  // namespace hp::limits
