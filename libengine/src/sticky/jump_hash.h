// Jump consistent hash (Lamping & Veach, 2014): maps a key to one of n
// buckets so that going from n to n+1 buckets moves only 1/(n+1) of the keys.
#pragma once

#include <cstdint>

namespace hp::sticky {

inline uint32_t jump_hash(uint64_t key, uint32_t buckets) {
  int64_t b = -1, j = 0;
  while (j < static_cast<int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<uint32_t>(b);
}

}  // namespace hp::sticky
