// The long-tail path: ua-parser-js 1.x's rules (tables_data.cc). Each
// rule's pattern is compiled for the parser's own matcher (ua/program.h)
// where it can be: its leading literals join the literal pass
// (ua/prefilter.h), which so finds in one linear pass where each such rule
// can match, and the rule is tried there alone. The other rules and the
// bot patterns run with RE2, on the patterns whose literals the string
// holds. Rules are tried in ua-parser-js's order, each category stopping
// at its first match, whose captures set the fields as the rule's
// properties say; the bot patterns until one matches. The bot patterns
// anchored at the start (a third of them) sit in one RE2::Set anchored
// there instead, which rejects most strings in a few bytes. A string with
// a byte over 0x7f (RE2 reads UTF-8) takes RE2 for every rule.
#include "ua/tables.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ua/long_tail.h"
#include "ua/prefilter.h"
#include "ua/program.h"
#include "ua/text.h"

namespace hp::ua {

namespace {

using tables::Category;
using tables::Rule;

// A rejected match (a rule's `unless`) is searched for again one byte on; a
// constant number of tries keeps the time linear.
constexpr int kMaxRetries = 4;

// The captures a rule's match reports (RE2 returns no more).
constexpr int kMaxGroups = 16;

// The steps a programmed rule may take over one string, all its starts
// together, before RE2 answers instead: linear in the length, and several
// times what a rule takes on a real User-Agent (a program that backtracks
// more than that is one RE2 does better).
int64_t step_budget(size_t len) {
  return 3 * static_cast<int64_t>(len) + 128;
}

// A rule whose literals occur at more starts than this (a hostile string)
// is one RE2 search instead.
constexpr ptrdiff_t kMaxStarts = 16;

// Each pattern's RE2 memory budget: its program and the DFA states it
// caches (a DFA that would need more is dropped for RE2's slower NFA).
constexpr int64_t kPatternMaxMem = 1 << 20;

// The budget of the set of bot patterns anchored at the start.
constexpr int64_t kAnchoredBotsMaxMem = 8 << 20;

RE2::Options options(int64_t max_mem) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  return o;
}

struct CompiledRule {
  int part = 0;
  const Rule *rule = nullptr;
  std::unique_ptr<RE2> re, unless, clear_if;
  int ngroups = 0;          // the captures asked for, with the whole match
  bool programmed = false;  // `program` holds the pattern
  Program program;
};

struct Compiled {
  // ids: the rules of every part in order (browser, cpu, device, engine,
  // os), then the bot patterns not anchored at the start
  Prefilter filter;
  // The same, the programmed rules' leading literals added as anchors
  // (keyed by rule id): a programmed rule runs at the starts its anchors
  // give, when the prefilter passes it
  Prefilter fast;
  uint32_t programmed = 0;
  // the browser, engine and OS rules alone (only_device_rules_read)
  Prefilter not_device;
  std::vector<CompiledRule> rules;
  std::vector<std::unique_ptr<RE2>> bots;  // by filter id - rules.size()
  // their programs, where they have one
  std::vector<Program> bot_programs;
  std::vector<uint8_t> bot_programmed;
  // the bot patterns anchored at the start, as one set and one by one (for
  // a string the set's DFA runs out of memory on)
  std::unique_ptr<RE2::Set> anchored_bots;
  std::vector<std::unique_ptr<RE2>> anchored_bot_list;
  std::unordered_map<const char *, std::unique_ptr<RE2>> replace;
  int errors = 0;

