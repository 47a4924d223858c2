// hp_geo_lookup's view of decoded records, packed: one block per record id
// (the flat fields, then their strings, each followed by a NUL, in field
// order) in one arena on huge pages, so a cached lookup reads the id's slot
// and one block, and copies the strings with one memcpy.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "geo/record.h"

namespace hp::geo {

struct Packed {
  uint32_t flags;
  uint32_t asn;
  uint32_t accuracy_radius;
  uint32_t text_len;  // bytes of text(), the NULs included
  double latitude, longitude;
  uint16_t off[HP_GEO_STRING_FIELDS];
  uint16_t len[HP_GEO_STRING_FIELDS];
  const char *text() const { return reinterpret_cast<const char *>(this + 1); }

  // Bytes the block of `f` takes (a multiple of 8).
  static size_t size_of(const Flat &f);
  // Writes the block of `f` at `to` (size_of(f) bytes, 8-aligned).
  static const Packed *write(const Flat &f, void *to);
};

class FlatCache {
 public:
  FlatCache() = default;
  ~FlatCache();
  FlatCache(const FlatCache &) = delete;
  FlatCache &operator=(const FlatCache &) = delete;

  // Slots for `count` ids and an arena of at most `bytes`. Without the
  // memory the cache stays off (every find() misses): no error.
  void init(size_t count, size_t bytes);

  // The block of record `id` (< count), or nullptr.
  const Packed *find(uint32_t id) const {
    if (!slots_) return nullptr;
    uint32_t at = slots_[id].load(std::memory_order_acquire);
    if (!at) return nullptr;
    const uint8_t *p = arena_ + (size_t(at - 1) << 3);
    // A block spans three or four lines: ask for them all now, not for the
    // strings one memory round trip after the head.
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + 128);
    __builtin_prefetch(p + 192);
    return reinterpret_cast<const Packed *>(p);
  }

  // Stores the block of `f` for `id`: the block now cached for it (another
  // thread's, when it raced), or nullptr when the arena is full.
  const Packed *put(uint32_t id, const Flat &f) const;

 private:
  std::atomic<uint32_t> *slots_ = nullptr;  // (arena offset / 8) + 1; 0: none
  size_t slots_bytes_ = 0;
  uint8_t *arena_ = nullptr;
  size_t arena_bytes_ = 0;
  mutable std::atomic<size_t> used_{0};
};

}  // namespace hp::geo
