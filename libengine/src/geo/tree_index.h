// Built once per opened file: a dense id for every record the search tree
// points to, and a table over the first `bits` bits of IPv4 addresses that
// gives the record (or the node to walk on from) in one memory access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "geo/tree.h"

namespace hp::geo {

class TreeIndex {
 public:
  static constexpr uint32_t kNoId = 0x3ffffff;  // also "no record" in a table leaf
  static constexpr uint32_t kLeaf = 0x80000000u;
  static constexpr uint32_t kSlow = 0x7fffffffu;  // walk from the IPv4 root instead

  TreeIndex() = default;
  ~TreeIndex();
  TreeIndex(const TreeIndex &) = delete;
  TreeIndex &operator=(const TreeIndex &) = delete;

  // Numbers the records (ids in tree order), then fills the IPv4 table of
  // 2^bits entries (bits 0: none) from the node `ipv4_start`. Returns 0 or
  // HP_ENOMEM. A tree too large for the table's encoding gets no table.
  int build(const Tree &t, uint32_t ipv4_start, unsigned bits);

  // The id of the record at data offset `offset`, or kNoId.
  uint32_t id_of(uint32_t offset) const {
    if (slots_.empty()) return kNoId;
    for (uint32_t h = hash(offset) & mask_;; h = (h + 1) & mask_) {
      uint64_t k = slots_[h];
      if (uint32_t(k >> 32) == offset + 1) return uint32_t(k);
      if (k == 0) return kNoId;
    }
  }
  uint32_t offset_of(uint32_t id) const { return offsets_[id]; }
  size_t count() const { return offsets_.size(); }

  unsigned bits() const { return bits_; }
  // Table entry of an IPv4 address (bits() > 0): kLeaf | prefix << 26 | id
  // (id kNoId: no record), a node number to walk on from at depth bits(),
  // or kSlow.
  uint32_t entry(uint32_t ip) const { return table_[ip >> (32 - bits_)]; }
  const uint32_t *entry_ptr(uint32_t ip) const { return table_ + (ip >> (32 - bits_)); }
  size_t table_bytes() const { return table_size_; }

 private:
  static uint32_t hash(uint32_t x) { return (x * 0x9E3779B1u) ^ (x >> 15); }
  void number(const Tree &t);
  int fill(const Tree &t, uint32_t ipv4_start, unsigned bits);
  uint32_t add(uint32_t offset);

  std::vector<uint64_t> slots_;  // (offset + 1) << 32 | id; 0 = empty
  uint32_t mask_ = 0;
  std::vector<uint32_t> offsets_;
  uint32_t *table_ = nullptr;
  size_t table_size_ = 0;
  unsigned bits_ = 0;
};

}  // namespace hp::geo