  Compiled() {
    const Category *all[PART_COUNT] = {&tables::kBrowser, &tables::kCpu, &tables::kDevice, &tables::kEngine,
                                       &tables::kOs};
    const RE2::Options o = options(kPatternMaxMem);
    for (int part = 0; part < PART_COUNT; part++)
      for (uint32_t i = 0; i < all[part]->n; i++) add(part, all[part]->rules[i]);
    anchored_bots = std::make_unique<RE2::Set>(options(kAnchoredBotsMaxMem), RE2::ANCHOR_START);
    for (uint32_t i = 0; i < tables::kBots.n; i++) {
      const char *re = tables::kBots.items[i];
      if (std::strncmp(re, "(?i)^", 5) == 0) {
        if (anchored_bots->Add(re, nullptr) < 0) errors++;
        anchored_bot_list.push_back(one(re));
        continue;
      }
      bots.push_back(one(re));
      if (!filter.add(re, o)) errors++;
      fast.add(re, o);
      // A bot pattern asks for no captures: any start its program matches
      // at will do.
      Program &program = bot_programs.emplace_back();
      bot_programmed.push_back(bots.back() && program.compile(re));
      if (bot_programmed.back()) {
        const uint32_t id = static_cast<uint32_t>(rules.size() + bots.size() - 1);
        for (const Program::Lead &lead : program.leads()) fast.anchor(id, lead.text, lead.lo, lead.hi);
      }
    }
    if (!anchored_bots->Compile()) errors++, anchored_bots.reset();
    if (!filter.build()) errors++;
    if (!fast.build()) errors++;
    if (!not_device.build()) errors++;
  }

  std::unique_ptr<RE2> one(const char *pattern) {
    if (!pattern) return nullptr;
    auto re = std::make_unique<RE2>(pattern, options(kPatternMaxMem));
    if (!re->ok()) {
      errors++;
      return nullptr;
    }
    return re;
  }

