// Compact native records and the immutable tables readers see: a file's
// records (Base), the point updates on top of it (Overlay), and the pair a
// table publishes with one pointer swap (Snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "recipes/rules.h"
#include "recipes/tape.h"

namespace hp::recipes {

// A key as tables compare it: a number or bytes.
struct Key {
  bool is_str = false;
  int64_t num = 0;
  std::string_view str;
};

uint64_t hash_key(const Key &k);

// One record: this header, then the key's bytes, then its tape (tape.h),
// which writes back the record's minified JSON text, json_len bytes.
struct Rec {
  uint64_t version;
  int64_t timestamp;
  int64_t num;          // integer key
  const Rules *rules;   // compiled rules, or nullptr
  const Dict *dict;     // the tape's interned names and strings, or nullptr
  uint64_t json_len;
  uint32_t key_len;     // string key bytes
  uint32_t tombstone;   // 1: a point delete

  const char *key_bytes() const { return reinterpret_cast<const char *>(this + 1); }
  const uint8_t *tape() const { return reinterpret_cast<const uint8_t *>(key_bytes() + key_len); }
  // Writes the JSON text to `out`, which has room for json_len bytes.
  void write_json(char *out) const {
    char *end;
    recipes::write_json(tape(), dict, out, &end);
  }
  bool matches(const Key &k) const {
    if (!k.is_str) return num == k.num;
    return key_len == k.str.size() && std::memcmp(key_bytes(), k.str.data(), key_len) == 0;
  }
  Key key(bool is_str) const {
    Key k;
    k.is_str = is_str;
    k.num = num;
    if (is_str) k.str = std::string_view(key_bytes(), key_len);
    return k;
  }
  static size_t size_for(size_t key_len, size_t tape_len) {
    return (sizeof(Rec) + key_len + tape_len + 7) & ~size_t(7);
  }
  // Fills a record's header and bytes at `mem` (size_for() bytes) from an
  // encoded item; the version is left to the caller.
  static Rec *init(void *mem, std::string_view key, const TapeWriter &tape, int64_t num, int64_t timestamp);
};

// Whether two records write the same JSON text.
bool same_json(const Rec *a, const Rec *b);

uint64_t next_record_version();

// Bump allocator for records of one Base.
class Arena {
 public:
  void *alloc(size_t n);
  uint64_t bytes() const { return bytes_; }
  // Takes over another arena's blocks (its records stay where they are).
  void absorb(Arena &&other) {
    for (auto &b : other.blocks_) blocks_.push_back(std::move(b));
    bytes_ += other.bytes_;
    other.blocks_.clear();
    other.bytes_ = 0;
    other.left_ = 0;
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  char *cur_ = nullptr;
  size_t left_ = 0;
  uint64_t bytes_ = 0;
};

// Open-addressing hash index from key to record.
class Index {
 public:
  void reserve(size_t n);
  // Inserts or replaces; returns the record it replaced, or nullptr.
  const Rec *put(const Key &k, uint64_t hash, const Rec *r);
  const Rec *find(const Key &k, uint64_t hash) const {
    if (slots_.empty()) return nullptr;
    size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot &s = slots_[i];
      if (!s.rec) return nullptr;
      if (s.hash == hash && s.rec->matches(k)) return s.rec;
    }
  }
  size_t size() const { return count_; }
  uint64_t bytes() const { return slots_.size() * sizeof(Slot); }
  template <class Fn>
  void each(Fn &&fn) const {
    for (const Slot &s : slots_)
      if (s.rec) fn(s.rec);
  }

