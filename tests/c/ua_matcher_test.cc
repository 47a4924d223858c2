// The parser's own matcher (ua/program.h) against RE2: pattern by pattern,
// and as the long-tail path runs it over every committed corpus string.
#include <doctest/doctest.h>
#include <re2/re2.h>

#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/fixtures.h"
#include "ua/long_tail.h"
#include "ua/program.h"
#include "ua/tables.h"

namespace {

using hp::ua::Program;

std::vector<std::string> corpus_strings() {
  std::vector<std::string> out;
  for (const char *name : {"ua-corpus-user-agents.txt", "ua-corpus-fake-ua.txt", "ua-corpus-crawlers.txt",
                           "ua-extra.txt", "ua-golden.tsv"}) {
    std::istringstream in(hp_test::read_file(hp_test::fixture(name)));
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') out.push_back(line.substr(0, line.find('\t')));
  }
  return out;
}

// RE2's leftmost match and its groups as text ("-" for a group that took
// no part), or "none".
std::string re2_answer(const RE2 &re, const std::string &text) {
  std::vector<re2::StringPiece> groups(re.NumberOfCapturingGroups() + 1);
  if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size())))
    return "none";
  std::string out;
  for (const auto &g : groups)
    out += g.data() ? "[" + std::to_string(g.data() - text.data()) + "," + std::string(g) + "]" : "-";
  return out;
}

// The same from the program, tried at every start in turn.
std::string program_answer(const Program &p, const std::string &text) {
  std::vector<int32_t> caps(2 * p.groups());
  int64_t steps = 1 << 20;
  for (uint32_t start = 0; start <= text.size(); start++) {
    const Program::Outcome o =
        p.run(text.data(), static_cast<uint32_t>(text.size()), start, caps.data(), &steps);
    REQUIRE(o != Program::OUT_OF_STEPS);
    if (o == Program::NO_MATCH) continue;
    std::string out;
    for (int g = 0; g < p.groups(); g++)
      out += caps[2 * g] < 0 ? "-"
                             : "[" + std::to_string(caps[2 * g]) + "," +
                                   text.substr(caps[2 * g], caps[2 * g + 1] - caps[2 * g]) + "]";
    return out;
  }
  return "none";
}

std::string fields(const hp::ua::LongTail &lt) {
  std::string out = lt.bot ? "bot" : "-";
  for (const auto &part : lt.part)
    for (const auto &f : part) out += f.set ? "|" + f.value : "|(unset)";
  return out;
}

}  // namespace

TEST_CASE("ua matcher: a program finds RE2's match and captures") {
  struct Case {
    const char *pattern;
    std::vector<const char *> texts;
  };
  const Case cases[] = {
      {"(?i)\\b(?:crmo|crios)\\/([\\w\\.]+)", {"x CriOS/120.0.1 y", "xcrios/1", "CRMO/", "crios/1.2_3-4"}},
      {"(?i)edg(?:e|ios|a)?\\/([\\w\\.]+)", {"Edg/1", "EdgA/2.0 edge/3", "edgios/", "edgx/1 Edge/9"}},
      {"(?i)(opera)(?:.+version\\/|[\\/ ]+)([\\w\\.]+)",
       {"Opera/9.80 (X11) Presto/2.12 Version/12.16", "Opera 12", "opera/ver", "Opera Mini"}},
      {"(?i)((?:tegranote|shield t)[\\w- ]*?)(?: b|\\))",
       {"SHIELD Tablet K1 Build/x", "tegranote)", "shield t"}},
      {"(?i)\\b(xbox(?: one)?)[\\); ]", {"Xbox One)", "xbox;", "Xbox One X)", "xboxone "}},
      {"(?i)\\b([-frentopcghs]{0,5}bsd|dragonfly)[\\/ ]?([\\w\\.]*)",
       {"FreeBSD amd64", "x bsd/1", "DragonFly"}},
      {"(?i)(windows (?:phone(?: os)?|mobile))[\\/ ]?([\\d\\.\\w ]*)",
       {"Windows Phone OS 7.5;", "windows mobile"}},
      {"(?i)^(mozilla)\\/([\\d\\.]+)$", {"Mozilla/5.0", "Mozilla/5.0 x", " mozilla/1"}},
      {"(?i)(ab){2,3}?(c|abc)", {"abababc", "ababc", "abc"}},
      {"(?i)(a|ab)(c|bcd)(d*)", {"abcd", "xabcdd"}},
      {"(?i)(x(y)?)+z", {"xyxz", "xz", "xyxyz"}},
      {"ab\\B\\w", {"ab cabd", "abx"}},
      {"(?i)[^a-c\\d](de)", {"Ade 1de xde", "cde"}},
  };
  for (const Case &c : cases) {
    Program p;
    REQUIRE_MESSAGE(p.compile(c.pattern), c.pattern);
    RE2 re(c.pattern);
    REQUIRE(re.ok());
    CHECK(p.groups() == re.NumberOfCapturingGroups() + 1);
    for (const char *t : c.texts)
      CHECK_MESSAGE(program_answer(p, t) == re2_answer(re, t), c.pattern << " on " << t);
  }
}

