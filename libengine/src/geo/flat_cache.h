// hp_geo_lookup's view of decoded records, packed: one block per record
// (the flat fields, then their strings, each followed by a NUL, in field
// order). Every record id owns a 128-byte, line-aligned slot at
// id * 128 in one mapping on huge pages: a cached lookup goes from the id
// straight to its two lines (no index to read first) and copies the
// strings with one memcpy. A block too large for its slot (a few in a
// thousand on DB-IP City) lives in an overflow arena the slot points to.
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
  uint16_t off[HP_GEO_STRING_FIELDS];  // of each string in text()
  const char *text() const { return reinterpret_cast<const char *>(this + 1); }

  // Bytes the block of `f` takes (a multiple of 8).
  static size_t size_of(const Flat &f);
  // Writes the block of `f` at `to` (size_of(f) bytes, 8-aligned).
  static const Packed *write(const Flat &f, void *to);
};

class FlatCache {
 public:
  static constexpr size_t kSlotBytes = 128;

  FlatCache() = default;
  ~FlatCache();
  FlatCache(const FlatCache &) = delete;
  FlatCache &operator=(const FlatCache &) = delete;

  // Slots for the first `count` ids that fit in `bytes`, and an overflow
  // arena. Without the memory the cache stays off (every find() misses):
  // no error.
  void init(size_t count, size_t bytes);

  // The block of record `id`, or nullptr.
  const Packed *find(uint32_t id) const {
    if (id >= count_) return nullptr;
    const uint8_t *slot = slots_ + size_t(id) * kSlotBytes;
    // The strings are on the second line: ask for it with the first.
    __builtin_prefetch(slot + 64);
    const Slot *s = reinterpret_cast<const Slot *>(slot);
    uint32_t state = s->state.load(std::memory_order_acquire);
    if (state == kInline) return &s->block;
    if (state == kOverflow) return s->far;
    return nullptr;
  }

  // Bytes the block of `f` takes in the cache (its slot, and its overflow).
  static size_t cost(const Flat &f);
  // Stores the block of `f` for `id` (once: a slot is never rewritten):
  // the block now cached for it (*stored: by this call, else by another
  // thread first), or nullptr when `id` has no slot, the overflow arena is
  // full or another thread is storing it (the caller packs into memory of
  // its own).
  const Packed *put(uint32_t id, const Flat &f, bool *stored) const;

 private:
  enum : uint32_t { kEmpty, kWriting, kInline, kOverflow, kNoRoom };
  static constexpr size_t kBlockAt = 8;  // the block's place in its slot
  struct Slot {
    std::atomic<uint32_t> state;
    uint32_t unused;
    union {
      Packed block;       // kInline: the block, its text to the slot's end
      const Packed *far;  // kOverflow: the block in the arena
    };
  };
  static_assert(sizeof(Slot) == 64 && sizeof(Packed) + kBlockAt == 64, "a slot's head is one cache line");

  uint8_t *slots_ = nullptr;
  size_t slots_bytes_ = 0;
  size_t count_ = 0;
  uint8_t *arena_ = nullptr;
  size_t arena_bytes_ = 0;
  mutable std::atomic<size_t> used_{0};
};

}  // namespace hp::geo