 private:
  struct Slot {
    uint64_t hash;
    const Rec *rec;
  };
  void grow();
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

// The records of one loaded file. Immutable once published.
struct Base {
  Arena arena;
  Index index;
  RuleSet rules;
  std::vector<std::unique_ptr<Dict>> dicts;  // one per part parsed on its own
  int64_t timestamp = 0;
  uint64_t bytes() const {
    uint64_t n = arena.bytes() + index.bytes();
    for (const auto &d : dicts) n += d->bytes();
    return n;
  }
};

// A record made by a point update, owned on its own.
struct OwnedRec {
  std::unique_ptr<char[]> mem;
  std::unique_ptr<Rules> rules;
  const Rec *rec = nullptr;
};

// The index of point updates on top of a Base. One writer at a time (under
// the set's write lock) changes it in place while readers look keys up
// without a lock: a slot's hash is written before its record is published,
// and a replaced record or outgrown slot array is kept until retired() is
// reclaimed after a grace period. An update costs amortised O(1), however
// many updates came before it.
class OverlayIndex {
 public:
  OverlayIndex() : table_(new Table(8)) {}
  ~OverlayIndex() { delete table_.load(std::memory_order_relaxed); }
  OverlayIndex(const OverlayIndex &) = delete;
  OverlayIndex &operator=(const OverlayIndex &) = delete;

  // Readers, inside a read section.
  const Rec *find(const Key &k, uint64_t hash) const {
    if (!used_.load(std::memory_order_acquire)) return nullptr;  // most tables: no updates since the load
    const Table *t = table_.load(std::memory_order_acquire);
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
      const Slot &s = t->slots[i];
      const Rec *r = s.rec.load(std::memory_order_acquire);
      if (!r) return nullptr;
      if (s.hash.load(std::memory_order_relaxed) == hash && r->matches(k)) return r;
    }
  }
  template <class Fn>
  void each(Fn &&fn) const {
    const Table *t = table_.load(std::memory_order_acquire);
    for (size_t i = 0; i <= t->mask; i++)
      if (const Rec *r = t->slots[i].rec.load(std::memory_order_acquire)) fn(r);
  }

  // The writer. Inserts or replaces the record of `rec`'s key.
  void put(const Key &k, uint64_t hash, std::shared_ptr<const OwnedRec> rec);
  // Records in the index, tombstones included.
  size_t size() const { return table_.load(std::memory_order_relaxed)->count; }
  template <class Fn>
  void each_owned(Fn &&fn) const {
    const Table *t = table_.load(std::memory_order_relaxed);
    for (const auto &o : t->owners)
      if (o) fn(o);
  }
  // What put() replaced: free it with reclaim() once no reader can hold it.
  size_t retired() const { return retired_recs_.size() + retired_tables_.size(); }
  void reclaim() {
    retired_recs_.clear();
    retired_tables_.clear();
  }

 private:
  struct Slot {
    std::atomic<uint64_t> hash{0};
    std::atomic<const Rec *> rec{nullptr};
  };
  struct Table {
    explicit Table(size_t cap) : mask(cap - 1), slots(new Slot[cap]), owners(cap) {}
    size_t mask;
    std::unique_ptr<Slot[]> slots;
    std::vector<std::shared_ptr<const OwnedRec>> owners;  // by slot; the writer's
    size_t count = 0;
  };
  static void place(Table *t, uint64_t hash, std::shared_ptr<const OwnedRec> rec, size_t at);
  std::atomic<Table *> table_;
  std::atomic<bool> used_{false};  // set by the first put()
  std::vector<std::shared_ptr<const OwnedRec>> retired_recs_;
  std::vector<std::unique_ptr<Table>> retired_tables_;
};

// Point updates on top of a Base.
struct Overlay {
  OverlayIndex index;
};

// What readers of a table see. A load publishes a new one; a point update
// changes its overlay in place.
struct Snapshot {
  std::shared_ptr<const Base> base;
  std::shared_ptr<Overlay> overlay = std::make_shared<Overlay>();
  std::atomic<uint64_t> size{0};

  const Rec *find(const Key &k, uint64_t hash) const {
    if (const Rec *r = overlay->index.find(k, hash)) return r->tombstone ? nullptr : r;
    return base ? base->index.find(k, hash) : nullptr;
  }
};

}  // namespace hp::recipes
