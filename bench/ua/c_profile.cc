// bench/ua (profile): where an uncached long-tail parse spends its time.
// Over the strings of a file (one a line) it runs the tables' matching with
// RE2 for every rule, as ua/tables.cc does for a string with a byte over
// 0x7f (the literal prefilter, then each category's candidate rules in
// order until one matches, then the bot patterns; of a string the
// detectors take, only the parts they leave to the tables) and reports per
// string: the prefilter's CPU time, the tokenizer's and detectors' (the
// whole uncached parse beside it), and for each category how many
// candidates the prefilter passed, how many were searched, how many
// matched, and the CPU time of those searches with the captures the parser
// asks for and without them; then the patterns that cost the most. Each
// pattern's searches are timed together, so its program and DFA stay in
// cache; they are also timed string by string, as a parse makes them (each
// string touching a dozen patterns in turn). The rest of a parse's time is
// the parse less the tokenizer, the prefilter and the searches in turn.
// Last, the long-tail path as the parser runs it (the rules' programs,
// ua/program.h) beside RE2 for every rule, and how many strings still take
// RE2 for a rule. It links the engine's static library (the prefilter is
// internal). JSON on stdout.
#include <re2/re2.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ua/detect.h"
#include "ua/long_tail.h"
#include "ua/prefilter.h"
#include "ua/tables.h"

