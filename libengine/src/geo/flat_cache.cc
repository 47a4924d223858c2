#include "geo/flat_cache.h"

#include <sys/mman.h>

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
    p->len[i] = f.len[i];
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
  // Slot values count 8-byte units from 1.
  constexpr size_t kMaxArena = size_t(0xffffffffu - 1) << 3;
  bytes = (bytes < kMaxArena ? bytes : kMaxArena) & ~size_t(4095);
  if (count == 0 || bytes == 0) return;
  slots_bytes_ = count * sizeof(std::atomic<uint32_t>);
  slots_ = static_cast<std::atomic<uint32_t> *>(map_zeroed(slots_bytes_));
  arena_ = static_cast<uint8_t *>(map_zeroed(bytes));
  if (!slots_ || !arena_) {
    if (slots_) munmap(slots_, slots_bytes_);
    if (arena_) munmap(arena_, bytes);
    slots_ = nullptr;
    arena_ = nullptr;
    return;
  }
  arena_bytes_ = bytes;
}

const Packed *FlatCache::put(uint32_t id, const Flat &f) const {
  if (!slots_) return nullptr;
  size_t size = Packed::size_of(f);
  size_t at = used_.fetch_add(size, std::memory_order_relaxed);
  if (at + size > arena_bytes_) return nullptr;  // full: used_ stays past the end
  const Packed *p = Packed::write(f, arena_ + at);
  uint32_t expected = 0;
  if (slots_[id].compare_exchange_strong(expected, static_cast<uint32_t>(at >> 3) + 1,
                                         std::memory_order_acq_rel))
    return p;
  return reinterpret_cast<const Packed *>(arena_ + (size_t(expected - 1) << 3));
}

}  // namespace hp::geo
