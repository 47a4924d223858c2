// The literals ("atoms") the long-tail rules cannot match without, found in
// one pass: an Aho-Corasick automaton over ASCII-lower-cased bytes, its
// transitions precomputed into a dense table over byte classes, so each
// input byte costs one table load whatever the number of literals.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hp::ua {

class Atoms {
 public:
  // Adds a literal (ASCII case folded); returns its id (the same literal,
  // the same id). Only before build().
  uint32_t add(const std::string &text);
  // False when the literals need more states than the table can number
  // (then nothing is ever found).
  bool build();

  uint32_t size() const { return static_cast<uint32_t>(literals_.size()); }
  // Bytes held by the automaton (reported with the RE2 budgets).
  size_t memory() const;

  // Calls found(id) for every occurrence of every literal in the string,
  // upper case read as lower. Linear in len (plus the occurrences).
  template <class F>
  void scan(const char *text, uint32_t len, F &&found) const {
    uint32_t state = 0;
    for (uint32_t i = 0; i < len; i++) {
      state = next_[state * classes_ + class_of_[static_cast<uint8_t>(text[i])]];
      for (uint32_t k = out_begin_[state]; k < out_begin_[state + 1]; k++) found(out_[k]);
    }
  }

 private:
  std::vector<std::string> literals_;
  uint8_t class_of_[256] = {};
  uint32_t classes_ = 1;
  std::vector<uint16_t> next_;       // state * classes_ + class -> state
  std::vector<uint32_t> out_begin_;  // state -> first of its ids in out_
  std::vector<uint32_t> out_;        // the literals that end at each state
};

}  // namespace hp::ua
