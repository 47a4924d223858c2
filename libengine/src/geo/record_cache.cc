#include "geo/record_cache.h"

namespace hp::geo {

RecordCache::~RecordCache() {
  for (auto &s : shards_) {
    Table *t = s.table.load(std::memory_order_relaxed);
    if (!t) continue;
    for (uint32_t i = 0; i <= t->mask; i++) delete t->slots[i].load(std::memory_order_relaxed);
  }
}

const Record *RecordCache::insert(std::unique_ptr<Record> &r) {
  Shard &s = shards_[shard_of(r->offset)];
  std::lock_guard<std::mutex> lock(s.mu);
  Table *t = s.table.load(std::memory_order_relaxed);
  if (t) {
    for (uint32_t h = hash(r->offset) & t->mask;; h = (h + 1) & t->mask) {
      const Record *old = t->slots[h].load(std::memory_order_relaxed);
      if (!old) break;
      if (old->offset == r->offset) return old;
    }
  }
  if (total_.load(std::memory_order_relaxed) >= max_) return nullptr;
  if (!t || (s.count + 1) * 2 > size_t(t->mask) + 1) {
    uint32_t cap = t ? (t->mask + 1) * 2 : 64;
    auto nt = std::make_unique<Table>();
    nt->mask = cap - 1;
    nt->slots.reset(new std::atomic<const Record *>[cap]);
    for (uint32_t i = 0; i < cap; i++) nt->slots[i].store(nullptr, std::memory_order_relaxed);
    if (t) {
      for (uint32_t i = 0; i <= t->mask; i++) {
        const Record *x = t->slots[i].load(std::memory_order_relaxed);
        if (!x) continue;
        uint32_t h = hash(x->offset) & nt->mask;
        while (nt->slots[h].load(std::memory_order_relaxed)) h = (h + 1) & nt->mask;
        nt->slots[h].store(x, std::memory_order_relaxed);
      }
    }
    t = nt.get();
    s.tables.push_back(std::move(nt));
    s.table.store(t, std::memory_order_release);
  }
  uint32_t h = hash(r->offset) & t->mask;
  while (t->slots[h].load(std::memory_order_relaxed)) h = (h + 1) & t->mask;
  const Record *done = r.release();
  t->slots[h].store(done, std::memory_order_release);
  s.count++;
  total_.fetch_add(1, std::memory_order_relaxed);
  return done;
}

}  // namespace hp::geo
