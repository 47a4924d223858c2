// The long-tail path of the parser: the generated tables run with RE2, for
// strings the tokenizer's detectors do not vouch for, and the bot patterns.
#pragma once

#include <cstdint>
#include <string>

#include "hotpath/ua.h"
#include "ua/tables.h"

namespace hp::ua {

// ua-parser-js reads this many characters of a string (UA_MAX_LENGTH).
constexpr uint32_t kTableMaxLen = 500;

// A field as ua-parser-js leaves it: unset, or a (possibly empty) value.
struct Field {
  bool set = false;
  std::string value;
};

enum Part { PART_BROWSER, PART_CPU, PART_DEVICE, PART_ENGINE, PART_OS, PART_COUNT };

struct LongTail {
  Field part[PART_COUNT][tables::F_COUNT];
  bool bot = false;   // one of isbot's patterns matches
  int re2_rules = 0;  // the rules RE2 searched for
  int re2_bots = 0;   // the bot patterns RE2 searched for (the anchored set aside)
};

// Which matcher runs the rules: their programs where they have one (the
// parser's), or RE2 for every rule (tests compare the two).
enum class Matcher { kPrograms, kRe2 };

// Runs the rules of the parts in `parts` (bits 1 << PART_*) over the
// string (its first kTableMaxLen bytes), and the bot patterns over all of
// it, into *out (a LongTail as constructed). Linear in len; allocates.
constexpr unsigned kAllParts = (1u << PART_COUNT) - 1;
void match_tables(const char *ua, uint32_t len, unsigned parts, LongTail *out,
                  Matcher matcher = Matcher::kPrograms);

// The bytes the compiled tables hold (automata, programs, prefilters; not
// RE2's own budgets, which it fills as it goes).
size_t tables_memory();
// The rules that have a program, of *rules in all.
uint32_t programmed_rules(uint32_t *rules);

// Fills the result's fields of the parts in `parts` (browser, engine, os,
// device, cpu) from lt.
void fill_parts(const LongTail &lt, unsigned parts, hp_ua_result *out);

// False when the text holds a literal (of 3 bytes or more) of a browser,
// engine or OS rule: those rules may read it, so the detectors, which pass
// it over, cannot answer for a string that holds it.
bool only_device_rules_read(const char *text, uint32_t len);

// False when a table pattern failed to compile (a generator bug; tests
// check it).
bool tables_ready();

}  // namespace hp::ua
