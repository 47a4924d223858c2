#include "ua/atoms.h"

#include <algorithm>
#include <deque>

#include "ua/text.h"

namespace hp::ua {

uint32_t Atoms::add(const std::string &text) {
  // Matching folds case, so the literal is stored folded too.
  std::string literal = text;
  for (char &c : literal) c = lower(c);
  for (uint32_t i = 0; i < literals_.size(); i++)
    if (literals_[i] == literal) return i;
  literals_.push_back(literal);
  lengths_.push_back(static_cast<uint32_t>(literal.size()));
  return static_cast<uint32_t>(literals_.size() - 1);
}

size_t Atoms::memory() const {
  return sizeof(uint16_t) * next_.size() +
         sizeof(uint32_t) * (out_begin_.size() + out_.size() + lengths_.size());
}

bool Atoms::build() {
  // 16-bit states keep the table small enough to stay in cache.
  size_t chars = 1;
  for (const std::string &l : literals_) {
    chars += l.size();
    longest_ = std::max(longest_, static_cast<uint32_t>(l.size()));
  }
  if (chars >= kEnds) {
    literals_.clear();
    lengths_.clear();
    next_.assign(classes_, 0);
    out_begin_.assign(2, 0);
    return false;
  }
  // Byte classes: one per byte a literal holds (upper case sharing its lower
  // case class), class 0 for every other byte.
  for (const std::string &l : literals_)
    for (char c : l) {
      uint8_t &cls = class_of_[static_cast<uint8_t>(c)];
      if (!cls) cls = static_cast<uint8_t>(classes_++);
    }
  for (int b = 'A'; b <= 'Z'; b++) class_of_[b] = class_of_[b - 'A' + 'a'];

  // The trie, then its failure links breadth first, filling in the missing
  // transitions from the failure state's so the table is a complete DFA.
  std::vector<std::vector<uint32_t>> ids(1);
  auto state = [](size_t s) { return static_cast<uint16_t>(s); };
  next_.assign(classes_, 0);
  for (uint32_t id = 0; id < literals_.size(); id++) {
    uint32_t s = 0;
    for (char c : literals_[id]) {
      uint16_t &t = next_[s * classes_ + class_of_[static_cast<uint8_t>(c)]];
      if (!t) {
        t = state(ids.size());
        ids.emplace_back();
        next_.resize(next_.size() + classes_, 0);
      }
      s = next_[s * classes_ + class_of_[static_cast<uint8_t>(c)]];
    }
    ids[s].push_back(id);
  }
  const uint32_t nstates = static_cast<uint32_t>(ids.size());
  std::vector<uint32_t> fail(nstates, 0);
  std::deque<uint32_t> queue;
  for (uint32_t c = 0; c < classes_; c++)
    if (next_[c]) queue.push_back(next_[c]);
  // A state's trie children are the transitions not yet filled in from the
  // failure state; telling them apart needs the trie itself.
  std::vector<uint8_t> in_trie(next_.size(), 0);
  for (uint32_t i = 0; i < next_.size(); i++) in_trie[i] = next_[i] != 0;
  while (!queue.empty()) {
    const uint32_t s = queue.front();
    queue.pop_front();
    const uint32_t f = fail[s];
    ids[s].insert(ids[s].end(), ids[f].begin(), ids[f].end());
    for (uint32_t c = 0; c < classes_; c++) {
      uint16_t &t = next_[s * classes_ + c];
      if (in_trie[s * classes_ + c]) {
        fail[t] = next_[f * classes_ + c];
        queue.push_back(t);
      } else {
        t = next_[f * classes_ + c];
      }
    }
  }
  out_begin_.assign(nstates + 1, 0);
  out_.clear();
  for (uint32_t s = 0; s < nstates; s++) {
    out_begin_[s] = static_cast<uint32_t>(out_.size());
    out_.insert(out_.end(), ids[s].begin(), ids[s].end());
  }
  out_begin_[nstates] = static_cast<uint32_t>(out_.size());
  for (uint16_t &t : next_)
    if (!ids[t].empty()) t = static_cast<uint16_t>(t | kEnds);
  return true;
}

}  // namespace hp::ua
