#include "ua/atoms.h"

#include <algorithm>

#include "ua/text.h"

namespace hp::ua {

uint32_t Atoms::add(const std::string &text) {
  // Matching folds case, so the literal is stored folded too.
  std::string literal = text;
  for (char &c : literal) c = lower(c);
  for (uint32_t i = 0; i < literals_.size(); i++)
    if (literals_[i] == literal) return i;
  literals_.push_back(literal);
  lengths_.push_back(static_cast<uint8_t>(std::min<size_t>(literal.size(), UINT8_MAX)));
  return static_cast<uint32_t>(literals_.size() - 1);
}

size_t Atoms::memory() const {
  return sizeof single_ + lengths_.size() + sizeof(uint64_t) * (pairs_.size() + triples_.size()) +
         sizeof(Slot) * slots_.size() + sizeof(Entry) * entries_.size();
}

const uint8_t *Atoms::folded(const char *text, uint32_t len, uint32_t **kept) {
  struct Buffers {
    std::vector<uint8_t> text;
    std::vector<uint32_t> kept;
  };
  static thread_local Buffers buffers;
  if (buffers.text.size() < len + size_t{8}) {
    buffers.text.resize(len + size_t{8});
    buffers.kept.resize(len);
  }
  *kept = buffers.kept.data();
  uint8_t *out = buffers.text.data();
  // Eight bytes at a time: a byte's top bit, after adding what takes 'A'
  // (and what takes past 'Z') to 0x80, says where it stands.
  constexpr uint64_t kOnes = 0x0101010101010101ull, kTops = 0x8080808080808080ull;
  uint32_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, text + i, 8);
    const uint64_t low = w & ~kTops;
    const uint64_t upper = (low + (0x80 - 'A') * kOnes) & ~(low + (0x80 - 'Z' - 1) * kOnes) & ~w & kTops;
    w |= upper >> 2;
    std::memcpy(out + i, &w, 8);
  }
  for (; i < len; i++) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    out[i] = static_cast<uint8_t>(c - 'A') < 26 ? c | 0x20 : c;
  }
  std::memset(out + len, 0, 8);
  return out;
}

bool Atoms::build() {
  built_ = false;
  std::fill(std::begin(single_), std::end(single_), kNone);
  pairs_.assign((size_t{1} << 16) / 64, 0);
  triples_.assign((size_t{1} << kTripleBits) / 64, 0);
  slots_.clear();
  entries_.clear();
  // The literals of two bytes or more by key: their first three bytes, or
  // both bytes of a two-byte one (keys of three bytes never have a top byte).
  struct Keyed {
    uint32_t key, id;
  };
  std::vector<Keyed> keyed;
  for (uint32_t id = 0; id < literals_.size(); id++) {
    const std::string &l = literals_[id];
    if (l.empty() || l.size() > kMaxLength) return false;
    uint32_t head = 0;
    std::memcpy(&head, l.data(), std::min<size_t>(l.size(), 3));
    if (l.size() == 1) {
      single_[head] = id;
      for (uint32_t next = 0; next < 256; next++) {
        const uint32_t pair = head | next << 8;
        pairs_[pair >> 6] |= uint64_t{1} << (pair & 63);
      }
    } else if (l.size() == 2) {
      pairs_[head >> 6] |= uint64_t{1} << (head & 63);
      keyed.push_back({head | 2u << 24, id});
    } else {
      const uint32_t bit = hash(head) >> (32 - kTripleBits);
      triples_[bit >> 6] |= uint64_t{1} << (bit & 63);
      keyed.push_back({head, id});
    }
  }
  // Literals that share a key sit together, shortest first.
  std::sort(keyed.begin(), keyed.end(), [this](const Keyed &a, const Keyed &b) {
    if (a.key != b.key) return a.key < b.key;
    return literals_[a.id].size() < literals_[b.id].size();
  });
  if (keyed.size() > UINT16_MAX) return false;
  size_t keys = 0;
  for (size_t i = 0; i < keyed.size(); i++) keys += i == 0 || keyed[i].key != keyed[i - 1].key;
  size_t nslots = 16;
  while (nslots < 2 * keys) nslots *= 2;
  slots_.assign(nslots, Slot{kNone, 0, 0});
  const uint32_t mask = static_cast<uint32_t>(nslots - 1);
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    while (j < keyed.size() && keyed[j].key == keyed[i].key) j++;
    uint32_t s = hash(keyed[i].key) & mask;
    while (slots_[s].key != kNone) s = (s + 1) & mask;
    slots_[s] = Slot{keyed[i].key, static_cast<uint16_t>(entries_.size()), static_cast<uint16_t>(j - i)};
    for (; i < j; i++) {
      const std::string &l = literals_[keyed[i].id];
      Entry e{0, keyed[i].id, static_cast<uint32_t>(l.size())};
      std::memcpy(&e.text, l.data(), l.size());
      entries_.push_back(e);
    }
  }
  built_ = true;
  return true;
}

}  // namespace hp::ua
