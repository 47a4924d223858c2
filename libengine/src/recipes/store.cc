#include "recipes/store.h"

#include <atomic>

namespace hp::recipes {

namespace {
std::atomic<uint64_t> g_version{0};

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
}  // namespace

Rec *Rec::init(void *mem, std::string_view key, const TapeWriter &tape, int64_t num, int64_t timestamp) {
  auto *rec = static_cast<Rec *>(mem);
  rec->version = 0;
  rec->timestamp = timestamp;
  rec->num = num;
  rec->rules = nullptr;
  rec->dict = tape.dict();
  rec->json_len = tape.text_len();
  rec->key_len = static_cast<uint32_t>(key.size());
  rec->tombstone = 0;
  char *kb = reinterpret_cast<char *>(rec + 1);
  if (!key.empty()) std::memcpy(kb, key.data(), key.size());
  if (!tape.tape().empty()) std::memcpy(kb + key.size(), tape.tape().data(), tape.tape().size());
  return rec;
}

bool same_json(const Rec *a, const Rec *b) {
  if (a->json_len != b->json_len || a->tombstone || b->tombstone) return false;
  // Tapes over different dictionaries can differ for one text: compare text.
  thread_local std::string x, y;
  x.resize(a->json_len);
  y.resize(b->json_len);
  a->write_json(x.data());
  b->write_json(y.data());
  return x == y;
}

uint64_t next_record_version() { return g_version.fetch_add(1, std::memory_order_relaxed) + 1; }

uint64_t hash_key(const Key &k) {
  if (!k.is_str) return mix64(static_cast<uint64_t>(k.num) + 0x9e3779b97f4a7c15ULL);
  // 8 bytes at a time, then the tail; seeded by the length.
  const char *p = k.str.data();
  size_t n = k.str.size();
  uint64_t h = 0x243f6a8885a308d3ULL ^ (n * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) ;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return mix64(h ^ w ^ (uint64_t(n) << 56));
}

void *Arena::alloc(size_t n) {
  n = (n + 7) & ~size_t(7);
  if (n > left_) {
    size_t block = n > (1u << 20) ? n : (1u << 20);
    std::unique_ptr<char[]> b(new char[block]);
    blocks_.push_back(std::move(b));  // a throw here leaves `b` owning it
    cur_ = blocks_.back().get();
    left_ = block;
    bytes_ += block;
  }
  void *p = cur_;
  cur_ += n;
  left_ -= n;
  return p;
}

void Index::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(cap, Slot{0, nullptr});
  size_t mask = cap - 1;
  for (const Slot &s : old) {
    if (!s.rec) continue;
    size_t i = s.hash & mask;
    while (slots_[i].rec) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void Index::grow() { reserve(slots_.empty() ? 8 : slots_.size()); }

const Rec *Index::put(const Key &k, uint64_t hash, const Rec *r) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot &s = slots_[i];
    if (!s.rec) {
      s.hash = hash;
      s.rec = r;
      count_++;
      return nullptr;
    }
    if (s.hash == hash && s.rec->matches(k)) {
      const Rec *old = s.rec;
      s.rec = r;
      return old;
    }
  }
}

void OverlayIndex::place(Table *t, uint64_t hash, std::shared_ptr<const OwnedRec> rec, size_t at) {
  Slot &s = t->slots[at];
  s.hash.store(hash, std::memory_order_relaxed);
  s.rec.store(rec->rec, std::memory_order_release);
  t->owners[at] = std::move(rec);
}

void OverlayIndex::put(const Key &k, uint64_t hash, std::shared_ptr<const OwnedRec> rec) {
  Table *t = table_.load(std::memory_order_relaxed);
  if ((t->count + 1) * 2 > t->mask + 1) {
    // Grow into a new array, published whole; readers on the old one still
    // find every record there until it is reclaimed.
    auto bigger = std::make_unique<Table>((t->mask + 1) * 2);
    for (size_t i = 0; i <= t->mask; i++) {
      if (!t->owners[i]) continue;
      uint64_t h = t->slots[i].hash.load(std::memory_order_relaxed);
      size_t j = h & bigger->mask;
      while (bigger->owners[j]) j = (j + 1) & bigger->mask;
      place(bigger.get(), h, t->owners[i], j);
    }
    bigger->count = t->count;
    table_.store(bigger.get(), std::memory_order_release);
    retired_tables_.emplace_back(t);
    t = bigger.release();
  }
  for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    if (!t->owners[i]) {
      place(t, hash, std::move(rec), i);
      t->count++;
      used_.store(true, std::memory_order_release);
      return;
    }
    if (t->slots[i].hash.load(std::memory_order_relaxed) == hash && t->owners[i]->rec->matches(k)) {
      retired_recs_.push_back(std::move(t->owners[i]));
      place(t, hash, std::move(rec), i);
      return;
    }
  }
}

}  // namespace hp::recipes