  void add(int part, const Rule &r) {
    CompiledRule c;
    c.part = part;
    c.rule = &r;
    c.re = one(r.re);
    if (c.re) c.ngroups = std::min(c.re->NumberOfCapturingGroups(), kMaxGroups - 1) + 1;
    if (!filter.add(r.re, options(kPatternMaxMem))) errors++;
    c.programmed =
        c.re && c.program.compile(r.re) && c.program.groups() == c.re->NumberOfCapturingGroups() + 1;
    fast.add(r.re, options(kPatternMaxMem));
    if (c.programmed) {
      programmed++;
      for (const Program::Lead &lead : c.program.leads())
        fast.anchor(static_cast<uint32_t>(rules.size()), lead.text, lead.lo, lead.hi);
    }
    if (part == PART_BROWSER || part == PART_ENGINE || part == PART_OS)
      not_device.add(r.re, options(kPatternMaxMem));
    c.unless = one(r.unless);
    c.clear_if = one(r.clear_if);
    rules.push_back(std::move(c));
    for (uint8_t p = 0; p < r.nprops; p++)
      if (r.props[p].op >= tables::OP_REPLACE && !replace.count(r.props[p].a))
        replace[r.props[p].a] = one(r.props[p].a);
  }
};

const Compiled &compiled() {
  static const Compiled c;
  return c;
}

std::string lowered(std::string s) {
  for (char &c : s) c = lower(c);
  return s;
}

bool contains_nocase(const std::string &hay, const char *needle) {
  return ifind(Span{hay.data(), static_cast<uint32_t>(hay.size())}, lowered(needle).c_str(),
               std::strlen(needle)) >= 0;
}

// ua-parser-js's strMapper.
Field map_value(const tables::Map &m, const std::string &v) {
  for (uint32_t i = 0; i < m.n; i++)
    if (contains_nocase(v, m.entries[i].needle))
      return m.entries[i].key ? Field{true, m.entries[i].key} : Field{};
  if (m.fallback) return Field{true, m.fallback};
  return Field{true, v};
}

void apply(const Compiled &c, const Rule &r, const re2::StringPiece *groups, int ngroups, Field *fields) {
  for (uint8_t i = 0; i < r.nprops; i++) {
    const tables::Prop &p = r.props[i];
    const int g = i + 1;
    // ua-parser-js treats an empty capture as none
    const bool has = g < ngroups && groups[g].data() && !groups[g].empty();
    std::string v = has ? std::string(groups[g].data(), groups[g].size()) : std::string();
    Field &f = fields[p.field];
    switch (p.op) {
      case tables::OP_CAPTURE:
        f = has ? Field{true, v} : Field{};
        break;
      case tables::OP_CONST:
        f = Field{true, p.a};
        break;
      case tables::OP_LOWER:
        f = Field{true, lowered(v)};
        break;
      case tables::OP_TRIM: {
        size_t s = v.find_first_not_of(" \t\r\n\f\v");
        f = has ? Field{true, s == std::string::npos ? std::string() : v.substr(s)} : Field{};
        break;
      }
      case tables::OP_MAP:
        f = has ? map_value(tables::kMaps[p.map], v) : Field{};
        break;
      default: {
        if (!has) {
          f = Field{};
          break;
        }
        auto it = c.replace.find(p.a);
        if (it != c.replace.end() && it->second) {
          if (p.op == tables::OP_REPLACE || p.op == tables::OP_REPLACE_LOWER)
            RE2::Replace(&v, *it->second, p.b);
          else
            RE2::GlobalReplace(&v, *it->second, p.b);
        }
        if (p.op == tables::OP_REPLACE_LOWER || p.op == tables::OP_REPLACE_ALL_LOWER) v = lowered(v);
        f = Field{true, v};
      }
    }
  }
}

// Takes a rule's match at `start` unless its `unless` rejects it there:
// clears what its clear_if drops and sets the fields. False when rejected.
bool take(const Compiled &c, const CompiledRule &cr, re2::StringPiece text, size_t start,
          re2::StringPiece *groups, Field *fields) {
  const Rule &r = *cr.rule;
  if (cr.unless && cr.unless->Match(text, start, text.size(), RE2::ANCHOR_START, nullptr, 0)) return false;
  if (cr.clear_if && r.clear_group < cr.ngroups && groups[r.clear_group].data() &&
      RE2::PartialMatch(groups[r.clear_group], *cr.clear_if))
    groups[r.clear_group] = re2::StringPiece();
  apply(c, r, groups, cr.ngroups, fields);
  return true;
}

// Runs a rule with RE2 at the first place it matches and is not rejected;
// false when there is none.
bool run_rule(const Compiled &c, const CompiledRule &cr, re2::StringPiece text, Field *fields,
              LongTail *out) {
  re2::StringPiece groups[kMaxGroups];
  size_t pos = 0;
  out->re2_rules++;
  for (int tries = 0; tries < kMaxRetries && pos <= text.size(); tries++) {
    if (!cr.re->Match(text, pos, text.size(), RE2::UNANCHORED, groups, cr.ngroups)) return false;
    const size_t start = static_cast<size_t>(groups[0].data() - text.data());
    if (take(c, cr, text, start, groups, fields)) return true;
    pos = start + 1;
  }
  return false;
}

// The same with the rule's program, tried at the starts its leading
// literals give in turn (every match starts at one, so the first start it
// matches at is RE2's leftmost match). RE2 answers for a program that
// backtracks past a budget.
bool run_program(const Compiled &c, const CompiledRule &cr, re2::StringPiece text, const uint32_t *from,
                 const uint32_t *to, Field *fields, LongTail *out) {
  if (to - from > kMaxStarts) return run_rule(c, cr, text, fields, out);
  int32_t caps[2 * Program::kMaxGroups];
  re2::StringPiece groups[kMaxGroups];
  const uint32_t len = static_cast<uint32_t>(text.size());
  int64_t steps = step_budget(len);
  int tries = 0;
  for (const uint32_t *a = from; a != to; a++) {
    const Program::Outcome o = cr.program.run(text.data(), len, *a, caps, &steps);
    if (o == Program::OUT_OF_STEPS) return run_rule(c, cr, text, fields, out);
    if (o == Program::NO_MATCH) continue;
    for (int g = 0; g < cr.ngroups; g++)
      groups[g] = caps[2 * g] < 0 ? re2::StringPiece()
                                  : re2::StringPiece(text.data() + caps[2 * g],
                                                     static_cast<size_t>(caps[2 * g + 1] - caps[2 * g]));
    if (take(c, cr, text, *a, groups, fields)) return true;
    if (++tries == kMaxRetries) return false;
  }
  return false;
}

// Whether a bot pattern matches the whole string `text`: its program at
// the starts its leading literals give, or RE2 when they are more than
// kMaxStarts or the program runs past the step budget.
bool bot_matches(const Compiled &c, size_t bot, re2::StringPiece text, const uint32_t *from,
                 const uint32_t *to, LongTail *out) {
  const Program &program = c.bot_programs[bot];
  if (c.bot_programmed[bot] && to - from <= kMaxStarts) {
    int32_t caps[2 * Program::kMaxGroups];
    const uint32_t len = static_cast<uint32_t>(text.size());
    int64_t steps = step_budget(len);
    Program::Outcome o = Program::NO_MATCH;
    for (const uint32_t *a = from; a != to && o == Program::NO_MATCH; a++)
      o = program.run(text.data(), len, *a, caps, &steps);
    if (o != Program::OUT_OF_STEPS) return o == Program::MATCHED;
  }
  out->re2_bots++;
  const RE2 *re = c.bots[bot].get();
  return re && re->Match(text, 0, text.size(), RE2::UNANCHORED, nullptr, 0);
}

bool ascii(re2::StringPiece text) {
  uint64_t high = 0;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    high |= w;
  }
  for (; i < text.size(); i++) high |= static_cast<uint8_t>(text[i]);
  return (high & 0x8080808080808080ull) == 0;
}