TEST_CASE("ua matcher: what a program cannot hold stays with RE2") {
  Program p;
  CHECK_FALSE(p.compile("(?i)[\\w\\.]+/1"));   // no leading literal
  CHECK_FALSE(p.compile("(?i)a\\/(x*)*"));     // a repetition of what can match empty
  CHECK_FALSE(p.compile("(?i)(?=ab)ab"));      // lookahead
  CHECK_FALSE(p.compile("(?i)ab\\d{2}\\1"));   // backreference
  CHECK_FALSE(p.compile("(?i)ab\\pL"));        // Unicode class
  CHECK_FALSE(p.compile("(?i)ab(x{1000,})"));  // too big
  auto leads = [&p] {
    std::string out;
    for (const Program::Lead &l : p.leads())
      out += l.text + "@" + std::to_string(l.lo) + "-" + std::to_string(l.hi) + " ";
    return out;
  };
  CHECK(p.compile("(?i)ab"));
  CHECK(leads() == "ab@0-0 ");
  CHECK(p.compile("(?i)\\b(?:crmo|crios)\\/"));
  CHECK(leads() == "crios/@0-0 crmo/@0-0 ");
  CHECK(p.compile("(?i)(chrome|[tizenoka]{5} ?browser)\\/"));
  CHECK(leads() == "chrome@0-0  browser@5-5 browser@5-5 ");  // " browser/" cut to 8 bytes
}

TEST_CASE("ua matcher: a program runs out of steps rather than time") {
  Program p;
  REQUIRE(p.compile("(?i)(opera)(?:.+version\\/|[\\/ ]+)([\\w\\.]+)"));
  const std::string text = "opera" + std::string(4000, '-');
  std::vector<int32_t> caps(2 * p.groups());
  int64_t steps = 1000;
  CHECK(p.run(text.data(), static_cast<uint32_t>(text.size()), 0, caps.data(), &steps) ==
        Program::OUT_OF_STEPS);
  CHECK(steps == 0);
  steps = 1 << 20;
  CHECK(p.run(text.data(), static_cast<uint32_t>(text.size()), 0, caps.data(), &steps) == Program::NO_MATCH);
}

TEST_CASE("ua matcher: Android strings take no RE2 search but the anchored bot set; bots are flagged as RE2 flags them") {
  // The rule for Android-x86 and HarmonyOS, whose literal once passed every
  // Android string ("android " of "android x86"), and the bot patterns that
  // pass run as programs: an RE2 search here would be a fallback.
  auto check = [](const char *ua, bool bot) {
    hp::ua::LongTail programs, re2;
    const uint32_t len = static_cast<uint32_t>(std::strlen(ua));
    hp::ua::match_tables(ua, len, hp::ua::kAllParts, &programs, hp::ua::Matcher::kPrograms);
    hp::ua::match_tables(ua, len, hp::ua::kAllParts, &re2, hp::ua::Matcher::kRe2);
    CHECK_MESSAGE(programs.re2_rules == 0, std::string(ua));
    if (!bot) CHECK_MESSAGE(programs.re2_bots == 0, std::string(ua));
    CHECK(programs.bot == bot);
    CHECK(re2.bot == bot);
    CHECK(programs.part[hp::ua::PART_OS][hp::ua::tables::F_NAME].value ==
          re2.part[hp::ua::PART_OS][hp::ua::tables::F_NAME].value);
  };
  check("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        false);
  check("Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/99.0.4844.88 Mobile Safari/537.36",
        false);
  check("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true);
  check("python-requests/2.31.0", true);
}

TEST_CASE("ua matcher: the programs and RE2 give the same answers on every corpus string") {
  uint32_t rules = 0;
  const uint32_t programmed = hp::ua::programmed_rules(&rules);
  MESSAGE(programmed << " of " << rules << " rules have a program; the tables hold "
                     << hp::ua::tables_memory() / 1024 << " KiB");
  CHECK(programmed * 4 > rules * 3);
  std::vector<std::string> strings = corpus_strings();
  // The same strings in other cases, cut short and run together, for the
  // starts, \b and the anchors at other places.
  std::mt19937 rng(15);
  const size_t n = strings.size();
  for (size_t i = 0; i < n; i++) {
    std::string s = strings[i];
    for (char &c : s)
      if (rng() % 3 == 0)
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
    strings.push_back(s.substr(0, rng() % (s.size() + 1)));
    strings.push_back(s + " " + strings[rng() % n]);
  }
  size_t differ = 0, reach_re2 = 0, ascii = 0;
  for (const std::string &ua : strings) {
    hp::ua::LongTail programs, re2;
    const uint32_t len = static_cast<uint32_t>(ua.size());
    hp::ua::match_tables(ua.data(), len, hp::ua::kAllParts, &programs, hp::ua::Matcher::kPrograms);
    hp::ua::match_tables(ua.data(), len, hp::ua::kAllParts, &re2, hp::ua::Matcher::kRe2);
    reach_re2 += programs.re2_rules > 0;
    ascii += std::all_of(ua.begin(), ua.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (fields(programs) != fields(re2)) {
      differ++;
      FAIL_CHECK(ua << "\n  programs: " << fields(programs) << "\n  RE2:      " << fields(re2));
    }
  }
  MESSAGE(strings.size() << " strings (" << ascii << " ASCII), " << reach_re2
                         << " of them searched by RE2 for a rule, " << differ << " answers differ");
  CHECK(differ == 0);
}
