#include "recipes/tape.h"

#include <charconv>
#include <cstring>

namespace hp::recipes {

namespace {

inline uint64_t load8(const char *p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline uint32_t load4(const char *p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Equality of short byte strings without a call: whole words, the last one
// overlapping.
inline bool same_bytes(const char *a, const char *b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8)
      if (load8(a + i) != load8(b + i)) return false;
    return load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return false;
  return true;
}

constexpr size_t kSeenSlots = 4096;
// Containers open at once on a tape: the parser allows 512 levels.
constexpr size_t kMaxOpen = 1024;

}  // namespace

uint64_t hash_text(std::string_view s) {
  // One multiply and a fold per 8 bytes, the last word read whole, then
  // a full finalizer.
  const char *p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
  auto step = [&h](uint64_t w) {
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) step(load8(p + i));
    step(load8(p + n - 8));
  } else if (n >= 4) {
    step(uint64_t(load4(p)) << 32 | load4(p + n - 4));
  } else if (n) {
    step(uint64_t(uint8_t(p[0])) << 16 | uint64_t(uint8_t(p[n / 2])) << 8 | uint8_t(p[n - 1]));
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

namespace {

// The value of an integer written canonically (what std::to_chars writes
// back): -?(0|[1-9][0-9]*), at most 18 digits, not -0.
bool canonical_int(std::string_view t, int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (i < t.size() && t[i] == '-') {
    neg = true;
    i++;
  }
  size_t digits = t.size() - i;
  if (digits == 0 || digits > 18) return false;
  if (t[i] == '0' && (digits > 1 || neg)) return false;
  int64_t v = 0;
  for (; i < t.size(); i++) {
    if (t[i] < '0' || t[i] > '9') return false;
    v = v * 10 + (t[i] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

inline uint64_t read_varint(const uint8_t *&p) {
  uint64_t v = 0;
  int shift = 0;
  for (;;) {
    uint8_t b = *p++;
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
    shift += 7;
  }
}

inline char *put(char *o, const void *src, size_t n) {
  std::memcpy(o, src, n);
  return o + n;
}

inline char *put_quoted(char *o, const uint8_t *src, size_t n) {
  *o++ = '"';
  o = put(o, src, n);
  *o++ = '"';
  return o;
}

}  // namespace

int64_t Dict::intern(Kind &k, std::string_view raw, uint64_t h, std::string_view suffix) {
  if (k.slots.empty()) k.slots.assign(256, 0);
  size_t mask = k.slots.size() - 1;
  size_t suffix_len = suffix.size();
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t s = k.slots[i];
    if (!s) {
      if (k.spans.size() >= kMaxEntries) return -1;
      uint64_t id = k.spans.size();
      k.spans.push_back(uint64_t(bytes_.size()) << 16 | (raw.size() + 2 + suffix_len));
      bytes_.push_back('"');
      bytes_.append(raw.data(), raw.size());
      bytes_.push_back('"');
      bytes_.append(suffix);
      k.hashes.push_back(h);
      k.slots[i] = static_cast<uint32_t>(id + 1);
      if (k.spans.size() * 2 > k.slots.size()) {
        // Rehash into twice the slots.
        std::vector<uint32_t> next(k.slots.size() * 2, 0);
        size_t m = next.size() - 1;
        for (uint32_t e = 0; e < k.spans.size(); e++) {
          size_t j = k.hashes[e] & m;
          while (next[j]) j = (j + 1) & m;
          next[j] = e + 1;
        }
        k.slots.swap(next);
      }
      return static_cast<int64_t>(id);
    }
    if (k.hashes[s - 1] == h) {
      std::string_view t = text(k, s - 1);
      if (t.size() == raw.size() + 2 + suffix_len && same_bytes(t.data() + 1, raw.data(), raw.size()))
        return s - 1;
    }
  }
}

int64_t Dict::name_id(std::string_view raw, uint32_t after) {
  if (after < next_name_.size()) {
    if (uint32_t guess = next_name_[after]) {
      std::string_view t = text(names_, guess - 1);
      if (t.size() == raw.size() + 3 && same_bytes(t.data() + 1, raw.data(), raw.size())) return guess - 1;
    }
  }
  int64_t id = intern(names_, raw, hash_text(raw), ":");
  if (id >= 0) {
    if (after >= next_name_.size()) next_name_.resize(after + 1, 0);
    next_name_[after] = static_cast<uint32_t>(id + 1);
  }
  return id;
}

int64_t Dict::string_id(std::string_view raw) {
  if (raw.size() > kMaxString) return -1;
  if (seen_.empty()) seen_.assign(kSeenSlots, 0);
  uint64_t h = hash_text(raw);
  if (!strings_.slots.empty()) {
    // Already interned?
    size_t mask = strings_.slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      uint32_t s = strings_.slots[i];
      if (!s) break;
      if (strings_.hashes[s - 1] == h) {
        std::string_view t = text(strings_, s - 1);
        if (t.size() == raw.size() + 2 && same_bytes(t.data() + 1, raw.data(), raw.size())) return s - 1;
      }
    }
  }
  // The first sighting stays inline: unique strings never fill the table.
  // A false "seen" (two strings in one slot) only interns a string early.
  uint64_t &slot = seen_[(h >> 20) % kSeenSlots];
  if (slot != (h | 1)) {
    slot = h | 1;
    return -1;
  }
  return intern(strings_, raw, h, "");
}

void Dict::seal() {
  for (Kind *k : {&names_, &strings_}) {
    std::vector<uint32_t>().swap(k->slots);
    std::vector<uint64_t>().swap(k->hashes);
    k->spans.shrink_to_fit();
  }
  std::vector<uint64_t>().swap(seen_);
  std::vector<uint32_t>().swap(next_name_);
  bytes_.shrink_to_fit();
}

uint64_t Dict::bytes() const {
  uint64_t n = bytes_.capacity() + seen_.capacity() * 8 + next_name_.capacity() * 4;
  for (const Kind *k : {&names_, &strings_})
    n += k->spans.capacity() * 8 + k->slots.capacity() * 4 + k->hashes.capacity() * 8;
  return n;
}

void TapeWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    tape_.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  tape_.push_back(static_cast<char>(v));
}

void TapeWriter::literal(std::string_view word) {
  op(word[0] == 't' ? kTrue : word[0] == 'f' ? kFalse : kNull, word.size());
}

void TapeWriter::name(std::string_view raw) {
  text_len_ += raw.size() + 3;
  if (dict_ && raw.size() <= Dict::kMaxName) {
    int64_t id = dict_->name_id(raw, last_name_);
    last_name_ = id >= 0 ? static_cast<uint32_t>(id + 1) : 0;
    if (id >= 0 && id < 64) {
      tape_.push_back(static_cast<char>(kNameRef | id));
      return;
    }
    if (id >= 0) {
      tape_.push_back(static_cast<char>(kNameRefVar));
      varint(static_cast<uint64_t>(id));
      return;
    }
  }
  tape_.push_back(static_cast<char>(kNameText));
  varint(raw.size());
  bytes(raw);
}

void TapeWriter::string(std::string_view raw) {
  text_len_ += raw.size() + 2;
  if (dict_) {
    int64_t id = dict_->string_id(raw);
    if (id >= 0 && id < 64) {
      tape_.push_back(static_cast<char>(kStrRef | id));
      return;
    }
    if (id >= 0) {
      tape_.push_back(static_cast<char>(kStrRefVar));
      varint(static_cast<uint64_t>(id));
      return;
    }
  }
  if (raw.size() < 64) {
    tape_.push_back(static_cast<char>(kStrShort | raw.size()));
  } else {
    tape_.push_back(static_cast<char>(kStrText));
    varint(raw.size());
  }
  bytes(raw);
}

void TapeWriter::number(std::string_view text) {
  text_len_ += text.size();
  int64_t v;
  if (canonical_int(text, &v)) {
    if (v >= 0 && v < 32) {
      tape_.push_back(static_cast<char>(kIntSmall | v));
    } else {
      tape_.push_back(static_cast<char>(kIntVar));
      varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
    }
    return;
  }
  if (text.size() < 16) {
    tape_.push_back(static_cast<char>(kNumShort | text.size()));
  } else {
    tape_.push_back(static_cast<char>(kNumText));
    varint(text.size());
  }
  bytes(text);
}

const uint8_t *write_json(const uint8_t *p, const Dict *dict, char *o, char **out_end) {
  using W = TapeWriter;
  // One bit per open container, set for an object; `first`: no ',' before
  // the next member or item.
  uint64_t objects[kMaxOpen / 64] = {};
  size_t depth = 0;
  bool first = true;
  auto in_object = [&]() { return depth && (objects[(depth - 1) / 64] >> ((depth - 1) % 64) & 1); };
  for (;;) {
    uint8_t tag = *p++;
    if (tag == W::kEnd) {
      *o++ = in_object() ? '}' : ']';
      first = false;
      if (--depth == 0) break;
      continue;
    }
    if (!first) *o++ = ',';
    first = false;
    if (in_object()) {
      // A member's name, then its value's tag.
      if (tag >= W::kNameRef && tag < W::kStrRef) {
        std::string_view t = dict->name(tag & 0x3f);
        o = put(o, t.data(), t.size());
      } else if (tag == W::kNameRefVar) {
        std::string_view t = dict->name(read_varint(p));
        o = put(o, t.data(), t.size());
      } else {  // kNameText
        uint64_t n = read_varint(p);
        o = put_quoted(o, p, n);
        *o++ = ':';
        p += n;
      }
      tag = *p++;
    }
    if (tag >= W::kStrShort) {
      size_t n = tag & 0x3f;
      o = put_quoted(o, p, n);
      p += n;
    } else if (tag >= W::kStrRef) {
      std::string_view t = dict->string(tag & 0x3f);
      o = put(o, t.data(), t.size());
    } else if (tag >= W::kIntSmall && tag < W::kNameRef) {
      o = std::to_chars(o, o + 2, tag & 0x1f).ptr;
    } else if (tag >= W::kNumShort && tag < W::kIntSmall) {
      size_t n = tag & 0x0f;
      o = put(o, p, n);
      p += n;
    } else {
      switch (tag) {
        case W::kObj:
        case W::kArr: {
          *o++ = tag == W::kObj ? '{' : '[';
          uint64_t bit = uint64_t(1) << (depth % 64);
          uint64_t &word = objects[depth / 64];
          word = tag == W::kObj ? word | bit : word & ~bit;
          depth++;
          first = true;
          continue;
        }
        case W::kTrue:
          o = put(o, "true", 4);
          break;
        case W::kFalse:
          o = put(o, "false", 5);
          break;
        case W::kNull:
          o = put(o, "null", 4);
          break;
        case W::kNumText: {
          uint64_t n = read_varint(p);
          o = put(o, p, n);
          p += n;
          break;
        }
        case W::kStrText: {
          uint64_t n = read_varint(p);
          o = put_quoted(o, p, n);
          p += n;
          break;
        }
        case W::kStrRefVar: {
          std::string_view t = dict->string(read_varint(p));
          o = put(o, t.data(), t.size());
          break;
        }
        case W::kIntVar: {
          uint64_t z = read_varint(p);
          int64_t v = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
          o = std::to_chars(o, o + 20, v).ptr;
          break;
        }
        default:
          break;  // the writer makes no other tag
      }
    }
    if (depth == 0) break;
  }
  *out_end = o;
  return p;
}

void tape_text(const uint8_t *tape, const Dict *dict, uint64_t len, std::string *out) {
  out->resize(len);
  char *end;
  write_json(tape, dict, out->data(), &end);
}

}  // namespace hp::recipes