re2::StringPiece table_text(const char *ua, uint32_t len) {
  // ua-parser-js reads at most UA_MAX_LENGTH characters, after leading
  // white space when the string is longer than that.
  if (len > kTableMaxLen) {
    while (len && (*ua == ' ' || *ua == '\t' || *ua == '\n' || *ua == '\r' || *ua == '\f' || *ua == '\v'))
      ua++, len--;
    if (len > kTableMaxLen) len = kTableMaxLen;
  }
  return re2::StringPiece(ua, len);
}

}  // namespace

bool tables_ready() {
  return compiled().errors == 0;
}

bool only_device_rules_read(const char *text, uint32_t len) {
  // Two-byte literals ("op" of "opx/") are parts of longer matches that
  // would hold a longer literal too.
  return !compiled().not_device.any_literal(text, len, 3);
}

size_t tables_memory() {
  const Compiled &c = compiled();
  size_t n = c.filter.memory() + c.fast.memory() + c.not_device.memory();
  for (const CompiledRule &cr : c.rules) n += sizeof cr + cr.program.memory();
  return n;
}

uint32_t programmed_rules(uint32_t *rules) {
  *rules = static_cast<uint32_t>(compiled().rules.size());
  return compiled().programmed;
}

void match_tables(const char *ua, uint32_t len, unsigned parts, LongTail *out, Matcher matcher) {
  const Compiled &c = compiled();
  const re2::StringPiece text = table_text(ua, len);
  // One thread-local block: each thread_local costs a lookup of its own
  // in a shared library.
  struct Scratch {
    std::vector<int> ids;
    Prefilter::Found found;
    std::vector<uint32_t> starts;
  };
  static thread_local Scratch scratch;
  std::vector<int> &ids = scratch.ids;
  std::vector<uint32_t> &starts = scratch.starts;
  const bool programs = matcher == Matcher::kPrograms && ascii(text);
  const Prefilter &filter = programs ? c.fast : c.filter;
  filter.candidates(text.data(), static_cast<uint32_t>(text.size()), &ids,
                    programs ? &scratch.found : nullptr);
  bool done[PART_COUNT] = {};
  unsigned left = parts;
  const uint32_t nrules = static_cast<uint32_t>(c.rules.size());
  for (int id : ids) {
    if (!left || static_cast<uint32_t>(id) >= nrules) break;
    const CompiledRule &cr = c.rules[id];
    if (!cr.re || done[cr.part] || !(left & (1u << cr.part))) continue;
    if (cr.programmed && programs) {
      c.fast.starts(scratch.found, static_cast<uint32_t>(id), &starts);
      done[cr.part] =
          run_program(c, cr, text, starts.data(), starts.data() + starts.size(), out->part[cr.part], out);
    } else {
      done[cr.part] = run_rule(c, cr, text, out->part[cr.part], out);
    }
    if (done[cr.part]) left &= ~(1u << cr.part);
  }
  // The bot patterns read the whole string; the tables' text may be less.
  const bool whole = text.data() == ua && text.size() == len;
  if (!whole) c.filter.candidates(ua, len, &ids);
  const re2::StringPiece all(ua, len);
  for (int id : ids) {
    if (static_cast<uint32_t>(id) < nrules) continue;
    if (programs && whole)
      c.fast.starts(scratch.found, static_cast<uint32_t>(id), &starts);
    else
      starts.assign(kMaxStarts + 1, 0);  // RE2 answers
    if (bot_matches(c, static_cast<size_t>(id) - nrules, all, starts.data(), starts.data() + starts.size(),
                    out)) {
      out->bot = true;
      return;
    }
  }
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  if (c.anchored_bots && c.anchored_bots->Match(all, nullptr, &error)) {
    out->bot = true;
    return;
  }
  if (c.anchored_bots && error.kind == RE2::Set::kNoError) return;
  for (const auto &re : c.anchored_bot_list)
    if (re && re->Match(all, 0, len, RE2::ANCHOR_START, nullptr, 0)) {
      out->bot = true;
      return;
    }
}

}  // namespace hp::ua

