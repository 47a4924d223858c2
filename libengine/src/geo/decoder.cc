#include "geo/decoder.h"

#include <cstring>

namespace hp::geo {

namespace {

enum : uint32_t {
  kPointer = 1,
  kString = 2,
  kDouble = 3,
  kBytes = 4,
  kUint16 = 5,
  kUint32 = 6,
  kMap = 7,
  kInt32 = 8,
  kUint64 = 9,
  kUint128 = 10,
  kArray = 11,
  kContainer = 12,
  kEndMarker = 13,
  kBoolean = 14,
  kFloat = 15,
};

uint64_t be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool valid_utf8(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t extra;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

namespace {

// Pointer targets already decoded in the current record, by offset: a
// second reference copies the decoded value (sharing its subtree) instead
// of following and validating the target again. One per thread, reused.
class TargetMemo {
 public:
  struct Entry {
    uint32_t stamp;   // equals stamp_ when the entry belongs to this record
    uint32_t offset;
    size_t slot;      // where the target's value was decoded
    uint64_t nodes;   // values its subtree counted against the budget
    uint64_t bytes;   // bytes it counted
  };

  void start() {
    used_ = 0;
    if (++stamp_ == 0) {  // wrapped: forget every stamp
      for (Entry &e : table_) e.stamp = 0;
      stamp_ = 1;
    }
    if (table_.size() > 4096) std::vector<Entry>(64).swap(table_);
    if (table_.empty()) table_.resize(64);
  }
  const Entry *find(uint32_t offset) const {
    size_t mask = table_.size() - 1;
    for (size_t i = hash(offset) & mask;; i = (i + 1) & mask) {
      const Entry &e = table_[i];
      if (e.stamp != stamp_) return nullptr;
      if (e.offset == offset) return &e;
    }
  }
  void add(uint32_t offset, size_t slot, uint64_t nodes, uint64_t bytes) {
    if ((used_ + 1) * 2 > table_.size()) grow();
    insert(Entry{stamp_, offset, slot, nodes, bytes});
    used_++;
  }

 private:
  static size_t hash(uint32_t offset) { return (offset * 0x9E3779B1u) >> 7; }
  void insert(const Entry &x) {
    size_t mask = table_.size() - 1;
    size_t i = hash(x.offset) & mask;
    while (table_[i].stamp == stamp_) i = (i + 1) & mask;
    table_[i] = x;
  }
  void grow() {
    std::vector<Entry> old(table_.size() * 2);
    old.swap(table_);
    for (const Entry &e : old)
      if (e.stamp == stamp_) insert(e);
  }
  std::vector<Entry> table_;
  uint32_t stamp_ = 0;
  size_t used_ = 0;
};

thread_local TargetMemo tl_memo;

}  // namespace

struct Decoder::Ctx {
  std::vector<hp_geo_value> &nodes;
  std::string *error;
  const Budget &budget;
  TargetMemo &memo;
  int code = 0;
  uint64_t nodes_used = 1;  // the root
  uint64_t bytes_used = 0;

  bool fail(std::string msg) {
    if (error && error->empty()) *error = std::move(msg);
    code = HP_ECORRUPT;
    return false;
  }
  bool spend(uint64_t n_nodes, uint64_t n_bytes) {
    if (n_nodes > budget.max_nodes - nodes_used) {
      code = HP_ELIMIT;
      if (error && error->empty())
        *error = "the record has more than " + std::to_string(budget.max_nodes) + " values (max_record_nodes)";
      return false;
    }
    if (n_bytes > budget.max_bytes - bytes_used) {
      code = HP_ELIMIT;
      if (error && error->empty())
        *error = "the record holds more than " + std::to_string(budget.max_bytes) +
                 " bytes of strings and bytes (max_record_bytes)";
      return false;
    }
    nodes_used += n_nodes;
    bytes_used += n_bytes;
    return true;
  }
};

bool Decoder::value(Ctx &c, size_t slot, size_t &pos, unsigned depth) const {
  if (depth > kMaxDepth) return c.fail("data nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (pos >= size_) return c.fail("data offset " + std::to_string(pos) + " is past the end of the section");
  uint8_t ctrl = base_[pos++];
  uint32_t type = ctrl >> 5;
  if (type == kPointer) {
    uint32_t ss = (ctrl >> 3) & 3, vvv = ctrl & 7;
    size_t n = ss + 1;
    if (size_ - pos < n) return c.fail("pointer at " + std::to_string(pos - 1) + " is truncated");
    uint64_t target;
    static const uint64_t kAdd[4] = {0, 2048, 526336, 0};
    if (ss == 3)
      target = be(base_ + pos, 4);
    else
      target = ((uint64_t)vvv << (8 * n)) + be(base_ + pos, n) + kAdd[ss];
    pos += n;
    if (target >= size_) return c.fail("pointer to " + std::to_string(target) + " is past the end of the section");
    uint32_t off = static_cast<uint32_t>(target);
    if (const TargetMemo::Entry *seen = c.memo.find(off)) {
      if (!c.spend(seen->nodes, seen->bytes)) return false;
      c.nodes[slot] = c.nodes[seen->slot];
      return true;
    }
    uint64_t nodes_before = c.nodes_used, bytes_before = c.bytes_used;
    size_t at = off;
    if (!value(c, slot, at, depth + 1)) return false;
    c.memo.add(off, slot, c.nodes_used - nodes_before, c.bytes_used - bytes_before);
    return true;
  }
  if (type == 0) {
    if (pos >= size_) return c.fail("extended type byte is missing");
    type = 7u + base_[pos++];
    if (type < 8 || type > 15) return c.fail("unknown data type " + std::to_string(type));
  }
  size_t size = ctrl & 0x1f;
  if (size >= 29) {
    size_t n = size - 28;
    if (size_ - pos < n) return c.fail("size bytes are truncated");
    uint64_t extra = be(base_ + pos, n);
    pos += n;
    size = size == 29 ? 29 + extra : size == 30 ? 285 + extra : 65821 + extra;
  }
  hp_geo_value v{};
  v.type = type;
  auto need = [&](size_t n) { return size_ - pos >= n; };
  switch (type) {
    case kString:
    case kBytes:
      if (!need(size)) return c.fail("string or bytes of " + std::to_string(size) + " bytes run past the section");
      // Counted before the UTF-8 check, so an oversized string is never scanned.
      if (!c.spend(0, size)) return false;
      if (type == kString && !valid_utf8(base_ + pos, size)) return c.fail("string is not valid UTF-8");
      v.size = static_cast<uint32_t>(size);
      v.v.bytes = base_ + pos;
      pos += size;
      break;
    case kDouble:
      if (size != 8 || !need(8)) return c.fail("double of size " + std::to_string(size));
      {
        uint64_t bits = be(base_ + pos, 8);
        std::memcpy(&v.v.f64, &bits, 8);
      }
      pos += 8;
      break;
    case kFloat:
      if (size != 4 || !need(4)) return c.fail("float of size " + std::to_string(size));
      {
        uint32_t bits = static_cast<uint32_t>(be(base_ + pos, 4));
        float f;
        std::memcpy(&f, &bits, 4);
        v.v.f64 = f;
      }
      pos += 4;
      break;
    case kUint16:
    case kUint32:
    case kInt32:
    case kUint64: {
      size_t max = type == kUint16 ? 2 : type == kUint64 ? 8 : 4;
      if (size > max || !need(size)) return c.fail("integer of size " + std::to_string(size));
      uint64_t u = be(base_ + pos, size);
      if (type == kInt32)
        v.v.i64 = static_cast<int32_t>(static_cast<uint32_t>(u));
      else
        v.v.u64 = u;
      pos += size;
      break;
    }
    case kUint128: {
      if (size > 16 || !need(size)) return c.fail("uint128 of size " + std::to_string(size));
      size_t lo_n = size > 8 ? 8 : size;
      v.v.u128.hi = be(base_ + pos, size - lo_n);
      v.v.u128.lo = be(base_ + pos + (size - lo_n), lo_n);
      pos += size;
      break;
    }
    case kBoolean:
      if (size > 1) return c.fail("boolean of size " + std::to_string(size));
      v.v.u64 = size;
      break;
    case kMap:
    case kArray: {
      size_t per = type == kMap ? 2 : 1;
      // Every entry needs at least one byte per value.
      if (size > (size_ - pos))
        return c.fail((type == kMap ? "map of " : "array of ") + std::to_string(size) +
                      " entries is larger than the data");
      if (!c.spend(size * per, 0)) return false;
      size_t first = c.nodes.size();
      c.nodes.resize(first + size * per);
      v.size = static_cast<uint32_t>(size);
      v.v.u64 = first;  // index now, pointer after decode()
      for (size_t i = 0; i < size * per; i++) {
        if (!value(c, first + i, pos, depth + 1)) return false;
        if (type == kMap && (i & 1) == 0 && c.nodes[first + i].type != kString)
          return c.fail("map key is not a string");
      }
      break;
    }
    default:
      return c.fail("unexpected data type " + std::to_string(type));
  }
  c.nodes[slot] = v;
  return true;
}

int Decoder::decode(uint32_t offset, std::vector<hp_geo_value> &nodes, std::string *error) const {
  nodes.clear();
  nodes.resize(1);
  tl_memo.start();
  Ctx c{nodes, error, budget_, tl_memo};
  size_t pos = offset;
  if (!value(c, 0, pos, 0)) return c.code ? c.code : HP_ECORRUPT;
  for (auto &n : nodes)
    if (n.type == kMap || n.type == kArray) n.v.items = nodes.data() + n.v.u64;
  return 0;
}

}  // namespace hp::geo
