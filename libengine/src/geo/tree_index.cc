#include "geo/tree_index.h"

#include <sys/mman.h>

#include <new>

#include "hotpath.h"

namespace hp::geo {

TreeIndex::~TreeIndex() {
  if (table_) munmap(table_, table_size_);
}

uint32_t TreeIndex::add(uint32_t offset) {
  if (offsets_.size() >= kNoId - 1) return id_of(offset);  // past 2^26 records: uncached
  if ((offsets_.size() + 1) * 2 > slots_.size()) {
    size_t cap = slots_.empty() ? 1024 : slots_.size() * 2;
    std::vector<uint64_t> slots(cap, 0);
    uint32_t mask = static_cast<uint32_t>(cap - 1);
    for (uint64_t k : slots_) {
      if (!k) continue;
      uint32_t h = hash(uint32_t(k >> 32) - 1) & mask;
      while (slots[h]) h = (h + 1) & mask;
      slots[h] = k;
    }
    slots_.swap(slots);
    mask_ = mask;
  }
  for (uint32_t h = hash(offset) & mask_;; h = (h + 1) & mask_) {
    uint64_t k = slots_[h];
    if (uint32_t(k >> 32) == offset + 1) return uint32_t(k);
    if (k == 0) {
      uint32_t id = static_cast<uint32_t>(offsets_.size());
      slots_[h] = uint64_t(offset + 1) << 32 | id;
      offsets_.push_back(offset);
      return id;
    }
  }
}

// Every node reachable from the root once (a damaged tree may share or loop
// nodes); every valid data pointer gets the next id.
void TreeIndex::number(const Tree &t) {
  if (t.node_count == 0) return;  // an empty tree: every address is a miss
  std::vector<uint64_t> seen((size_t(t.node_count) + 63) / 64, 0);
  std::vector<uint32_t> stack;
  stack.push_back(0);
  seen[0] |= 1;
  uint32_t last = 0;  // neighbouring networks often share a record
  while (!stack.empty()) {
    uint32_t n = stack.back();
    stack.pop_back();
    // Right child first onto the stack: the left subtree is walked first,
    // which is the order writers lay nodes out in.
    for (int b = 1; b >= 0; b--) {
      uint32_t c = t.child(n, static_cast<unsigned>(b));
      uint32_t off;
      if (c < t.node_count) {
        uint64_t bit = uint64_t(1) << (c & 63);
        if (!(seen[c >> 6] & bit)) {
          seen[c >> 6] |= bit;
          stack.push_back(c);
        }
      } else if (c != last && t.data_offset(c, &off)) {
        add(off);
        last = c;
      }
    }
  }
}

int TreeIndex::fill(const Tree &t, uint32_t ipv4_start, unsigned bits) {
  size_t size = (size_t(1) << bits) * sizeof(uint32_t);
  void *m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return HP_ENOMEM;
#ifdef MADV_HUGEPAGE
  if (size >= (size_t(2) << 20)) madvise(m, size, MADV_HUGEPAGE);
#endif
  table_ = static_cast<uint32_t *>(m);
  table_size_ = size;
  bits_ = bits;
  uint32_t last_value = t.node_count, last_id = kNoId;
  auto leaf = [&](uint32_t value, unsigned depth) -> uint32_t {
    if (value == t.node_count) return kLeaf | depth << 26 | kNoId;
    if (value != last_value) {
      uint32_t off;
      last_value = value;
      last_id = t.data_offset(value, &off) ? id_of(off) : kNoId;
    }
    return last_id == kNoId ? kSlow : (kLeaf | depth << 26 | last_id);
  };
  auto put = [&](uint32_t index, unsigned depth, uint32_t e) {
    size_t first = size_t(index) << (bits - depth), n = size_t(1) << (bits - depth);
    for (size_t i = 0; i < n; i++) table_[first + i] = e;
  };
  if (ipv4_start >= t.node_count) {
    put(0, 0, leaf(ipv4_start, 0));
    return 0;
  }
  struct Item {
    uint32_t node, index;
    unsigned depth;
  };
  std::vector<Item> stack;
  stack.push_back({ipv4_start, 0, 0});
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    for (uint32_t b = 2; b-- > 0;) {
      uint32_t c = t.child(it.node, b);
      uint32_t index = it.index << 1 | b;
      unsigned depth = it.depth + 1;
      if (c >= t.node_count)
        put(index, depth, leaf(c, depth));
      else if (depth == bits)
        table_[index] = c;
      else
        stack.push_back({c, index, depth});
    }
  }
  return 0;
}

int TreeIndex::build(const Tree &t, uint32_t ipv4_start, unsigned bits) {
  try {
    number(t);
  } catch (const std::bad_alloc &) {
    return HP_ENOMEM;
  }
  // Node numbers must stay below kSlow, record ids below kNoId.
  if (bits == 0 || t.node_count >= kSlow || offsets_.size() >= kNoId) return 0;
  try {
    return fill(t, ipv4_start, bits);
  } catch (const std::bad_alloc &) {
    return HP_ENOMEM;
  }
}

}  // namespace hp::geo
