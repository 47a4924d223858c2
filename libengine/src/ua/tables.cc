// The long-tail path: ua-parser-js 1.x's rules (tables_data.cc) run with
// RE2. One prefilter over every rule and every bot pattern (ua/prefilter.h)
// finds, in one linear pass, the patterns whose literals the string holds;
// those rules are then tried in ua-parser-js's order, each category stopping
// at its first match, whose captures set the fields as the rule's
// properties say, and those bot patterns until one matches. The bot
// patterns anchored at the start (a third of them) sit in one RE2::Set
// anchored there instead, which rejects most strings in a few bytes.
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
#include "ua/text.h"

namespace hp::ua {

namespace {

using tables::Category;
using tables::Rule;

// A rejected match (a rule's `unless`) is searched for again one byte on; a
// constant number of tries keeps the time linear.
constexpr int kMaxRetries = 4;

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
};

struct Compiled {
  // ids: the rules of every part in order (browser, cpu, device, engine,
  // os), then the bot patterns not anchored at the start
  Prefilter filter;
  // the browser, engine and OS rules alone (only_device_rules_read)
  Prefilter not_device;
  std::vector<CompiledRule> rules;
  std::vector<std::unique_ptr<RE2>> bots;  // by filter id - rules.size()
  // the bot patterns anchored at the start, as one set and one by one (for
  // a string the set's DFA runs out of memory on)
  std::unique_ptr<RE2::Set> anchored_bots;
  std::vector<std::unique_ptr<RE2>> anchored_bot_list;
  std::unordered_map<const char *, std::unique_ptr<RE2>> replace;
  int errors = 0;

  Compiled() {
    const Category *all[PART_COUNT] = {&tables::kBrowser, &tables::kCpu, &tables::kDevice,
                                       &tables::kEngine, &tables::kOs};
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
    }
    if (!anchored_bots->Compile()) errors++, anchored_bots.reset();
    if (!filter.build()) errors++;
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
    if (!filter.add(r.re, options(kPatternMaxMem))) errors++;
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
  const RE2 *re = cr.re.get();
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

bool only_device_rules_read(const char *text, uint32_t len) {
  // Two-byte literals ("op" of "opx/") are parts of longer matches that
  // would hold a longer literal too.
  return !compiled().not_device.any_literal(text, len, 3);
}

void match_tables(const char *ua, uint32_t len, unsigned parts, LongTail *out) {
  const Compiled &c = compiled();
  const re2::StringPiece text = table_text(ua, len);
  static thread_local std::vector<int> ids;
  c.filter.candidates(text.data(), static_cast<uint32_t>(text.size()), &ids);
  bool done[PART_COUNT] = {};
  const int nrules = static_cast<int>(c.rules.size());
  for (int id : ids) {
    if (id >= nrules) break;
    const CompiledRule &cr = c.rules[id];
    if (!cr.re || done[cr.part] || !(parts & (1u << cr.part))) continue;
    done[cr.part] = run_rule(c, cr, text, out->part[cr.part]);
  }
  // The bot patterns read the whole string; the tables' text may be less.
  if (text.data() != ua || text.size() != len) c.filter.candidates(ua, len, &ids);
  const re2::StringPiece all(ua, len);
  for (int id : ids) {
    if (id < nrules) continue;
    const RE2 *re = c.bots[id - nrules].get();
    if (re && re->Match(all, 0, len, RE2::UNANCHORED, nullptr, 0)) {
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
