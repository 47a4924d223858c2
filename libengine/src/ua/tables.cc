// The long-tail path: ua-parser-js 1.x's rules (tables_data.cc) run with
// RE2. Every rule of every category sits in one FilteredRE2, whose atoms
// (literals a rule cannot match without) one RE2::Set finds in one linear
// pass over the lower-cased string; the rules whose atoms are all there are
// then tried in ua-parser-js's order, each category stopping at its first
// match, whose captures set the fields as the rule's properties say.
#include "ua/tables.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ua/long_tail.h"
#include "ua/text.h"

namespace hp::ua {

namespace {

using tables::Category;
using tables::Rule;

// A rejected match (a rule's `unless`) is searched for again one byte on; a
// constant number of tries keeps the time linear.
constexpr int kMaxRetries = 4;

// Shorter atoms would pass too many rules to be worth the filter.
constexpr int kMinAtomLen = 3;

RE2::Options options(int64_t max_mem) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  return o;
}

struct CompiledRule {
  int part = 0;
  const Rule *rule = nullptr;
  const RE2 *re = nullptr;  // owned by the filter
  std::unique_ptr<RE2> unless, clear_if;
};

struct Compiled {
  re2::FilteredRE2 filter{kMinAtomLen};
  std::vector<CompiledRule> rules;  // by filter id
  std::vector<int> cpu_rules;       // filter ids of the cpu rules, in order
  // atoms: the filter's literals; unfiltered: the rules without any, which
  // the filter would pass for every string (by set index); cpu: the cpu
  // rules alone (the detectors' path reads everything else from tokens)
  std::unique_ptr<RE2::Set> atoms, unfiltered, cpu, bots;
  std::vector<int> unfiltered_ids;
  std::vector<bool> is_unfiltered;  // by filter id
  std::unordered_map<const char *, std::unique_ptr<RE2>> replace;
  int errors = 0;

  Compiled() {
    const Category *all[PART_COUNT] = {&tables::kBrowser, &tables::kCpu, &tables::kDevice,
                                       &tables::kEngine, &tables::kOs};
    for (int part = 0; part < PART_COUNT; part++)
      for (uint32_t i = 0; i < all[part]->n; i++) add(part, all[part]->rules[i]);
    std::vector<std::string> literals;
    filter.Compile(&literals);
    for (const CompiledRule &r : rules) errors += !r.re;
    atoms = std::make_unique<RE2::Set>(options(32 << 20), RE2::UNANCHORED);
    for (const std::string &a : literals)
      if (atoms->Add(RE2::QuoteMeta(a), nullptr) < 0) errors++;
    if (literals.empty() || !atoms->Compile()) atoms.reset();
    filter.AllPotentials({}, &unfiltered_ids);
    is_unfiltered.assign(rules.size(), false);
    unfiltered = std::make_unique<RE2::Set>(options(32 << 20), RE2::UNANCHORED);
    for (int id : unfiltered_ids) {
      is_unfiltered[id] = true;
      if (unfiltered->Add(rules[id].rule->re, nullptr) < 0) errors++;
    }
    if (!unfiltered->Compile()) errors++, unfiltered.reset();
    cpu = std::make_unique<RE2::Set>(options(8 << 20), RE2::UNANCHORED);
    for (int id : cpu_rules)
      if (cpu->Add(rules[id].rule->re, nullptr) < 0) errors++;
    if (!cpu->Compile()) errors++, cpu.reset();
    bots = std::make_unique<RE2::Set>(options(64 << 20), RE2::UNANCHORED);
    for (uint32_t i = 0; i < tables::kBots.n; i++)
      if (bots->Add(tables::kBots.items[i], nullptr) < 0) errors++;
    if (!bots->Compile()) errors++, bots.reset();
  }

  std::unique_ptr<RE2> one(const char *pattern) {
    if (!pattern) return nullptr;
    auto re = std::make_unique<RE2>(pattern, options(8 << 20));
    if (!re->ok()) {
      errors++;
      return nullptr;
    }
    return re;
  }

