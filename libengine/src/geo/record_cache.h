// Decoded records by data offset: lock-free reads, inserts under one of 64
// shard locks, tables that grow by copying (old tables live until the cache
// dies, so a reader never sees freed memory).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hotpath.h"

namespace hp::geo {

// The flat fields of one record (hp_geo_lookup's view), strings as
// (offset, length) into `text`.
struct Flat {
  uint32_t flags = 0;
  uint32_t asn = 0;
  uint32_t accuracy_radius = 0;
  double latitude = 0, longitude = 0;
  uint16_t off[HP_GEO_STRING_FIELDS] = {};
  uint16_t len[HP_GEO_STRING_FIELDS] = {};
  std::string text;
};

struct Record {
  uint32_t offset = 0;
  std::unique_ptr<hp_geo_value[]> nodes;
  size_t count = 0;
  Flat flat;
  const hp_geo_value *root() const { return nodes.get(); }
};

class RecordCache {
 public:
  explicit RecordCache(size_t max_records) : max_(max_records) {}
  ~RecordCache();
  RecordCache(const RecordCache &) = delete;
  RecordCache &operator=(const RecordCache &) = delete;

  const Record *find(uint32_t offset) const {
    const Shard &s = shards_[shard_of(offset)];
    const Table *t = s.table.load(std::memory_order_acquire);
    if (!t) return nullptr;
    for (uint32_t h = hash(offset) & t->mask;; h = (h + 1) & t->mask) {
      const Record *r = t->slots[h].load(std::memory_order_acquire);
      if (!r) return nullptr;
      if (r->offset == offset) return r;
    }
  }

  // Takes `r` and returns the cached record for its offset (r, or one
  // another thread inserted first). Returns nullptr and leaves `r` with the
  // caller when the cache is full.
  const Record *insert(std::unique_ptr<Record> &r);

 private:
  struct Table {
    uint32_t mask;
    std::unique_ptr<std::atomic<const Record *>[]> slots;
  };
  struct Shard {
    std::atomic<Table *> table{nullptr};
    std::mutex mu;
    size_t count = 0;
    std::vector<std::unique_ptr<Table>> tables;  // current and retired
  };
  static uint32_t hash(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352d;
    x ^= x >> 15;
    x *= 0x846ca68b;
    x ^= x >> 16;
    return x;
  }
  static uint32_t shard_of(uint32_t offset) { return hash(offset) >> 26; }
  static constexpr size_t kShards = 64;

  size_t max_;
  std::atomic<size_t> total_{0};
  Shard shards_[kShards];
};

}  // namespace hp::geo
