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
  // Reports each occurrence of the literal (matched case folded, cut to its
  // first 8 bytes) at offset p as the Anchors of `key` at p - hi to p - lo
  // (see candidates()).
  void anchor(uint32_t key, const std::string &literal, int lo, int hi);
  // False when the literals do not fit the automaton (ua/atoms.h).
  bool build();

  struct Anchor {
    uint32_t key;
    uint32_t start;
  };
  // The ids of the patterns the string may match, ascending, into *out;
  // when `anchors` is not null, the anchors of the literals found into it,
  // in no order, maybe repeated. Linear in len.
  void candidates(const char *text, uint32_t len, std::vector<int> *out,
                  std::vector<Anchor> *anchors = nullptr) const;

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
  struct AnchorOf {
    uint32_t key;
    int lo, hi;
  };
  std::vector<std::vector<AnchorOf>> anchors_by_atom_;
  std::vector<uint32_t> anchor_begin_;  // anchors_by_atom_, flattened
  std::vector<AnchorOf> anchor_list_;
};

}  // namespace hp::ua