namespace {

using namespace hp::ua;

double cpu_s() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

constexpr int kReps = 5;
const char *const kParts[] = {"browser", "cpu", "device", "engine", "os", "bots"};
constexpr int kBots = 5;

struct Pattern {
  std::unique_ptr<RE2> re;
  int part;
  int groups;  // the submatches the parser asks for (0 for bot patterns)
  long candidate = 0, searched = 0, matched = 0;
  std::vector<int> strings;  // the strings it is searched in
  double with_captures = 0, without = 0;
};

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  std::ifstream in(argv[1]);
  std::vector<std::string> uas;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) uas.push_back(line.substr(0, 500));  // the tables read 500 bytes
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(1 << 20);
  Prefilter filter;
  std::vector<Pattern> patterns;
  auto add = [&](const char *re, int part) {
    filter.add(re, o);
    Pattern p{std::make_unique<RE2>(re, o), part, 0};
    if (part != kBots) p.groups = std::min(p.re->NumberOfCapturingGroups(), 15) + 1;
    patterns.push_back(std::move(p));
  };
  const tables::Category *categories[] = {&tables::kBrowser, &tables::kCpu, &tables::kDevice,
                                          &tables::kEngine, &tables::kOs};
  for (int part = 0; part < kBots; part++)
    for (uint32_t i = 0; i < categories[part]->n; i++) add(categories[part]->rules[i].re, part);
  // the bot patterns anchored at the start run as one RE2::Set, apart
  for (uint32_t i = 0; i < tables::kBots.n; i++)
    if (std::strncmp(tables::kBots.items[i], "(?i)^", 5) != 0) add(tables::kBots.items[i], kBots);
  filter.build();

  // Which searches a parse makes (found once), then each pattern's
  // searches timed together, kReps times, with and without captures.
  std::vector<std::vector<int>> candidates(uas.size());
  for (size_t s = 0; s < uas.size(); s++) filter.candidates(uas[s].data(), uas[s].size(), &candidates[s]);
  double t0 = cpu_s();
  for (int r = 0; r < kReps; r++)
    for (size_t s = 0; s < uas.size(); s++) filter.candidates(uas[s].data(), uas[s].size(), &candidates[s]);
  const double filter_s = (cpu_s() - t0) / kReps;
  // the parts the tables answer for each string, as ua/parse.cc decides
  std::vector<unsigned> parts(uas.size());
  hp_ua_result result = HP_UA_RESULT_INIT;
  parse("x", 1, &result);  // compiles the tables
  t0 = cpu_s();
  for (int r = 0; r < kReps; r++)
    for (size_t s = 0; s < uas.size(); s++) {
      Scan scanned;
      scan(scanned, uas[s].data(), static_cast<uint32_t>(uas[s].size()));
      const FastPath fast = fast_path(scanned);
      if (fast != FAST_NONE) {
        detect_browser(scanned, &result);
        detect_engine(scanned, &result);
        detect_os(scanned, &result);
        if (fast == FAST_ALL) detect_device(scanned, &result);
      }
      parts[s] = fast == FAST_NONE  ? 0x3fu
                 : fast == FAST_ALL ? (1u << 1 | 1u << kBots)
                                    : (1u << 1 | 1u << 2 | 1u << kBots);
    }
  const double detectors_s = (cpu_s() - t0) / kReps;
  t0 = cpu_s();
  for (int r = 0; r < kReps; r++)
    for (const std::string &ua : uas) parse(ua.data(), static_cast<uint32_t>(ua.size()), &result);
  const double parse_s = (cpu_s() - t0) / kReps;
  for (size_t s = 0; s < uas.size(); s++) {
    bool done[kBots + 1] = {};
    for (int id : candidates[s]) {
      Pattern &p = patterns[id];
      if (!(parts[s] & (1u << p.part))) continue;
      p.candidate++;
      if (done[p.part]) continue;
      p.searched++;
      p.strings.push_back(static_cast<int>(s));
      if (RE2::PartialMatch(uas[s], *p.re)) p.matched++, done[p.part] = true;
    }
  }
  re2::StringPiece groups[16];
  // the same searches string by string, as a parse makes them
  t0 = cpu_s();
  for (int r = 0; r < kReps; r++)
    for (size_t s = 0; s < uas.size(); s++) {
      bool done[kBots + 1] = {};
      for (int id : candidates[s]) {
        const Pattern &p = patterns[id];
        if (!(parts[s] & (1u << p.part)) || done[p.part]) continue;
        done[p.part] = p.re->Match(uas[s], 0, uas[s].size(), RE2::UNANCHORED, groups, p.groups);
      }
    }
  const double in_order_s = (cpu_s() - t0) / kReps;
  for (Pattern &p : patterns) {
    if (p.strings.empty()) continue;
    for (int with = 0; with < 2; with++) {
      const int n = with ? p.groups : 0;
      t0 = cpu_s();
      for (int r = 0; r < kReps; r++)
        for (int s : p.strings) p.re->Match(uas[s], 0, uas[s].size(), RE2::UNANCHORED, groups, n);
      (with ? p.with_captures : p.without) = (cpu_s() - t0) / kReps;
    }
  }

  // The long-tail path as a parse runs it (the rules' programs, RE2 for the
  // rules without one) beside RE2 for every rule, over every part; and how
  // many strings still take RE2 for a rule.
  uint32_t rules = 0;
  const uint32_t programmed = programmed_rules(&rules);
  long reach_re2 = 0;
  for (const std::string &ua : uas) {
    LongTail lt;
    match_tables(ua.data(), static_cast<uint32_t>(ua.size()), kAllParts, &lt);
    reach_re2 += lt.re2_rules > 0;
  }
  double matcher_s[2];
  for (int m = 0; m < 2; m++) {
    t0 = cpu_s();
    for (int r = 0; r < kReps; r++)
      for (const std::string &ua : uas) {
        LongTail lt;
        match_tables(ua.data(), static_cast<uint32_t>(ua.size()), kAllParts, &lt,
                     m ? Matcher::kRe2 : Matcher::kPrograms);
      }
    matcher_s[m] = (cpu_s() - t0) / kReps;
  }

  const double n = static_cast<double>(uas.size());
  std::printf(
      "{\n  \"strings\": %zu,\n  \"parseNsPerString\": %.0f,\n  \"tokenizerAndDetectorsNsPerString\": %.0f,"
      "\n  \"prefilterNsPerString\": %.0f,\n  \"parts\": [",
      uas.size(), parse_s / n * 1e9, detectors_s / n * 1e9, filter_s / n * 1e9);
  double total = filter_s;
  for (int part = 0; part <= kBots; part++) {
    double cand = 0, searched = 0, matched = 0, with = 0, without = 0;
    for (const Pattern &p : patterns)
      if (p.part == part)
        cand += p.candidate, searched += p.searched, matched += p.matched, with += p.with_captures,
            without += p.without;
    total += with;
    std::printf(
        "%s\n    {\"part\": \"%s\", \"candidatesPerString\": %.2f, \"searchedPerString\": %.2f, "
        "\"matchedPerString\": %.2f, \"nsPerString\": %.0f, \"nsPerStringWithoutCaptures\": %.0f}",
        part ? "," : "", kParts[part], cand / n, searched / n, matched / n, with / n * 1e9,
        without / n * 1e9);
  }
  std::printf(
      "\n  ],\n  \"prefilterAndSearchesNsPerString\": %.0f,\n  \"searchesInParseOrderNsPerString\": %.0f,"
      "\n  \"restNsPerString\": %.0f,\n  \"costliest\": [",
      total / n * 1e9, in_order_s / n * 1e9, (parse_s - detectors_s - filter_s - in_order_s) / n * 1e9);
  std::vector<const Pattern *> order;
  for (const Pattern &p : patterns) order.push_back(&p);
  std::sort(order.begin(), order.end(),
            [](const Pattern *a, const Pattern *b) { return a->with_captures > b->with_captures; });
  for (int i = 0; i < 15 && i < static_cast<int>(order.size()); i++) {
    const Pattern &p = *order[i];
    std::string re;
    for (char c : p.re->pattern()) {
      if (c == '"' || c == '\\') re += '\\';
      re += c;
    }
    std::printf(
        "%s\n    {\"part\": \"%s\", \"searches\": %ld, \"matches\": %ld, \"nsPerString\": %.0f, "
        "\"nsPerSearch\": %.0f, \"nsPerSearchWithoutCaptures\": %.0f, \"pattern\": \"%s\"}",
        i ? "," : "", kParts[p.part], p.searched, p.matched, p.with_captures / n * 1e9,
        p.with_captures / p.searched * 1e9, p.without / p.searched * 1e9, re.c_str());
  }
  std::printf(
      "\n  ],\n  \"programs\": {\"rules\": %u, \"programmed\": %u, \"stringsReachingRe2ForARule\": %ld, "
      "\"tablesNsPerString\": %.0f, \"tablesRe2OnlyNsPerString\": %.0f, \"tablesMemoryBytes\": %zu}\n}\n",
      rules, programmed, reach_re2, matcher_s[0] / n * 1e9, matcher_s[1] / n * 1e9, tables_memory());
  return 0;
}
