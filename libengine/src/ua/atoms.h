// The literals ("atoms") the long-tail rules cannot match without, found in
// one pass: an Aho-Corasick automaton over ASCII-lower-cased bytes, its
// transitions precomputed into a dense table over byte classes, so each
// input byte costs one table load whatever the number of literals.
#pragma once

#include <algorithm>
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
  uint32_t length(uint32_t id) const { return lengths_[id]; }
  // Bytes held by the automaton (reported with the RE2 budgets).
  size_t memory() const;

  // Calls found(id, end) for every occurrence of every literal in the
  // string, end being the offset just past it, upper case read as lower (an
  // occurrence may be reported twice). Linear in len (plus the
  // occurrences).
  template <class F>
  void scan(const char *text, uint32_t len, F &&found) const {
    // Each step waits for the one before it; two walks over the two halves
    // of the string run side by side. The first goes on past the middle for
    // as long as a literal that starts before the middle can reach.
    const uint32_t mid = len / 2;
    const uint32_t first_end = std::min(len, mid + longest_);
    uint32_t a = 0, b = 0, i = 0, j = mid;
    for (; i < first_end && j < len; i++, j++) {
      a = step(a, text, i, found);
      b = step(b, text, j, found);
    }
    for (; i < first_end; i++) a = step(a, text, i, found);
    for (; j < len; j++) b = step(b, text, j, found);
  }

 private:
  // Inlined into the scan's loop: a call a byte costs more than the step.
  template <class F>
  [[gnu::always_inline]] uint32_t step(uint32_t state, const char *text, uint32_t at, F &found) const {
    const uint32_t next = next_[state * classes_ + class_of_[static_cast<uint8_t>(text[at])]];
    state = next & ~kEnds;
    if (next & kEnds)
      for (uint32_t k = out_begin_[state]; k < out_begin_[state + 1]; k++) found(out_[k], at + 1);
    return state;
  }

  std::vector<std::string> literals_;
  std::vector<uint32_t> lengths_;  // by id: what length() reads while a scan runs
  uint8_t class_of_[256] = {};
  uint32_t classes_ = 1;
  uint32_t longest_ = 0;  // bytes of the longest literal
  // A transition's target state, with kEnds set when literals end there.
  static constexpr uint32_t kEnds = 0x8000;
  std::vector<uint16_t> next_;       // state * classes_ + class -> state
  std::vector<uint32_t> out_begin_;  // state -> first of its ids in out_
  std::vector<uint32_t> out_;        // the literals that end at each state
};

}  // namespace hp::ua
