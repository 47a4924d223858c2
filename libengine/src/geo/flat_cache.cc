#include "geo/flat_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace hp::geo {

namespace {

// Anonymous zeroed memory, on huge pages where the kernel gives them (the
// slots and blocks are read at random: a TLB miss per lookup otherwise).
void *map_zeroed(size_t bytes) {
  void *m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  if (bytes >= (size_t(2) << 20)) madvise(m, bytes, MADV_HUGEPAGE);
#endif
  return m;
}

size_t text_bytes(const Flat &f) {
  size_t n = 0;
  for (int i = 0; i < HP_GEO_STRING_FIELDS; i++)
    if (f.flags & (1u << i)) n += f.len[i] + 1;
  return n;
}

}  // namespace

size_t Packed::size_of(const Flat &f) {
  return (sizeof(Packed) + text_bytes(f) + 7) & ~size_t(7);
}

const Packed *Packed::write(const Flat &f, void *to) {
  auto *p = static_cast<Packed *>(to);
  std::memset(p, 0, sizeof *p);
  p->flags = f.flags;
  p->asn = f.asn;
  p->accuracy_radius = f.accuracy_radius;
  p->latitude = f.latitude;
  p->longitude = f.longitude;
  char *text = reinterpret_cast<char *>(p + 1);
  uint32_t used = 0;
  for (int i = 0; i < HP_GEO_STRING_FIELDS; i++) {
    if (!(f.flags & (1u << i))) continue;
    std::memcpy(text + used, f.text.data() + f.off[i], f.len[i]);
    text[used + f.len[i]] = 0;
    p->off[i] = static_cast<uint16_t>(used);
    used += f.len[i] + 1u;
  }
  p->text_len = used;
  return p;
}

FlatCache::~FlatCache() {
  if (slots_) munmap(slots_, slots_bytes_);
  if (arena_) munmap(arena_, arena_bytes_);
}

void FlatCache::init(size_t count, size_t bytes) {
  bytes &= ~size_t(4095);
  size_t fit = bytes / kSlotBytes;
  count = count < fit ? count : fit;
  if (count == 0) return;
  // Address space: pages are only taken as slots and blocks are written,
  // and what is written counts against the byte cap (Database::pack).
  size_t slots = (count * kSlotBytes + 4095) & ~size_t(4095);
  size_t arena = std::min(bytes, (count * 512 + (size_t(1) << 20)) & ~size_t(4095));
  slots_ = static_cast<uint8_t *>(map_zeroed(slots));
  arena_ = static_cast<uint8_t *>(map_zeroed(arena));
  if (!slots_ || !arena_) {
    if (slots_) munmap(slots_, slots);
    if (arena_) munmap(arena_, arena);
    slots_ = arena_ = nullptr;
    return;
  }
  count_ = count;
  slots_bytes_ = slots;
  arena_bytes_ = arena;
}

size_t FlatCache::cost(const Flat &f) {
  size_t size = Packed::size_of(f);
  return kSlotBytes + (kBlockAt + size <= kSlotBytes ? 0 : size);
}

const Packed *FlatCache::put(uint32_t id, const Flat &f, bool *stored) const {
  *stored = false;
  if (id >= count_) return nullptr;
  auto *s = reinterpret_cast<Slot *>(slots_ + size_t(id) * kSlotBytes);
  uint32_t state = kEmpty;
  if (!s->state.compare_exchange_strong(state, kWriting, std::memory_order_acquire)) {
    if (state == kInline) return &s->block;
    if (state == kOverflow) return s->far;
    return nullptr;  // being written by another thread, or no room
  }
  size_t size = Packed::size_of(f);
  if (kBlockAt + size <= kSlotBytes) {
    Packed::write(f, &s->block);
    s->state.store(kInline, std::memory_order_release);
    *stored = true;
    return &s->block;
  }
  size_t at = used_.fetch_add(size, std::memory_order_relaxed);
  if (at + size > arena_bytes_) {  // full: used_ stays past the end
    s->state.store(kNoRoom, std::memory_order_release);
    return nullptr;
  }
  s->far = Packed::write(f, arena_ + at);
  s->state.store(kOverflow, std::memory_order_release);
  *stored = true;
  return s->far;
}

}  // namespace hp::geo