namespace hp::ua {

namespace {

template <size_t N>
void put_field(char (&dst)[N], const Field &f) {
  put(dst, Span{f.value.data(), static_cast<uint32_t>(f.value.size())});
}

int device_type_of(const Field &f) {
  static const struct {
    const char *name;
    int type;
  } types[] = {{"mobile", HP_UA_MOBILE},   {"tablet", HP_UA_TABLET},     {"smarttv", HP_UA_SMARTTV},
               {"console", HP_UA_CONSOLE}, {"wearable", HP_UA_WEARABLE}, {"embedded", HP_UA_EMBEDDED}};
  for (const auto &t : types)
    if (f.value == t.name) return t.type;
  return HP_UA_DESKTOP;
}

}  // namespace

void fill_parts(const LongTail &lt, unsigned parts, hp_ua_result *out) {
  using namespace tables;
  auto has = [parts](int part) { return (parts & (1u << part)) != 0; };
  auto name_version = [&lt](int part, auto &name, auto &version) {
    put_field(name, lt.part[part][F_NAME]);
    put_field(version, lt.part[part][F_VERSION]);
  };
  if (has(PART_BROWSER)) name_version(PART_BROWSER, out->browser, out->browser_version);
  if (has(PART_ENGINE)) name_version(PART_ENGINE, out->engine, out->engine_version);
  if (has(PART_OS)) name_version(PART_OS, out->os, out->os_version);
  if (has(PART_DEVICE)) {
    put_field(out->vendor, lt.part[PART_DEVICE][F_VENDOR]);
    put_field(out->model, lt.part[PART_DEVICE][F_MODEL]);
    out->device_type = device_type_of(lt.part[PART_DEVICE][F_TYPE]);
  }
  if (has(PART_CPU)) put_field(out->cpu, lt.part[PART_CPU][F_ARCH]);
}

}  // namespace hp::ua
