// Which patterns of a list can match a string, from the literals it holds:
// each pattern's RE2 prefilter (an AND/OR of literals it cannot match
// without) is expanded once into its minimal sets of literals, so a string
// passes a pattern when it holds every literal of one of them. The literals
// are found in one pass (ua/atoms.h); each set is then looked at only when
// its longest (rarest) literal was found.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ua/atoms.h"

namespace hp::ua {

class Prefilter {
 public:
  // Adds a pattern under the next id (0, 1, ...); false when RE2 rejects it
  // (the id is taken all the same, the pattern then never passes).
  bool add(const std::string &pattern, const RE2::Options &options);
  // Gives `key` (0, 1, ...) the starts lo to hi bytes before each
  // occurrence of the literal (matched case folded, cut to its first 8
  // bytes): see starts().
  void anchor(uint32_t key, const std::string &literal, int lo, int hi);
  // False when the literals do not fit the literal tables (ua/atoms.h).
  bool build();

  // Where a string's literals were found, kept by candidates() for
  // starts(); reused from string to string.
  class Found {
   public:
    void clear();

   private:
    friend class Prefilter;
    static constexpr uint32_t kEnd = UINT32_MAX;
    std::vector<uint32_t> head_;       // by atom: its last occurrence, or kEnd
    std::vector<uint32_t> next_, at_;  // by occurrence: the one before of the same atom; its offset
    std::vector<uint32_t> atoms_;      // the atoms found, for clear()
  };
  // The ids of the patterns the string may match, ascending, into *out;
  // when `found` is not null, where each literal occurs into it (cleared
  // first). Linear in len.
  void candidates(const char *text, uint32_t len, std::vector<int> *out, Found *found = nullptr) const;
  // The starts the anchors of `key` give in the string `found` was filled
  // from, ascending, without repeats, into *out. Only the keys asked for
  // are looked at: a string's literals are many, the rules tried few.
  void starts(const Found &found, uint32_t key, std::vector<uint32_t> *out) const;

  // True when the string holds a literal of one of the patterns at least
  // min_len bytes long.
  bool any_literal(const char *text, uint32_t len, uint32_t min_len) const;

  size_t memory() const;

 private:
  struct Minterm {
    uint32_t pattern;
    uint32_t begin, end;  // its literals: atom ids in literals_[begin, end)
  };
  Atoms atoms_;
  uint32_t patterns_ = 0;
  std::vector<int> always_;  // patterns without literals: every string passes
  std::vector<Minterm> minterms_;
  std::vector<uint32_t> literals_;
  std::vector<std::vector<uint32_t>> by_atom_;        // atom -> the minterms it triggers
  std::vector<uint32_t> atom_begin_, atom_minterms_;  // by_atom_, flattened
  struct Lead {
    uint32_t atom;
    int lo, hi;
  };
  std::vector<std::vector<Lead>> leads_by_key_;
  std::vector<uint32_t> lead_begin_;  // leads_by_key_, flattened
  std::vector<uint8_t> lead_atom_;    // by atom: some key's lead (its occurrences are kept)
  std::vector<Lead> lead_list_;
};

}  // namespace hp::ua
