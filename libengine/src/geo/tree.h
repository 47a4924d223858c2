// A read-only view of a MaxMind DB search tree.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::geo {

struct Tree {
  const uint8_t *base = nullptr;
  uint32_t node_count = 0;
  unsigned record_size = 0;  // 24, 28 or 32
  unsigned node_bytes = 0;   // record_size / 4
  size_t data_size = 0;      // bytes of the data section

  // The left (bit 0) or right (bit 1) record of `node` (< node_count).
  uint32_t child(uint32_t node, unsigned bit) const {
    const uint8_t *p = base + size_t(node) * node_bytes;
    switch (record_size) {
      case 24:
        return bit ? (uint32_t(p[3]) << 16 | uint32_t(p[4]) << 8 | p[5])
                   : (uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
      case 28:
        return bit ? ((uint32_t(p[3]) & 0x0f) << 24 | uint32_t(p[4]) << 16 | uint32_t(p[5]) << 8 | p[6])
                   : ((uint32_t(p[3]) & 0xf0) << 20 | uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
      default:
        return bit ? (uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7])
                   : (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]);
    }
  }

  // True when a record value points into the data section; *offset is then
  // the data-section offset.
  bool data_offset(uint32_t value, uint32_t *offset) const {
    uint64_t off = uint64_t(value) - node_count;
    if (value <= node_count || off < 16 || off - 16 >= data_size) return false;
    *offset = static_cast<uint32_t>(off - 16);
    return true;
  }
};

}  // namespace hp::geo
