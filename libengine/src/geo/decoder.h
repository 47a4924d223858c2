// A bounded decoder for the MaxMind DB data section: every read is checked
// against the section, nesting and pointer chains are limited, and each
// record is decoded within a budget of values and bytes, so a damaged file
// gives HP_ECORRUPT and a hostile one HP_ELIMIT, never unbounded work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hotpath.h"

namespace hp::geo {

// Deepest nesting of maps, arrays and pointers in one value.
constexpr unsigned kMaxDepth = 128;

// The work one decoded value may cost, as libmaxminddb, the Go reader and
// maxminddb count it: the values produced and the bytes of string and bytes
// payload. A value reached through several pointers counts once per
// reference (what a caller walking the result reads), though it is decoded
// and validated only once.
struct Budget {
  uint64_t max_bytes = HP_GEO_MAX_RECORD_BYTES;  // string and bytes payload
  uint64_t max_nodes = HP_GEO_MAX_RECORD_NODES;  // values produced
};

class Decoder {
 public:
  // `base` is where pointers count from (the data section, or the metadata
  // start); `size` is how many bytes after it may be read.
  Decoder(const uint8_t *base, size_t size, Budget budget = Budget()) : base_(base), size_(size), budget_(budget) {}

  // Decodes the value at `offset` into `nodes` (cleared first). nodes[0] is
  // the root; containers point into `nodes`, so it must not change after.
  // A target reached through several pointers is decoded once and its
  // subtree shared. Returns 0, HP_ECORRUPT or HP_ELIMIT (over the budget,
  // naming the limit) with `*error` set.
  int decode(uint32_t offset, std::vector<hp_geo_value> &nodes, std::string *error) const;

 private:
  struct Ctx;
  bool value(Ctx &c, size_t slot, size_t &pos, unsigned depth) const;
  const uint8_t *base_;
  size_t size_;
  Budget budget_;
};

// True when [s, s+n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool valid_utf8(const uint8_t *s, size_t n);

}  // namespace hp::geo