  void add(int part, const Rule &r) {
    int id = -1;
    if (filter.Add(r.re, options(8 << 20), &id) != RE2::NoError) {
      errors++;
      return;
    }
    CompiledRule c;
    c.part = part;
    c.rule = &r;
    c.re = &filter.GetRE2(id);
    c.unless = one(r.unless);
    c.clear_if = one(r.clear_if);
    rules.resize(static_cast<size_t>(id) + 1);
    rules[id] = std::move(c);
    if (part == PART_CPU) cpu_rules.push_back(id);
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

void apply(const Compiled &c, const Rule &r, const re2::StringPiece *groups, int ngroups,
           Field *fields) {
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

// Runs a rule at the first place it matches and is not rejected; false
// when there is none.
bool run_rule(const Compiled &c, const CompiledRule &cr, re2::StringPiece text, Field *fields) {
  const RE2 *re = cr.re;
  const Rule &r = *cr.rule;
  const int ngroups = std::min(re->NumberOfCapturingGroups(), 15) + 1;
  re2::StringPiece groups[16];
  size_t pos = 0;
  for (int tries = 0; tries < kMaxRetries && pos <= text.size(); tries++) {
    if (!re->Match(text, pos, text.size(), RE2::UNANCHORED, groups, ngroups)) return false;
    const size_t start = static_cast<size_t>(groups[0].data() - text.data());
    if (cr.unless && cr.unless->Match(text, start, text.size(), RE2::ANCHOR_START, nullptr, 0)) {
      pos = start + 1;
      continue;
    }
    if (cr.clear_if && r.clear_group < ngroups && groups[r.clear_group].data() &&
        RE2::PartialMatch(groups[r.clear_group], *cr.clear_if))
      groups[r.clear_group] = re2::StringPiece();
    apply(c, r, groups, ngroups, fields);
    return true;
  }
  return false;
}

// Per-thread scratch lists, so a parse does not allocate them anew.
struct Scratch {
  std::vector<int> found, passed, hits, ids;
};

Scratch &scratch() {
  static thread_local Scratch s;
  return s;
}

// The filter ids of the rules whose atoms the string holds and of the rules
// without atoms that match it, in order, into sc.ids.
void candidates(const Compiled &c, re2::StringPiece text, Scratch &sc) {
  char low[kTableMaxLen];
  const size_t n = std::min<size_t>(text.size(), sizeof low);
  for (size_t i = 0; i < n; i++) low[i] = lower(text[i]);
  sc.found.clear();
  if (c.atoms) c.atoms->Match(re2::StringPiece(low, n), &sc.found);
  c.filter.AllPotentials(sc.found, &sc.passed);
  sc.ids.clear();
  for (int id : sc.passed)
    if (!c.is_unfiltered[id]) sc.ids.push_back(id);
  sc.hits.clear();
  if (c.unfiltered && c.unfiltered->Match(text, &sc.hits))
    for (int h : sc.hits) sc.ids.push_back(c.unfiltered_ids[h]);
  std::sort(sc.ids.begin(), sc.ids.end());
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

bool tables_ready() { return compiled().errors == 0; }

void match_tables(const char *ua, uint32_t len, LongTail *out) {
  *out = LongTail{};
  const Compiled &c = compiled();
  re2::StringPiece text = table_text(ua, len);
  Scratch &sc = scratch();
  candidates(c, text, sc);
  bool done[PART_COUNT] = {};
  for (int id : sc.ids) {
    const CompiledRule &cr = c.rules[id];
    if (!cr.re || done[cr.part]) continue;
    done[cr.part] = run_rule(c, cr, text, out->part[cr.part]);
  }
}

bool match_bot(const char *ua, uint32_t len) {
  const Compiled &c = compiled();
  if (!c.bots) return false;
  return c.bots->Match(re2::StringPiece(ua, len), nullptr);
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

void match_cpu(const char *ua, uint32_t len, LongTail *out) {
  const Compiled &c = compiled();
  re2::StringPiece text = table_text(ua, len);
  std::vector<int> &hits = scratch().hits;
  hits.clear();
  if (!c.cpu || !c.cpu->Match(text, &hits)) return;
  std::sort(hits.begin(), hits.end());
  for (int h : hits)
    if (run_rule(c, c.rules[c.cpu_rules[h]], text, out->part[PART_CPU])) return;
}

void fill_result(const LongTail &lt, hp_ua_result *out) {
  using namespace tables;
  put_field(out->browser, lt.part[PART_BROWSER][F_NAME]);
  put_field(out->browser_version, lt.part[PART_BROWSER][F_VERSION]);
  put_field(out->engine, lt.part[PART_ENGINE][F_NAME]);
  put_field(out->engine_version, lt.part[PART_ENGINE][F_VERSION]);
  put_field(out->os, lt.part[PART_OS][F_NAME]);
  put_field(out->os_version, lt.part[PART_OS][F_VERSION]);
  put_field(out->vendor, lt.part[PART_DEVICE][F_VENDOR]);
  put_field(out->model, lt.part[PART_DEVICE][F_MODEL]);
  out->device_type = device_type_of(lt.part[PART_DEVICE][F_TYPE]);
  put_field(out->cpu, lt.part[PART_CPU][F_ARCH]);
}

}  // namespace hp::ua
