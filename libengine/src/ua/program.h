// A table pattern compiled for the parser's own matcher: a small program
// run by a backtracking machine anchored at one start, with RE2's
// leftmost-first (Perl) semantics for the match and its captures. It
// covers the syntax the tables use (literals, classes, groups,
// alternation, counted and lazy repetition, \b and the anchors) over ASCII
// text; the rest (and any string with a byte over 0x7f, where RE2 reads
// UTF-8) stays with RE2. Every match starts with one of the pattern's
// leading literals, so the literal pass tells where to try it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hp::ua {

class Program {
 public:
  // Compiles an RE2 pattern; false when it uses syntax outside the subset
  // or has no leading literals (then it stays with RE2).
  bool compile(const char *pattern);

  // A literal (ASCII lower case, at most kMaxLead bytes) that starts lo to
  // hi bytes into a match: what comes before it has a width in that range
  // (`[tizenoka]{5} ?browser`: " browser" and "browser" at 5).
  struct Lead {
    std::string text;
    int lo = 0, hi = 0;
  };
  // Every match has one of these.
  const std::vector<Lead> &leads() const { return leads_; }
  static constexpr size_t kMaxLead = 8;
  // The most starts one occurrence of a lead stands for (hi - lo + 1).
  static constexpr int kMaxSpread = 8;

  // Capturing groups, with the whole match as group 0 (at most
  // kMaxGroups: a pattern with more stays with RE2).
  int groups() const { return ngroups_; }
  static constexpr int kMaxGroups = 100;

  enum Outcome { NO_MATCH, MATCHED, OUT_OF_STEPS };
  // Runs anchored at `start` over text[0, len) (ASCII; the bytes around the
  // start count for \b). On MATCHED, caps[2g], caps[2g+1] are group g's
  // bounds (-1 when it took no part); caps has room for 2 * groups().
  // Each step taken is subtracted from *steps; OUT_OF_STEPS when it runs
  // out. Any thread (its backtracking stack is the thread's own).
  Outcome run(const char *text, uint32_t len, uint32_t start, int32_t *caps, int64_t *steps) const;

  size_t memory() const;

  struct Node;  // a parsed pattern (program.cc)

 private:
  struct Inst {
    uint8_t op;
    uint8_t arg;     // class index, save slot or assertion
    uint8_t follow;  // a run's: 1 + the class of the bytes what follows can start with, or 0
    uint8_t greedy;  // a run's
    uint16_t x, y;   // jump targets; a run's least and most bytes
  };
  struct Class {
    uint64_t bits[2];
    bool has(uint8_t c) const { return c < 128 && ((bits[c >> 6] >> (c & 63)) & 1); }
  };
  int emit(const Node &n);
  // The bytes a match can go on with from pc into *out; false when it can
  // end there (any byte then, or none).
  bool first_bytes(uint32_t pc, Class *out, std::vector<uint8_t> *seen) const;
  void lead_literals(const Node &root);

  std::vector<Inst> code_;
  std::vector<Class> classes_;
  std::vector<Lead> leads_;
  int ngroups_ = 1;
  bool too_big_ = false;
};

}  // namespace hp::ua
