// The literals ("atoms") the long-tail rules cannot match without, found in
// one pass over ASCII-lower-cased bytes, with tables small enough (about
// 50 KB for a thousand literals) to stay in cache from string to string.
// First, without a branch, each position is kept when its first byte is a
// literal, its first two bytes are one, or its first three bytes start one
// (a bit of a 2^15-bit set by their hash, so a rare position passes that
// need not); then only the positions kept (a quarter of a User-Agent's)
// are compared with the few literals that start so. Positions do not wait
// on one another (no automaton state), so the work of several overlaps.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace hp::ua {

// Keys and literals are read as little-endian words.
static_assert(std::endian::native == std::endian::little);

class Atoms {
 public:
  // Adds a literal (ASCII case folded, at most kMaxLength bytes); returns
  // its id (the same literal, the same id). Only before build().
  uint32_t add(const std::string &text);
  static constexpr uint32_t kMaxLength = 8;
  // False when a literal is empty or longer than kMaxLength, or the
  // literals are too many (then nothing is ever found).
  bool build();

  uint32_t size() const { return static_cast<uint32_t>(literals_.size()); }
  uint32_t length(uint32_t id) const { return lengths_[id]; }
  // Bytes held by the tables (reported with the RE2 budgets).
  size_t memory() const;

  // Calls found(id, end) for every occurrence of every literal in the
  // string, end being the offset just past it, upper case read as lower, in
  // no particular order. Linear in len (plus the occurrences).
  template <class F>
  void scan(const char *text, uint32_t len, F &&found) const {
    if (len == 0 || !built_) return;
    uint32_t *kept = nullptr;
    const uint8_t *s = folded(text, len, &kept);
    uint32_t n = 0;
    for (uint32_t i = 0; i < len; i++) {
      uint32_t head;
      std::memcpy(&head, s + i, 4);
      kept[n] = i;
      n += test(pairs_, head & 0xffff) | test(triples_, hash(head & 0xffffff) >> (32 - kTripleBits));
    }
    for (uint32_t k = 0; k < n; k++) {
      const uint32_t i = kept[k];
      uint32_t head;
      std::memcpy(&head, s + i, 4);
      if (single_[head & 0xff] != kNone) found(single_[head & 0xff], i + 1);
      if (test(pairs_, head & 0xffff)) find(s, len, i, (head & 0xffff) | 2u << 24, found);
      if (test(triples_, hash(head & 0xffffff) >> (32 - kTripleBits)))
        find(s, len, i, head & 0xffffff, found);
    }
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint32_t kTripleBits = 15;
  static uint32_t hash(uint32_t key) { return key * 0x9E3779B1u; }
  static uint32_t test(const std::vector<uint64_t> &bits, uint32_t i) {
    return static_cast<uint32_t>(bits[i >> 6] >> (i & 63)) & 1;
  }

  // The string lower-cased into a thread's buffer, 8 zero bytes past its
  // end (so keys and literals may be read whole there); *kept: room for
  // len offsets.
  static const uint8_t *folded(const char *text, uint32_t len, uint32_t **kept);

  // The literals of 3 bytes or more are found by their first three bytes,
  // those of 2 by both (the key's top byte 2): a slot of each key, by hash.
  struct Slot {
    uint32_t key;    // kNone: empty
    uint16_t begin;  // its literals: entries_[begin, begin + count)
    uint16_t count;
  };
  struct Entry {
    uint64_t text;  // folded, zero past its length
    uint32_t id;
    uint32_t length;
  };

  template <class F>
  void find(const uint8_t *s, uint32_t len, uint32_t at, uint32_t key, F &found) const {
    const uint32_t mask = static_cast<uint32_t>(slots_.size() - 1);
    for (uint32_t i = hash(key) & mask;; i = (i + 1) & mask) {
      const Slot &slot = slots_[i];
      if (slot.key == kNone) return;
      if (slot.key != key) continue;
      uint64_t word;
      std::memcpy(&word, s + at, 8);
      for (const Entry *e = &entries_[slot.begin], *end = e + slot.count; e != end; e++) {
        const uint64_t keep = e->length == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * e->length)) - 1;
        if ((word & keep) == e->text && at + e->length <= len) found(e->id, at + e->length);
      }
      return;
    }
  }

  std::vector<std::string> literals_;
  std::vector<uint8_t> lengths_;  // by id: what length() reads while a scan runs
  bool built_ = false;
  uint32_t single_[256];           // by byte: the literal of that one byte, or kNone
  std::vector<uint64_t> pairs_;    // 2^16 bits, by two bytes: a literal of those two, or of the first
  std::vector<uint64_t> triples_;  // 2^kTripleBits bits, by the hash of three bytes: a literal starts so
  std::vector<Slot> slots_;        // open addressing by hash, a power of two
  std::vector<Entry> entries_;     // by slot, shortest first
};

}  // namespace hp::ua
