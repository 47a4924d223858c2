// A walk over every network of one database that has a record, in address
// order, as readers' iterators give them (maxminddb's `for network, record
// in reader`).
#pragma once

#include <cstdint>
#include <vector>

#include "geo/database.h"

namespace hp::geo {

class Walk {
 public:
  explicit Walk(const Database &db);

  // The next network with a record: 1 with `address` (16 bytes in an IPv6
  // database, 4 in an IPv4 one, big-endian), *prefix and *hit set; 0 at
  // the end; HP_ECORRUPT for a tree that loops or is deeper than its
  // addresses.
  int next(uint8_t address[16], unsigned *prefix, Hit *hit);

 private:
  struct Item {
    uint32_t node;
    unsigned depth;
    unsigned __int128 bits;  // the address so far, `depth` bits
  };
  const Database &db_;
  unsigned width_;  // 32 or 128
  std::vector<Item> stack_;
  uint64_t visits_ = 0;
};

}  // namespace hp::geo
