#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <re2/re2.h>

#include "hotpath.h"
#include "support/fixtures.h"
#include "ua/atoms.h"
#include "ua/detect.h"
#include "ua/long_tail.h"
#include "ua/prefilter.h"
#include "ua/tables.h"

namespace {

hp_ua_result parse(const std::string &s, hp_ua *p = nullptr) {
  hp_ua_result r = HP_UA_RESULT_INIT;
  REQUIRE(hp_ua_parse(&r, p, s.data(), s.size()) >= 0);
  return r;
}

struct Golden {
  std::string ua;
  std::vector<std::string> fields;  // as in the TSV header
};

std::vector<Golden> golden() {
  std::istringstream in(hp_test::read_file(hp_test::fixture("ua-golden.tsv")));
  std::vector<Golden> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Golden g;
    std::string field;
    std::istringstream cols(line);
    std::getline(cols, g.ua, '\t');
    while (std::getline(cols, field, '\t')) g.fields.push_back(field);
    while (g.fields.size() < 10) g.fields.push_back("");
    out.push_back(g);
  }
  return out;
}

std::vector<std::string> fields_of(const hp_ua_result &r) {
  return {r.browser, r.browser_version, r.engine, r.engine_version, r.os, r.os_version,
          hp_ua_device_type_name(r.device_type), r.vendor, r.model, r.is_bot ? "1" : "0"};
}

bool same(const hp_ua_result &a, const hp_ua_result &b) { return fields_of(a) == fields_of(b); }

}  // namespace

TEST_CASE("ua: common browsers get ua-parser-js names") {
  auto r = parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36");
  CHECK(std::string(r.browser) == "Chrome");
  CHECK(std::string(r.browser_version) == "120.0.0.0");
  CHECK(std::string(r.engine) == "Blink");
  CHECK(std::string(r.os) == "Windows");
  CHECK(std::string(r.os_version) == "10");
  CHECK(r.device_type == HP_UA_DESKTOP);
  CHECK(r.is_bot == 0);

  r = parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1");
  CHECK(std::string(r.browser) == "Mobile Safari");
  CHECK(std::string(r.browser_version) == "17.1.2");
  CHECK(std::string(r.engine) == "WebKit");
  CHECK(std::string(r.os) == "iOS");
  CHECK(std::string(r.os_version) == "17.1.2");
  CHECK(r.device_type == HP_UA_MOBILE);
  CHECK(std::string(r.vendor) == "Apple");
  CHECK(std::string(r.model) == "iPhone");

  r = parse("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0");
  CHECK(std::string(r.browser) == "Firefox");
  CHECK(std::string(r.engine) == "Gecko");
  CHECK(std::string(r.engine_version) == "120.0");
  CHECK(std::string(r.os) == "Mac OS");
  CHECK(std::string(r.os_version) == "10.15");

  r = parse("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Safari/537.36");
  CHECK(std::string(r.os) == "Android");
  CHECK(r.device_type == HP_UA_TABLET);
  CHECK(std::string(r.vendor) == "Samsung");
  CHECK(std::string(r.model) == "SM-X700");

  r = parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0");
  CHECK(std::string(r.browser) == "Edge");
}

