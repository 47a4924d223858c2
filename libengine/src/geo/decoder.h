// A bounded decoder for the MaxMind DB data section: every read is checked
// against the section, nesting and pointer chains are limited, and the size
// of one decoded record is capped, so a damaged file gives HP_ECORRUPT.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hotpath.h"

namespace hp::geo {

// Deepest nesting of maps, arrays and pointers in one value.
constexpr unsigned kMaxDepth = 128;
// Most values in one decoded record (pointer fan-out cannot blow up).
constexpr size_t kMaxNodes = 1u << 20;

class Decoder {
 public:
  // `base` is where pointers count from (the data section, or the metadata
  // start); `size` is how many bytes after it may be read.
  Decoder(const uint8_t *base, size_t size) : base_(base), size_(size) {}

  // Decodes the value at `offset` into `nodes` (cleared first). nodes[0] is
  // the root; containers point into `nodes`, so it must not change after.
  // Returns 0 or HP_ECORRUPT with `*error` set.
  int decode(uint32_t offset, std::vector<hp_geo_value> &nodes, std::string *error) const;

 private:
  struct Ctx;
  bool value(Ctx &c, size_t slot, size_t &pos, unsigned depth) const;
  const uint8_t *base_;
  size_t size_;
};

// True when [s, s+n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
bool valid_utf8(const uint8_t *s, size_t n);

}  // namespace hp::geo