TEST_CASE("ua: bots are flagged and typed as bot") {
  for (const char *s : {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.4.0",
                        "python-requests/2.31.0", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"}) {
    auto r = parse(s);
    CHECK_MESSAGE(r.is_bot == 1, s);
    CHECK(r.device_type == HP_UA_BOT);
  }
  auto phone = parse("Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36");
  CHECK(phone.is_bot == 0);
  CHECK(phone.device_type == HP_UA_MOBILE);
}

TEST_CASE("ua: every golden string gives its recorded fields") {
  auto rows = golden();
  REQUIRE(rows.size() >= 100);
  size_t bad = 0;
  for (const auto &g : rows) {
    auto got = fields_of(parse(g.ua));
    if (got != g.fields) {
      bad++;
      std::string msg = g.ua + "\n  got:";
      for (auto &f : got) msg += " [" + f + "]";
      FAIL_CHECK(msg);
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("ua: the cache returns the parsed result for a repeated string") {
  hp_ua *p = nullptr;
  REQUIRE(hp_ua_new(&p, nullptr) == 0);
  std::string s = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
  hp_ua_result a = HP_UA_RESULT_INIT, b = HP_UA_RESULT_INIT;
  CHECK(hp_ua_parse(&a, p, s.data(), s.size()) == 0);
  CHECK(hp_ua_parse(&b, p, s.data(), s.size()) == 1);
  CHECK(same(a, b));
  CHECK(b.version == HP_UA_RESULT_VERSION);
  hp_ua_stats st = HP_UA_STATS_INIT;
  REQUIRE(hp_ua_stats_get(&st, p) == 0);
  CHECK(st.hits == 1);
  CHECK(st.misses == 1);
  CHECK(st.capacity >= HP_UA_DEFAULT_CACHE);

  SUBCASE("a string that differs in one byte is not a hit") {
    std::string t = s;
    t[t.size() - 1] = '7';
    CHECK(hp_ua_parse(&b, p, t.data(), t.size()) == 0);
  }
  SUBCASE("strings over the key limit are parsed every time") {
    std::string long_ua = s + std::string(HP_UA_CACHE_KEY_MAX, ' ');
    CHECK(hp_ua_parse(&b, p, long_ua.data(), long_ua.size()) == 0);
    CHECK(hp_ua_parse(&b, p, long_ua.data(), long_ua.size()) == 0);
    CHECK(std::string(b.browser) == "Chrome");
  }
  hp_ua_close(p, nullptr, nullptr);
}

TEST_CASE("ua: a parser without a cache and a tiny cache agree with the uncached parse") {
  hp_ua_options none = HP_UA_OPTIONS_INIT;
  none.cache_entries = 0;
  hp_ua_options tiny = HP_UA_OPTIONS_INIT;
  tiny.cache_entries = 1;
  hp_ua *p0 = nullptr, *p1 = nullptr;
  REQUIRE(hp_ua_new(&p0, &none) == 0);
  REQUIRE(hp_ua_new(&p1, &tiny) == 0);
  hp_ua_stats st = HP_UA_STATS_INIT;
  REQUIRE(hp_ua_stats_get(&st, p0) == 0);
  CHECK(st.capacity == 0);
  for (const auto &g : golden()) {
    hp_ua_result a = HP_UA_RESULT_INIT, b = HP_UA_RESULT_INIT;
    CHECK(hp_ua_parse(&a, p0, g.ua.data(), g.ua.size()) == 0);
    REQUIRE(hp_ua_parse(&b, p1, g.ua.data(), g.ua.size()) >= 0);
    CHECK(same(a, b));
    REQUIRE(hp_ua_parse(&b, p1, g.ua.data(), g.ua.size()) == 1);
    CHECK(same(a, b));
  }
  hp_ua_close(p0, nullptr, nullptr);
  hp_ua_close(p1, nullptr, nullptr);
}

TEST_CASE("ua: many threads share one parser and a cache that keeps evicting") {
  auto rows = golden();
  std::vector<hp_ua_result> expected;
  for (auto &g : rows) expected.push_back(parse(g.ua));
  hp_ua_options o = HP_UA_OPTIONS_INIT;
  o.cache_entries = 16;  // far fewer than the strings: constant eviction
  hp_ua *p = nullptr;
  REQUIRE(hp_ua_new(&p, &o) == 0);
  std::vector<std::thread> threads;
  std::vector<size_t> mismatches(4, 0);
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; rep++)
        for (size_t i = 0; i < rows.size(); i++) {
          size_t k = (i * (t + 1) + rep) % rows.size();
          hp_ua_result r = HP_UA_RESULT_INIT;
          hp_ua_parse(&r, p, rows[k].ua.data(), rows[k].ua.size());
          if (!same(r, expected[k])) mismatches[t]++;
        }
    });
  for (auto &th : threads) th.join();
  for (size_t m : mismatches) CHECK(m == 0);
  hp_ua_close(p, nullptr, nullptr);
}

TEST_CASE("ua: bad arguments give HP_EINVAL with a message") {
  hp_ua_result r = HP_UA_RESULT_INIT;
  CHECK(hp_ua_parse(nullptr, nullptr, "x", 1) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("out is NULL") != std::string::npos);
  CHECK(hp_ua_parse(&r, nullptr, nullptr, 3) == HP_EINVAL);
  r.version = 99;
  CHECK(hp_ua_parse(&r, nullptr, "x", 1) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("version") != std::string::npos);
  CHECK(hp_ua_new(nullptr, nullptr) == HP_EINVAL);
  hp_ua *p = nullptr;
  hp_ua_options o = HP_UA_OPTIONS_INIT;
  o.cache_entries = HP_UA_MAX_CACHE + 1;
  CHECK(hp_ua_new(&p, &o) == HP_EINVAL);
  CHECK(p == nullptr);
  o = HP_UA_OPTIONS_INIT;
  o.version = 7;
  CHECK(hp_ua_new(&p, &o) == HP_EINVAL);
  hp_ua_stats st = HP_UA_STATS_INIT;
  CHECK(hp_ua_stats_get(&st, nullptr) == HP_EINVAL);
  hp_ua_close(nullptr, nullptr, nullptr);
  CHECK(std::string(hp_ua_device_type_name(HP_UA_SMARTTV)) == "smarttv");
  CHECK(std::string(hp_ua_device_type_name(42)).empty());
}

TEST_CASE("ua: empty, truncated and random input parse without harm") {
  hp_ua_result r = HP_UA_RESULT_INIT;
  CHECK(hp_ua_parse(&r, nullptr, nullptr, 0) == 0);
  CHECK(r.browser[0] == 0);
  CHECK(r.device_type == HP_UA_DESKTOP);
  // Every prefix of every golden string (cut comments, half tokens).
  for (const auto &g : golden())
    for (size_t n = 0; n <= g.ua.size(); n++) {
      std::string cut = g.ua.substr(0, n);  // own allocation: ASan sees over-reads
      REQUIRE(hp_ua_parse(&r, nullptr, cut.data(), cut.size()) == 0);
      CHECK(std::strlen(r.browser) < sizeof r.browser);
    }
  // Random bytes, brackets and separators, long strings, deep nesting.
  std::mt19937 rng(42);
  const char alphabet[] = "()[];/ ,.-_abcMozillaChromeSafariAndroidiPhoneOS0123456789\x00\xff";
  for (int i = 0; i < 5000; i++) {
    std::string s(rng() % 600, ' ');
    for (auto &c : s) c = alphabet[rng() % (sizeof alphabet - 1)];
    REQUIRE(hp_ua_parse(&r, nullptr, s.data(), s.size()) == 0);
  }
  std::string deep(HP_UA_MAX_LEN * 2, '(');
  CHECK(hp_ua_parse(&r, nullptr, deep.data(), deep.size()) == 0);
  std::string many;
  for (int i = 0; i < 500; i++) many += "A/1 (x; y; z) ";
  CHECK(hp_ua_parse(&r, nullptr, many.data(), many.size()) == 0);
  // (within the 500 bytes the tables read)
  std::string huge_field = "Mozilla/5.0 (Linux; Android " + std::string(100, '9') + "; " + std::string(100, 'M') +
                           ") AppleWebKit/537.36 Chrome/" + std::string(100, '1') + " Mobile Safari/537.36";
  CHECK(hp_ua_parse(&r, nullptr, huge_field.data(), huge_field.size()) == 0);
  CHECK(std::strlen(r.browser_version) == sizeof r.browser_version - 1);
  CHECK(std::strlen(r.model) == sizeof r.model - 1);
}

namespace {

std::vector<std::string> corpus(const char *name) {
  std::istringstream in(hp_test::read_file(hp_test::fixture(name)));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

std::vector<std::string> with_cpu(const hp_ua_result &r) {
  auto f = fields_of(r);
  f.push_back(r.cpu);
  return f;
}

}  // namespace

TEST_CASE("ua: the generated tables compile") { CHECK(hp::ua::tables_ready()); }

TEST_CASE("ua: the detectors and the tables agree on every corpus string the detectors take") {
  size_t taken = 0, but_device = 0, total = 0, bad = 0;
  for (const char *name : {"ua-corpus-user-agents.txt", "ua-corpus-fake-ua.txt", "ua-corpus-crawlers.txt",
                           "ua-extra.txt", "ua-golden.tsv"})
    for (std::string ua : corpus(name)) {
      ua = ua.substr(0, ua.find('\t'));
      total++;
      hp::ua::Scan s;
      hp::ua::scan(s, ua.data(), static_cast<uint32_t>(ua.size()));
      const hp::ua::FastPath fast_path = hp::ua::fast_path(s);
      if (fast_path == hp::ua::FAST_NONE) continue;
      taken++;
      but_device += fast_path == hp::ua::FAST_BUT_DEVICE;
      hp_ua_result fast = HP_UA_RESULT_INIT, tables = HP_UA_RESULT_INIT;
      hp::ua::parse(ua.data(), static_cast<uint32_t>(ua.size()), &fast);
      hp::ua::parse(ua.data(), static_cast<uint32_t>(ua.size()), &tables, true);
      if (with_cpu(fast) != with_cpu(tables)) {
        bad++;
        std::string msg = ua + "\n  detectors:";
        for (auto &f : with_cpu(fast)) msg += " [" + f + "]";
        msg += "\n  tables:   ";
        for (auto &f : with_cpu(tables)) msg += " [" + f + "]";
        FAIL_CHECK(msg);
      }
    }
  MESSAGE("detectors took " << taken << " of " << total << " corpus strings (" << but_device
                             << " of them with the device from the tables)");
  CHECK(taken > total / 8);
  CHECK(but_device > 0);
  CHECK(bad == 0);
}

TEST_CASE("ua: an Android model item the browser, engine or OS rules read keeps the string on the tables") {
  auto shape = [](const std::string &model) {
    const std::string ua = "Mozilla/5.0 (Linux; Android 9; " + model +
                           ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    hp::ua::Scan s;
    hp::ua::scan(s, ua.data(), static_cast<uint32_t>(ua.size()));
    return std::make_pair(hp::ua::fast_path(s), parse(ua));
  };
  auto [plain, plain_result] = shape("Pixel 3 Build/PQ3A.190801.002");
  CHECK(plain == hp::ua::FAST_BUT_DEVICE);
  CHECK(std::string(plain_result.model) == "Pixel 3");
  // ua-parser-js reads "Android-x86" as the OS name; the detectors would not
  auto [x86, x86_result] = shape("Android-x86 Build/PI");
  CHECK(x86 == hp::ua::FAST_NONE);
  CHECK(std::string(x86_result.os) == "Android-x86");
}

TEST_CASE("ua: the atom scan finds every literal, case folded, wherever it is in the string") {
  hp::ua::Atoms atoms;
  const uint32_t he = atoms.add("he"), she = atoms.add("She"), hers = atoms.add("hers"), bar = atoms.add("|"),
                 mid = atoms.add("middle");
  CHECK(atoms.add("he") == he);  // the same literal, the same id
  REQUIRE(atoms.build());
  auto found = [&](const std::string &text) {
    std::vector<uint32_t> ids;
    atoms.scan(text.data(), static_cast<uint32_t>(text.size()), [&](uint32_t id, uint32_t) { ids.push_back(id); });
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  };
  auto sorted = [](std::vector<uint32_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(found("uSHErs|") == sorted({he, she, hers, bar}));
  CHECK(found("xyz").empty());
  // The scan walks the two halves side by side: a literal across the
  // middle, at either end, or only in the second half is found all the same.
  const std::string pad(40, 'x');
  CHECK(found(pad + "MIDDLE" + pad) == sorted({mid}));
  CHECK(found(pad.substr(0, 37) + "MIDDLE" + pad) == sorted({mid}));
  CHECK(found(pad.substr(0, 43) + "MIDDLE" + pad) == sorted({mid}));
  CHECK(found("he" + pad + pad + "|") == sorted({he, bar}));
  CHECK(found(pad + pad + "hers") == sorted({he, hers}));
  CHECK(found(pad + "middl").empty());
}

TEST_CASE("ua: the atom scan folds A-Z only, and tells apart literals that share their first bytes") {
  hp::ua::Atoms atoms;
  const uint32_t tick = atoms.add("`"), brace = atoms.add("{x"), high = atoms.add("\xe1" "bc"),
                 mozilla = atoms.add("mozilla/"), moz = atoms.add("moz"), mozi = atoms.add("mozi"),
                 mo = atoms.add("mo");
  REQUIRE(atoms.build());
  using Hits = std::vector<std::pair<uint32_t, uint32_t>>;
  auto found = [&](const std::string &text) {
    Hits hits;
    atoms.scan(text.data(), static_cast<uint32_t>(text.size()),
               [&](uint32_t id, uint32_t end) { hits.push_back({id, end}); });
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
    return hits;
  };
  auto sorted = [](Hits v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  // '@' and '[' sit beside 'A' and 'Z', 0xc1 is 'A' with the top bit: none is folded
  CHECK(found("@[X\xc1" "BC").empty());
  CHECK(found("0123456789abcdef@[x{X\xe1" "BC") == sorted({{brace, 21}, {high, 24}}));
  CHECK(found("`") == Hits{{tick, 1}});
  CHECK(found("a MOZILLA/5.0 Mozil") ==
        sorted({{mozilla, 10}, {moz, 5}, {moz, 17}, {mozi, 6}, {mozi, 18}, {mo, 4}, {mo, 16}}));
}

TEST_CASE("ua: the prefilter passes every table and bot pattern that matches a corpus string") {
  // The parse runs only the patterns the prefilter passes, so one it
  // dropped while RE2 finds it would change an answer.
  using namespace hp::ua::tables;
  hp::ua::Prefilter filter;
  std::vector<std::unique_ptr<RE2>> patterns;
  RE2::Options o;
  o.set_log_errors(false);
  auto add = [&](const char *re) {
    REQUIRE(filter.add(re, o));
    patterns.push_back(std::make_unique<RE2>(re, o));
  };
  for (const Category *c : {&kBrowser, &kCpu, &kDevice, &kEngine, &kOs})
    for (uint32_t i = 0; i < c->n; i++) add(c->rules[i].re);
  for (uint32_t i = 0; i < kBots.n; i++) add(kBots.items[i]);
  REQUIRE(filter.build());
  size_t matches = 0, dropped = 0, passed = 0;
  std::vector<int> ids;
  for (const char *name : {"ua-corpus-user-agents.txt", "ua-corpus-fake-ua.txt", "ua-corpus-crawlers.txt", "ua-extra.txt"})
    for (const std::string &ua : corpus(name)) {
      filter.candidates(ua.data(), static_cast<uint32_t>(ua.size()), &ids);
      CHECK(std::is_sorted(ids.begin(), ids.end()));
      passed += ids.size();
      for (size_t p = 0; p < patterns.size(); p++) {
        if (!RE2::PartialMatch(ua, *patterns[p])) continue;
        matches++;
        if (!std::binary_search(ids.begin(), ids.end(), static_cast<int>(p))) {
          dropped++;
          FAIL_CHECK(ua << "\n  dropped: " << patterns[p]->pattern());
        }
      }
    }
  MESSAGE(matches << " pattern matches, " << passed << " patterns passed, " << dropped << " dropped");
  CHECK(matches > 1000);
  CHECK(dropped == 0);
}

TEST_CASE("ua: long-tail strings get ua-parser-js 1.x's answers") {
  struct Case {
    const char *ua, *browser, *os;
    int type;
    const char *vendor, *model;
  };
  const Case cases[] = {
      {"NokiaC1-02i/2.0 (03.10) Profile/MIDP-2.1 Configuration/CLDC-1.1 Mozilla/5.0 AppleWebKit/420+ (KHTML, like Gecko) Safari/420+",
       "Safari", "", HP_UA_MOBILE, "Nokia", "C1-02i"},
      {"SAMSUNG-SGH-E747/E747JCHE1 NetFront/3.4 Profile/MIDP-2.0 Configuration/CLDC-1.1", "NetFront", "", HP_UA_MOBILE,
       "Samsung", "SGH-E747"},
      {"LG-S310/V100 Obigo/WAP2.0 Profile/MIDP-2.1 Configuration/CLDC-1.1", "Obigo", "", HP_UA_MOBILE, "LG", "S310"},
      {"Mozilla/5.0 (Series40; Nokia311/03.81; Profile/MIDP-2.1 Configuration/CLDC-1.1) Gecko/20100401 S40OviBrowser/2.2.0.0.31",
       "OviBrowser", "Series40", HP_UA_MOBILE, "Nokia", "311"},
      {"Mozilla/5.0 (Symbian/3; Series60/5.2 NokiaN8-00/012.002; Profile/MIDP-2.1 Configuration/CLDC-1.1 ) AppleWebKit/533.4 "
       "(KHTML, like Gecko) NokiaBrowser/7.3.0 Mobile Safari/533.4 3gpp-gba",
       "NokiaBrowser", "Symbian", HP_UA_MOBILE, "Nokia", "N8-00"},
      {"BlackBerry9700/5.0.0.351 Profile/MIDP-2.1 Configuration/CLDC-1.1 VendorID/123", "", "BlackBerry", HP_UA_MOBILE,
       "BlackBerry", "9700"},
      {"Dalvik/1.6.0 (Linux; U; Android 4.4.4; MI PAD Build/KTU84P)", "", "Android", HP_UA_TABLET, "Xiaomi", "MI PAD"},
      {"Luminary/1.0.2 build 57/Android SDK 28", "", "Android", HP_UA_DESKTOP, "", ""},
      {"UCWEB/2.0 (MIDP-2.0; U; Adr 2.3.6; en-US; GT-S5360) U2/1.0.0 UCBrowser/9.0.2.389 U2/1.0.0 Mobile", "UCBrowser", "",
       HP_UA_MOBILE, "Samsung", "GT-S5360"},
      {"Mozilla/5.0 (Windows Phone 8.1; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like Gecko",
       "IEMobile", "Windows Phone", HP_UA_MOBILE, "Nokia", "Lumia 635"},
      {"Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.120 "
       "Mobile Safari/537.36",
       "Chrome", "Android", HP_UA_SMARTTV, "Amazon", "MM"},
  };
  for (const Case &c : cases) {
    auto r = parse(c.ua);
    INFO(c.ua);
    CHECK(std::string(r.browser) == c.browser);
    CHECK(std::string(r.os) == c.os);
    CHECK(r.device_type == c.type);
    CHECK(std::string(r.vendor) == c.vendor);
    CHECK(std::string(r.model) == c.model);
  }
  CHECK(std::string(parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36").cpu) == "amd64");
  CHECK(std::string(parse("Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36").cpu) == "arm64");
  for (const char *bot : {"Yahoo-Newscrawler/3.9 (news-search-crawler at yahoo-inc dot com)", "IMVU Client/498.0 Python-urllib/2.7",
                          "Mozilla/5.0 (compatible; Yahoo! Slurp/3.0; http://help.yahoo.com/help/us/ysearch/slurp)"})
    CHECK_MESSAGE(parse(bot).is_bot == 1, bot);
}

TEST_CASE("ua: a version 1 result (without cpu) is filled up to its end") {
  // A version 1 caller's struct ends where cpu starts; fill the rest with a
  // canary and check it stays.
  hp_ua_result r;
  std::memset(&r, 0x5a, sizeof r);
  r.version = 1;
  const std::string ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
  CHECK(hp_ua_parse(&r, nullptr, ua.data(), ua.size()) == 0);
  CHECK(r.version == 1);
  CHECK(std::string(r.browser) == "Chrome");
  CHECK(r.is_bot == 0);
  for (size_t i = 0; i < sizeof r.cpu; i++) CHECK(static_cast<unsigned char>(r.cpu[i]) == 0x5a);
}

TEST_CASE("ua: hostile strings (4 KiB of what the rules look for) parse") {
  const char *pieces[] = {"Mozilla/5.0 (", "Linux; Android ", "; ", " Build/", "AppleWebKit/537.36 ", "droid ",
                          "xbox; ", "samsung sm-l", "fban/fbios", "windows ", "(((", "   ", "\xff\xfe", "moto ", "a"};
  std::mt19937 rng(7);
  for (int i = 0; i < 200; i++) {
    std::string s;
    while (s.size() < HP_UA_MAX_LEN) s += pieces[rng() % (sizeof pieces / sizeof pieces[0])];
    hp_ua_result r = HP_UA_RESULT_INIT;
    REQUIRE(hp_ua_parse(&r, nullptr, s.data(), s.size()) == 0);
  }
  for (const char *one : {" ", "a", "(", ";", "\x80"}) {
    std::string s(1 << 20, one[0]);
    hp_ua_result r = HP_UA_RESULT_INIT;
    REQUIRE(hp_ua_parse(&r, nullptr, s.data(), s.size()) == 0);
    CHECK(r.browser[0] == 0);
  }
}
