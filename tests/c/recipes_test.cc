#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <unistd.h>
#include <uv.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "recipes/loader.h"
#include "recipes/set.h"
#include "support/loop.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"

namespace fs = std::filesystem;

namespace {

// A temp folder removed at the end of a test.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-recipes-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string &name) const { return (path / name).string(); }
};

void write_file(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
  }
  fs::rename(tmp, path);  // atomic replace, as a deploy would do
}

void write_gzip(const std::string &path, const std::string &text) {
  gzFile f = gzopen(path.c_str(), "wb6");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  gzclose(f);
}

struct Done {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int status = 1;
  std::string error;
  hp_recipes_stats stats = HP_RECIPES_STATS_INIT;

  static void cb(int status, const hp_recipes_stats *st, void *data) {
    auto *d = static_cast<Done *>(data);
    std::lock_guard<std::mutex> lock(d->mu);
    d->calls++;
    d->status = status;
    d->error = status < 0 ? hp_last_error() : "";
    if (st) d->stats = *st;
    d->cv.notify_all();
  }
  bool wait_calls(int n, int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return calls >= n; });
  }
  // Read while the loop thread may still call back.
  int calls_now() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  int status_now() {
    std::lock_guard<std::mutex> lock(mu);
    return status;
  }
  // A watch's last call; a reload may still report before it.
  bool wait_closed(int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return status == HP_ECLOSED; });
  }
};

// An engine with its own loop thread and a set on it.
struct Fixture {
  hp_engine *engine = nullptr;
  hp_recipes *set = nullptr;
  Fixture() {
    REQUIRE(hp_engine_new(&engine, nullptr) == 0);
    REQUIRE(hp_recipes_open(&set, engine) == 0);
  }
  ~Fixture() {
    hp_recipes_close(set, NULL, NULL);
    CHECK(hp_engine_free(engine) == 0);
  }
  hp_recipe_table *offers(const char *const *json_fields = nullptr, size_t n = 0) {
    hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
    o.key_field = "offerId";
    o.json_fields = json_fields;
    o.json_field_count = n;
    o.update_type = "offer";
    hp_recipe_table *t = nullptr;
    REQUIRE(hp_recipes_define(&t, set, "offers", &o) == 0);
    return t;
  }
  int load(hp_recipe_table *t, const std::string &path, Done *d, const hp_recipes_load_options *opts = nullptr) {
    int before = d->calls;
    REQUIRE(hp_recipes_load(t, path.c_str(), opts, &Done::cb, d) == 0);
    REQUIRE(d->wait_calls(before + 1));
    return d->status;
  }
};

// An engine on a loop the test runs itself, with a set and its "offers"
// table; the test closes them.
struct OnTestLoop {
  hp_test::TestLoop loop;
  hp_engine *e = nullptr;
  hp_recipes *set = nullptr;
  hp_recipe_table *t = nullptr;
  OnTestLoop() {
    REQUIRE(hp_engine_new(&e, &loop.loop) == 0);
    REQUIRE(hp_recipes_open(&set, e) == 0);
    hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
    o.key_field = "offerId";
    REQUIRE(hp_recipes_define(&t, set, "offers", &o) == 0);
  }
};

std::string get_json(hp_recipe_table *t, int64_t id, int *rc = nullptr, hp_recipe *info = nullptr) {
  char buf[8192];
  hp_recipe r = HP_RECIPE_INIT;
  r.buf = buf;
  r.cap = sizeof buf;
  hp_recipe_key k = {nullptr, 0, id};
  int s = hp_recipes_get(&r, t, &k);
  if (rc) *rc = s;
  if (info) *info = r;
  return s == 1 ? std::string(buf, r.len) : std::string();
}

std::string offers_json(int n, const std::string &extra = "") {
  std::string s = "[\n";
  for (int i = 1; i <= n; i++) {
    s += "  {\"offerId\": " + std::to_string(i) + ", \"name\": \"Offer " + std::to_string(i) + "\"" + extra + "}";
    s += i < n ? ",\n" : "\n";
  }
  return s + "]\n";
}

// The input without whitespace outside strings: what a record's JSON text is.
std::string minified(const std::string &json) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); i++) {
    char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(json[++i]);
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("recipes: a plain JSON array loads into a table keyed by an integer field") {
  TempDir dir;
  write_file(dir.file("offers.json"), offers_json(3));
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("offers.json"), &d) == 0);
  CHECK(d.stats.items == 3);
  CHECK(d.stats.size == 3);
  CHECK(d.stats.loads == 1);
  CHECK(hp_recipes_size(t) == 3);
  CHECK(get_json(t, 2) == "{\"offerId\":2,\"name\":\"Offer 2\"}");
  int rc = 0;
  get_json(t, 4, &rc);
  CHECK(rc == 0);  // a miss is a result
  // A string key on an integer table is read as decimal.
  hp_recipe r = HP_RECIPE_INIT;
  hp_recipe_key k = {"3", 1, 0};
  CHECK(hp_recipes_get(&r, t, &k) == 1);
  CHECK(r.len == std::strlen("{\"offerId\":3,\"name\":\"Offer 3\"}"));
  hp_recipe_key bad = {"3x", 2, 0};
  CHECK(hp_recipes_get(&r, t, &bad) == 0);
  CHECK(hp_recipes_find(f.set, "offers") == t);
  CHECK(hp_recipes_find(f.set, "nope") == nullptr);
  CHECK(std::string(hp_recipes_table_name(t)) == "offers");
}

TEST_CASE("recipes: gzip files load in one buffer and streamed, with the same result") {
  TempDir dir;
  std::string json = offers_json(20000, ", \"pad\": \"" + std::string(450, 'x') + "\"");
  REQUIRE(json.size() > 8u << 20);  // more than two read chunks
  write_gzip(dir.file("offers.json.gz"), json);
  write_file(dir.file("offers.json"), json);
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("offers.json.gz"), &d) == 0);
  CHECK(d.stats.size == 20000);
  CHECK(d.stats.json_bytes == json.size());
  CHECK(d.stats.file_bytes < json.size());
  std::string whole = get_json(t, 12345);
  hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
  o.whole_inflate_max = 1;  // force the streaming inflater
  REQUIRE(f.load(t, dir.file("offers.json.gz"), &d, &o) == 0);
  CHECK(d.stats.size == 20000);
  CHECK(d.stats.json_bytes == json.size());
  CHECK(get_json(t, 12345) == whole);
  REQUIRE(f.load(t, dir.file("offers.json"), &d, &o) == 0);  // plain, streamed in chunks
  CHECK(d.stats.size == 20000);
  CHECK(get_json(t, 12345) == whole);
  REQUIRE(f.load(t, dir.file("offers.json"), &d) == 0);  // plain, one buffer
  CHECK(d.stats.size == 20000);
  CHECK(get_json(t, 20000) == "{\"offerId\":20000,\"name\":\"Offer 20000\",\"pad\":\"" + std::string(450, 'x') + "\"}");
  CHECK(get_json(t, 1).size() > 450);
}

TEST_CASE("recipes: big files parse on several threads, and fall back to one when a split lands in a string") {
  TempDir dir;
  // Every item holds "},{" inside a string, where a split point may land.
  std::string json = offers_json(40000, ", \"pad\": \"" + std::string(200, 'x') + "},{\\\"offerId\\\":0}\"");
  REQUIRE(json.size() > 8u << 20);
  write_file(dir.file("o.json"), json);
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  CHECK(d.stats.size == 40000);
  CHECK(d.stats.items == 40000);
  CHECK(d.stats.skipped == 0);
  CHECK(get_json(t, 20001).find("\"offerId\":20001,") == 1);
  // An error late in a big file is reported at its exact offset.
  std::string bad = json;
  size_t at = bad.size() - 100;
  while (bad[at] != ',') at--;
  bad[at] = ';';
  write_file(dir.file("o.json"), bad);
  CHECK(f.load(t, dir.file("o.json"), &d) == HP_ECORRUPT);
  CHECK(d.error.find("byte " + std::to_string(at) + ":") != std::string::npos);
  CHECK(hp_recipes_size(t) == 40000);
}

TEST_CASE("recipes: streamed files parse in segments on several threads, and again on one when a cut is wrong") {
  TempDir dir;
  hp_recipes_load_options streamed = HP_RECIPES_LOAD_OPTIONS_INIT;
  streamed.whole_inflate_max = 1;
  // Plain items, then items whose strings end in "},{" right before a
  // member's '"', where a segment cut may land.
  for (const std::string &pad : {std::string(", \"pad\": \"") + std::string(300, 'p') + "\"",
                                 std::string(", \"pad\": \"ab},{\", \"more\": \"") + std::string(300, 'p') + "\""}) {
    std::string json = offers_json(40000, pad);
    REQUIRE(json.size() > 12u << 20);  // several segments
    write_gzip(dir.file("o.json.gz"), json);
    write_file(dir.file("o.json"), json);
    Fixture f;
    hp_recipe_table *t = f.offers();
    Done d;
    for (const char *name : {"o.json.gz", "o.json"}) {
      REQUIRE(f.load(t, dir.file(name), &d, &streamed) == 0);
      CHECK(d.stats.size == 40000);
      CHECK(d.stats.items == 40000);
      CHECK(d.stats.json_bytes == json.size());
      for (int id : {1, 9999, 20001, 33333, 40000})
        CHECK(get_json(t, id) == "{\"offerId\":" + std::to_string(id) + ",\"name\":\"Offer " + std::to_string(id) +
                                    "\"" + minified(pad) + "}");
    }
    // An error late in the stream is reported at its exact offset.
    std::string bad = json;
    size_t at = bad.size() - 100;
    while (bad[at] != ',') at--;
    bad[at] = ';';
    write_gzip(dir.file("bad.json.gz"), bad);
    CHECK(f.load(t, dir.file("bad.json.gz"), &d, &streamed) == HP_ECORRUPT);
    CHECK(d.error.find("byte " + std::to_string(at) + " (uncompressed):") != std::string::npos);
    CHECK(hp_recipes_size(t) == 40000);
  }
}

TEST_CASE("recipes: malformed files are rejected with the byte offset and the old table stays") {
  TempDir dir;
  write_file(dir.file("good.json"), offers_json(2));
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("good.json"), &d) == 0);

  struct Bad {
    const char *text;
    const char *reason;
    const char *offset;
  } cases[] = {
      {"[{\"offerId\":1,}]", "expected a string key", "byte 14"},
      {"[{\"offerId\":1} {\"offerId\":2}]", "expected ',' or ']'", "byte 15"},
      {"{\"offerId\":1}", "expected '['", "byte 0"},
      {"[{\"offerId\":1},", "unexpected end of input", "byte 15"},
      {"[{\"offerId\":1}] x", "after the array", "byte 16"},
      {"", "empty", "byte 0"},
      {"[{\"offerId\":1,\"name\":\"a\tb\"}]", "control character", "byte 23"},
      {"[{\"offerId\":01}]", "expected ',' or '}'", "byte 13"},
      {"[{\"offerId\":1,\"x\":tru}]", "invalid literal", "byte 18"},
      {"[{\"offerId\":1,\"x\":\"\\q\"}]", "invalid escape", "byte 19"},
      {"[{\"offerId\":1,\"x\":\"\xff\"}]", "UTF-8", "byte 19"},
  };
  for (const Bad &c : cases) {
    CAPTURE(c.text);
    write_file(dir.file("bad.json"), c.text);
    CHECK(f.load(t, dir.file("bad.json"), &d) == HP_ECORRUPT);
    CHECK(d.error.find(c.reason) != std::string::npos);
    CHECK(d.error.find(c.offset) != std::string::npos);
    CHECK(d.error.find("bad.json") != std::string::npos);
    CHECK(hp_recipes_size(t) == 2);
  }
  // A corrupt gzip stream.
  std::string gz;
  {
    write_gzip(dir.file("x.gz"), offers_json(50));
    std::ifstream in(dir.file("x.gz"), std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
    for (size_t i = 20; i < gz.size() - 10; i += 7) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  }
  write_file(dir.file("bad.json.gz"), gz);
  CHECK(f.load(t, dir.file("bad.json.gz"), &d) == HP_ECORRUPT);
  hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
  o.whole_inflate_max = 1;
  CHECK(f.load(t, dir.file("bad.json.gz"), &d, &o) == HP_ECORRUPT);
  CHECK(d.error.find("gzip") != std::string::npos);
  CHECK(f.load(t, dir.file("missing.json"), &d) == HP_EIO);
  CHECK(d.error.find("missing.json") != std::string::npos);
  CHECK(hp_recipes_size(t) == 2);
  hp_recipes_stats st = HP_RECIPES_STATS_INIT;
  REQUIRE(hp_recipes_stats_get(&st, t) == 0);
  CHECK(st.loads == 1);
  CHECK(st.load_failures == 14);
}

TEST_CASE("recipes: items without a usable key are skipped and counted; duplicates: last wins") {
  TempDir dir;
  write_file(dir.file("o.json"),
             "[{\"offerId\":1,\"v\":1}, 42, \"text\", [1], null, {\"name\":\"no key\"}, {\"offerId\":true},"
             " {\"offerId\":{\"a\":1}}, {\"offerId\":1.5}, {\"offerId\":\"7\"}, {\"offerId\":2.0},"
             " {\"offerId\":1,\"v\":2}, {}]");
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  CHECK(d.stats.items == 13);
  CHECK(d.stats.skipped == 9);
  CHECK(d.stats.duplicates == 1);
  CHECK(d.stats.size == 3);
  CHECK(get_json(t, 1) == "{\"offerId\":1,\"v\":2}");
  CHECK(get_json(t, 7) == "{\"offerId\":\"7\"}");
  CHECK(get_json(t, 2) == "{\"offerId\":2.0}");
}

TEST_CASE("recipes: JSON inside string fields is parsed once at load") {
  TempDir dir;
  write_file(dir.file("o.json"),
             "[{\"offerId\":1,\"geoRules\":\"{\\\"geo\\\":[{\\\"country\\\":\\\"US\\\",\\\"include\\\":true}]}\","
             "\"customLpRules\":\"[1, 2 ,3]\",\"note\":\"{\\\"kept\\\":1}\"},"
             "{\"offerId\":2,\"geoRules\":\"not json\",\"customLpRules\":\"\"},"
             "{\"offerId\":3,\"geoRules\":{\"geo\":[]},\"customLpRules\":\"12\"}]");
  Fixture f;
  const char *fields[] = {"geoRules", "customLpRules"};
  hp_recipe_table *t = f.offers(fields, 2);
  Done d;
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  CHECK(get_json(t, 1) ==
        "{\"offerId\":1,\"geoRules\":{\"geo\":[{\"country\":\"US\",\"include\":true}]},\"customLpRules\":[1,2,3],"
        "\"note\":\"{\\\"kept\\\":1}\"}");
  CHECK(get_json(t, 2) == "{\"offerId\":2,\"geoRules\":\"not json\",\"customLpRules\":\"\"}");
  CHECK(get_json(t, 3) == "{\"offerId\":3,\"geoRules\":{\"geo\":[]},\"customLpRules\":12}");
  CHECK(d.stats.embedded_errors == 2);
  CHECK(d.stats.rule_errors == 1);  // "not json" is no geo rule
}

TEST_CASE("recipes: the compact form writes back each record's text byte for byte") {
  // Names and strings repeated past the interning tables' one-byte ids,
  // strings seen once and many times, escapes, unicode, numbers of every
  // shape, deep nesting and empty containers, in file order.
  std::vector<std::string> items;
  items.push_back(R"({"offerId": 1, "s": "caf\u00e9 \"q\" \\ \/ \b\f\n\r\t", "u": "日本語 😀", "e": "",
    "n": [0, -0, 1, 31, 32, -1, 123456789012345678, 1234567890123456789, -9223372036854775808, 18446744073709551616,
          1.0, 18.40, 0.05, -0.0, 1e5, 1E+5, 2.5e-3, 100000000000000000000000000000.0000001, 0.5e1],
    "b": [true, false, null], "o": {}, "a": [], "x": [[[[{"k": [{}]}]]]], "z": "end"})");
  std::string many = "{\"offerId\": 2";
  for (int i = 0; i < 200; i++)
    many += ", \"name" + std::to_string(i) + "\": \"value" + std::to_string(i % 150) + "\"";
  many += ", \"long\": \"" + std::string(300, 'L') + "\", \"mid\": \"" + std::string(63, 'M') + "\"}";
  items.push_back(many);
  for (int i = 3; i < 400; i++)
    items.push_back("{\"offerId\": " + std::to_string(i) + ", \"status\": \"" + (i % 3 ? "active" : "paused") +
                    "\", \"day\": \"2025-06-" + std::to_string(10 + i % 20) + "T00:00:00.000Z\", \"name" +
                    std::to_string(i % 90) + "\": " + std::to_string(i * 7) + ", \"d\": " + std::to_string(i) +
                    ".25, \"uniq\": \"u" + std::to_string(i) + "\"}");
  std::string file = "[\n";
  for (size_t i = 0; i < items.size(); i++) file += items[i] + (i + 1 < items.size() ? ",\n" : "\n");
  file += "]";
  TempDir dir;
  write_file(dir.file("o.json"), file);
  write_gzip(dir.file("o.json.gz"), file);
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  hp_recipes_load_options streamed = HP_RECIPES_LOAD_OPTIONS_INIT;
  streamed.whole_inflate_max = 1;
  const hp_recipes_load_options *ways[] = {nullptr, &streamed};
  for (const hp_recipes_load_options *o : ways) {
    for (const char *name : {"o.json", "o.json.gz"}) {
      REQUIRE(f.load(t, dir.file(name), &d, o) == 0);
      REQUIRE(d.stats.size == items.size());
      for (size_t i = 0; i < items.size(); i++) {
        hp_recipe info = HP_RECIPE_INIT;
        std::string got = get_json(t, static_cast<int64_t>(i + 1), nullptr, &info);
        CHECK(got == minified(items[i]));
        CHECK(info.len == got.size());
      }
    }
  }
  // A point update's record (no shared tables) writes back the same way.
  std::string body = items[0];
  std::string msg = "{\"type\":\"offer\",\"id\":1,\"action\":\"updateOrCreate\",\"timestamp\":99999999999999,\"body\":" +
                    body + "}";
  CHECK(hp_recipes_update(f.set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 1) == minified(items[0]));
}

TEST_CASE("recipes: string-keyed tables, keys, and vanished keys on reload") {
  TempDir dir;
  Fixture f;
  hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
  o.key_field = "code";
  o.key_type = HP_RECIPE_KEY_STRING;
  hp_recipe_table *t = nullptr;
  REQUIRE(hp_recipes_define(&t, f.set, "codes", &o) == 0);
  hp_recipe_table *dup = nullptr;
  CHECK(hp_recipes_define(&dup, f.set, "codes", &o) == HP_EINVAL);
  write_file(dir.file("c.json"), "[{\"code\":\"a\\u00e9\"},{\"code\":\"b\"},{\"code\":5},{\"code\":\"\"}]");
  Done d;
  REQUIRE(f.load(t, dir.file("c.json"), &d) == 0);
  CHECK(hp_recipes_size(t) == 4);
  hp_recipe r = HP_RECIPE_INIT;
  hp_recipe_key k = {"a\xc3\xa9", 3, 0};
  CHECK(hp_recipes_get(&r, t, &k) == 1);
  hp_recipe_key five = {nullptr, 0, 5};
  CHECK(hp_recipes_get(&r, t, &five) == 1);
  std::vector<std::string> keys;
  CHECK(hp_recipes_keys(
            t,
            [](const char *s, size_t n, int64_t, void *data) {
              static_cast<std::vector<std::string> *>(data)->emplace_back(s, n);
              return 0;
            },
            &keys) == 4);
  CHECK(keys.size() == 4);
  write_file(dir.file("c.json"), "[{\"code\":\"b\"}]");
  REQUIRE(f.load(t, dir.file("c.json"), &d) == 0);
  CHECK(hp_recipes_size(t) == 1);
  CHECK(hp_recipes_get(&r, t, &k) == 0);
}

TEST_CASE("recipes: a record keeps its version across a reload unless it changed") {
  TempDir dir;
  write_file(dir.file("o.json"), "[{\"offerId\":1,\"a\":1},{\"offerId\":2,\"a\":1}]");
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  hp_recipe r1 = HP_RECIPE_INIT, r2 = HP_RECIPE_INIT;
  get_json(t, 1, nullptr, &r1);
  get_json(t, 2, nullptr, &r2);
  write_file(dir.file("o.json"), "[{\"offerId\":1, \"a\":1},{\"offerId\":2,\"a\":2}]");
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  hp_recipe s1 = HP_RECIPE_INIT, s2 = HP_RECIPE_INIT;
  get_json(t, 1, nullptr, &s1);
  get_json(t, 2, nullptr, &s2);
  CHECK(s1.record_version == r1.record_version);
  CHECK(s2.record_version != r2.record_version);
}

TEST_CASE("recipes: point updates apply, go stale, and survive a reload only when newer than the file") {
  TempDir dir;
  write_file(dir.file("o.json"), offers_json(3));
  Fixture f;
  const char *fields[] = {"geoRules"};
  hp_recipe_table *t = f.offers(fields, 1);
  Done d;
  hp_recipes_load_options lo = HP_RECIPES_LOAD_OPTIONS_INIT;
  lo.timestamp = 1000;
  REQUIRE(f.load(t, dir.file("o.json"), &d, &lo) == 0);

  auto update = [&](const std::string &msg) { return hp_recipes_update(f.set, msg.data(), msg.size()); };
  CHECK(update(R"({"type":"offer","id":2,"action":"updateOrCreate","timestamp":2000,)"
               R"("body":"{\"offerId\":2,\"name\":\"new\",\"geoRules\":\"{\\\"geo\\\":[]}\"}"})") == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 2) == "{\"offerId\":2,\"name\":\"new\",\"geoRules\":{\"geo\":[]}}");
  // Older than the update, and older than the file: both stale.
  CHECK(update(R"({"type":"offer","id":2,"action":"delete","timestamp":1500})") == HP_RECIPES_STALE);
  CHECK(update(R"({"type":"offer","id":1,"action":"delete","timestamp":900})") == HP_RECIPES_STALE);
  CHECK(update(R"({"type":"offer","id":3,"action":"delete","timestamp":2100})") == HP_RECIPES_APPLIED);
  CHECK(update(R"({"type":"offer","id":"9","action":"updateOrCreate","timestamp":1200,"body":{"offerId":9}})") ==
        HP_RECIPES_APPLIED);
  CHECK(hp_recipes_size(t) == 3);  // 1, 2 (updated), 9 (new); 3 deleted
  int rc = 0;
  get_json(t, 3, &rc);
  CHECK(rc == 0);  // a miss is a result

  // Bad messages.
  CHECK(update("nope") == HP_EINVAL);
  CHECK(update(R"({"type":"campaign","id":1,"action":"delete"})") == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("campaign") != std::string::npos);
  CHECK(update(R"({"type":"offer","id":1,"action":"upsert"})") == HP_EINVAL);
  CHECK(update(R"({"type":"offer","id":"x","action":"delete"})") == HP_EINVAL);
  CHECK(update(R"({"type":"offer","id":4,"action":"updateOrCreate","timestamp":5000,"body":"[1]"})") == HP_ECORRUPT);
  CHECK(update(R"({"type":"offer","id":4,"action":"updateOrCreate","timestamp":5000,"body":"{\"offerId\":4"})") ==
        HP_ECORRUPT);
  CHECK(update(R"({"type":"offer","id":4,"action":"updateOrCreate","timestamp":5000,"body":"{\"offerId\":5}"})") ==
        HP_EINVAL);

  // A reload at 1600 keeps the updates newer than 1600 and drops the one at 1200.
  write_file(dir.file("o.json"), offers_json(4));
  lo.timestamp = 1600;
  REQUIRE(f.load(t, dir.file("o.json"), &d, &lo) == 0);
  CHECK(get_json(t, 2) == "{\"offerId\":2,\"name\":\"new\",\"geoRules\":{\"geo\":[]}}");
  get_json(t, 3, &rc);
  CHECK(rc == 0);  // a miss is a result
  get_json(t, 9, &rc);
  CHECK(rc == 0);  // a miss is a result
  CHECK(get_json(t, 4) == "{\"offerId\":4,\"name\":\"Offer 4\"}");
  CHECK(hp_recipes_size(t) == 3);
  // A reload newer than every update drops them all.
  lo.timestamp = 3000;
  REQUIRE(f.load(t, dir.file("o.json"), &d, &lo) == 0);
  CHECK(get_json(t, 2) == "{\"offerId\":2,\"name\":\"Offer 2\"}");
  CHECK(hp_recipes_size(t) == 4);
  CHECK(d.stats.updates_applied == 3);
  CHECK(d.stats.updates_stale == 2);
  CHECK(d.stats.overlay_size == 0);
}

TEST_CASE("recipes: readers on many threads always see a whole table while reloads and updates run") {
  TempDir dir;
  const int n = 2000;
  auto gen = [&](int g) {
    std::string s = "[";
    for (int i = 1; i <= n; i++)
      s += (i > 1 ? "," : "") + std::string("{\"offerId\":") + std::to_string(i) + ",\"gen\":" + std::to_string(g) + "}";
    return s + "]";
  };
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  write_file(dir.file("o.json"), gen(0));
  REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; r++) {
    readers.emplace_back([&, r] {
      char buf[256];
      unsigned seed = static_cast<unsigned>(r + 1);
      while (!stop.load()) {
        seed = seed * 1103515245u + 12345u;
        int64_t id = 1 + static_cast<int64_t>(seed % n);
        hp_recipe rec = HP_RECIPE_INIT;
        rec.buf = buf;
        rec.cap = sizeof buf;
        hp_recipe_key k = {nullptr, 0, id};
        int rc = hp_recipes_get(&rec, t, &k);
        std::string want = "{\"offerId\":" + std::to_string(id) + ",\"gen\":";
        if (rc == 1 && std::string(buf, rec.len).rfind(want, 0) == 0 &&
            hp_recipes_size(t) >= static_cast<uint64_t>(n))
          reads++;
        else if (!(rc == 1 && id == 7))  // id 7 is being updated by point updates
          bad++;
      }
    });
  }
  for (int g = 1; g <= 15; g++) {
    write_file(dir.file("o.json"), gen(g));
    REQUIRE(f.load(t, dir.file("o.json"), &d) == 0);
    std::string msg = R"({"type":"offer","id":7,"action":"updateOrCreate","timestamp":)" +
                      std::to_string(4102444800000 + g) + R"(,"body":"{\"offerId\":7,\"gen\":)" +
                      std::to_string(100 + g) + "}\"}";
    CHECK(hp_recipes_update(f.set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);
  }
  stop = true;
  for (auto &th : readers) th.join();
  CHECK(bad.load() == 0);
  CHECK(reads.load() > 0);
}

TEST_CASE("recipes: a watched file reloads on change and the table survives its removal") {
  TempDir dir;
  std::string path = dir.file("offers.json");
  write_file(path, offers_json(2));
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  hp_recipes_watch_options o = HP_RECIPES_WATCH_OPTIONS_INIT;
  o.interval_ms = 100;
  o.debounce_ms = 20;
  hp_recipes_watch *w = nullptr;
  REQUIRE(hp_recipes_watch_file(&w, t, path.c_str(), &o, &Done::cb, &d) == 0);
  REQUIRE(d.wait_calls(1));
  CHECK(d.status_now() == 0);
  CHECK(hp_recipes_size(t) == 2);
  // Replaced by rename: reloads.
  write_file(path, offers_json(5));
  auto until = [&](auto pred) {
    for (int i = 0; i < 500 && !pred(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pred();
  };
  CHECK(until([&] { return hp_recipes_size(t) == 5; }));
  // Removed: reported, the table stays.
  int before = d.calls_now();
  fs::remove(path);
  REQUIRE(d.wait_calls(before + 1));
  CHECK(d.status_now() == HP_EIO);
  CHECK(hp_recipes_size(t) == 5);
  // A broken file: reported, the table stays.
  before = d.calls_now();
  write_file(path, "[{\"offerId\":1},");
  REQUIRE(d.wait_calls(before + 1));
  CHECK(until([&] { return d.status_now() == HP_ECORRUPT; }));
  CHECK(hp_recipes_size(t) == 5);
  // Fixed: reloads.
  write_file(path, offers_json(1));
  CHECK(until([&] { return hp_recipes_size(t) == 1; }));
  hp_recipes_unwatch(w);
  REQUIRE(d.wait_closed());
}

TEST_CASE("recipes: closing with a load and a watch pending calls each back once with HP_ECLOSED") {
  TempDir dir;
  write_file(dir.file("o.json"), offers_json(20000));
  OnTestLoop f;
  Done load, watch;
  REQUIRE(hp_recipes_load(f.t, dir.file("o.json").c_str(), nullptr, &Done::cb, &load) == 0);
  REQUIRE(hp_recipes_watch_file(nullptr, f.t, dir.file("o.json").c_str(), nullptr, &Done::cb, &watch) == 0);
  uv_run(&f.loop.loop, UV_RUN_NOWAIT);
  hp_recipes_close(f.set, NULL, NULL);
  REQUIRE(hp_engine_close(f.e, nullptr, nullptr) == 0);
  f.loop.run();
  CHECK(load.calls == 1);
  CHECK((load.status == HP_ECLOSED || load.status == 0));
  CHECK(watch.calls >= 1);
  CHECK(watch.status == HP_ECLOSED);
}

TEST_CASE("recipes: a watch stopped and its set closed before the loop ran either ends once with HP_ECLOSED") {
  // The start, the unwatch and the close are all queued when the loop first
  // runs: the watch must start, stop, and call back once, never be used freed.
  TempDir dir;
  write_file(dir.file("o.json"), offers_json(3));
  OnTestLoop f;
  Done watch;
  hp_recipes_watch *w = nullptr;
  REQUIRE(hp_recipes_watch_file(&w, f.t, dir.file("o.json").c_str(), nullptr, &Done::cb, &watch) == 0);
  hp_recipes_unwatch(w);
  hp_recipes_close(f.set, NULL, NULL);
  REQUIRE(hp_engine_close(f.e, nullptr, nullptr) == 0);
  f.loop.run();
  CHECK(watch.calls == 1);
  CHECK(watch.status == HP_ECLOSED);
}

TEST_CASE("recipes: argument checks") {
  Fixture f;
  hp_recipe_table *t = nullptr;
  hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
  CHECK(hp_recipes_define(&t, f.set, "x", &o) == HP_EINVAL);  // no key field
  o.key_field = "id";
  CHECK(hp_recipes_define(&t, f.set, "", &o) == HP_EINVAL);
  o.key_type = 7;
  CHECK(hp_recipes_define(&t, f.set, "x", &o) == HP_EINVAL);
  o.key_type = HP_RECIPE_KEY_INT;
  o.version = 9;
  CHECK(hp_recipes_define(&t, f.set, "x", &o) == HP_EINVAL);
  o.version = HP_RECIPE_TABLE_OPTIONS_VERSION;
  REQUIRE(hp_recipes_define(&t, f.set, "x", &o) == 0);
  CHECK(hp_recipes_load(t, nullptr, nullptr, &Done::cb, nullptr) == HP_EINVAL);
  hp_recipe r = HP_RECIPE_INIT;
  r.version = 0;
  hp_recipe_key k = {nullptr, 0, 1};
  CHECK(hp_recipes_get(&r, t, &k) == HP_EINVAL);
  r.version = HP_RECIPE_VERSION;
  CHECK(hp_recipes_get(&r, t, &k) == 0);
  CHECK(hp_recipes_size(t) == 0);
  hp_recipes_close(nullptr, NULL, NULL);
  hp_recipes_unwatch(nullptr);
  CHECK(hp_recipes_open(nullptr, f.engine) == HP_EINVAL);
}

// ------------------------------------------------------------------ rules

namespace {

struct RulesFixture : Fixture {
  TempDir dir;
  hp_recipe_table *campaigns = nullptr;
  hp_recipe_table *offers_t = nullptr;
  RulesFixture() {
    const char *fields[] = {"targetRules", "geoRules"};
    hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
    o.key_field = "campaignId";
    o.json_fields = fields;
    o.json_field_count = 2;
    REQUIRE(hp_recipes_define(&campaigns, set, "campaigns", &o) == 0);
    o.key_field = "offerId";
    REQUIRE(hp_recipes_define(&offers_t, set, "offers", &o) == 0);
  }
  void load_campaigns(const std::vector<std::string> &target_rules) {
    std::string s = "[";
    for (size_t i = 0; i < target_rules.size(); i++) {
      std::string json = target_rules[i];
      std::string escaped;
      for (char c : json) {
        if (c == '"' || c == '\\') escaped.push_back('\\');
        escaped.push_back(c);
      }
      s += (i ? "," : "") + std::string("{\"campaignId\":") + std::to_string(i + 1) + ",\"targetRules\":\"" +
           escaped + "\"}";
    }
    write_file(dir.file("c.json"), s + "]");
    Done d;
    REQUIRE(load(campaigns, dir.file("c.json"), &d) == 0);
  }
  hp_recipes_match_result match(hp_recipe_table *t, int64_t id, const hp_recipes_context &ctx) {
    hp_recipes_match_result r = HP_RECIPES_MATCH_RESULT_INIT;
    r.redirect_buf = redirect;
    r.redirect_cap = sizeof redirect;
    hp_recipe_key k = {nullptr, 0, id};
    REQUIRE(hp_recipes_match(&r, t, &k, &ctx) == 1);
    return r;
  }
  char redirect[256] = {0};
};

std::string rule(bool include, const std::string &groups) {
  return std::string("{\"include\":") + (include ? "true" : "false") + ",\"filterGroups\":[" + groups + "]}";
}
std::string group(const std::string &conds) { return "{\"conditions\":[" + conds + "]}"; }
std::string cond(const std::string &dim, const std::string &value) {
  return "{\"dimension\":\"" + dim + "\",\"value\":" + value + "}";
}
std::string target(const std::string &rules) {
  return "{\"redirectTo\":\"https://lp.example/alt\",\"rules\":[" + rules + "]}";
}

}  // namespace

TEST_CASE("recipes: target rules match each dimension without case") {
  RulesFixture f;
  const char *dims[] = {"country", "region", "city", "isp", "os", "browser", "deviceType"};
  std::vector<std::string> campaigns;
  for (const char *d : dims) campaigns.push_back(target(rule(true, group(cond(d, "\"VaLue\"")))));
  f.load_campaigns(campaigns);
  for (int i = 0; i < 7; i++) {
    CAPTURE(dims[i]);
    hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
    const char **slot[] = {&ctx.country, &ctx.region, &ctx.city, &ctx.isp, &ctx.os, &ctx.browser, &ctx.device_type};
    auto r = f.match(f.campaigns, i + 1, ctx);
    CHECK(r.target == HP_RECIPES_RULE_FAIL);  // unknown visitor
    *slot[i] = "value";
    r = f.match(f.campaigns, i + 1, ctx);
    CHECK(r.target == HP_RECIPES_RULE_PASS);
    CHECK(r.rule == 0);
    CHECK(std::string(f.redirect) == "https://lp.example/alt");
    CHECK(r.redirect_len == std::strlen("https://lp.example/alt"));
    *slot[i] = "other";
    CHECK(f.match(f.campaigns, i + 1, ctx).target == HP_RECIPES_RULE_FAIL);
  }
}

TEST_CASE("recipes: target rules: OR across groups, AND within a group, include and exclude") {
  RulesFixture f;
  f.load_campaigns({
      // 1: (country US and os iOS) or (country CA)
      target(rule(true, group(cond("country", "\"US\"") + "," + cond("os", "\"iOS\"")) + "," +
                            group(cond("country", "\"CA\"")))),
      // 2: exclude bots and desktop
      target(rule(false, group(cond("deviceType", "[\"bot\",\"desktop\"]")))),
      // 3: include US, exclude isp Comcast
      target(rule(true, group(cond("country", "\"us\""))) + "," + rule(false, group(cond("isp", "\"Comcast\"")))),
      // 4: no rules
      "{\"redirectTo\":\"x\",\"rules\":[]}",
  });
  hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
  ctx.country = "us";
  ctx.os = "ios";
  CHECK(f.match(f.campaigns, 1, ctx).target == HP_RECIPES_RULE_PASS);
  ctx.os = "Android";
  CHECK(f.match(f.campaigns, 1, ctx).target == HP_RECIPES_RULE_FAIL);
  ctx.country = "CA";
  CHECK(f.match(f.campaigns, 1, ctx).target == HP_RECIPES_RULE_PASS);

  ctx.device_type = "mobile";
  CHECK(f.match(f.campaigns, 2, ctx).target == HP_RECIPES_RULE_PASS);
  CHECK(f.match(f.campaigns, 2, ctx).rule == -1);
  ctx.device_type = "Desktop";
  auto r = f.match(f.campaigns, 2, ctx);
  CHECK(r.target == HP_RECIPES_RULE_FAIL);
  CHECK(r.rule == 0);

  ctx.country = "US";
  ctx.isp = "Verizon";
  CHECK(f.match(f.campaigns, 3, ctx).target == HP_RECIPES_RULE_PASS);
  ctx.isp = "COMCAST";
  r = f.match(f.campaigns, 3, ctx);
  CHECK(r.target == HP_RECIPES_RULE_FAIL);
  CHECK(r.rule == 1);

  CHECK(f.match(f.campaigns, 4, ctx).target == HP_RECIPES_RULE_NONE);
  hp_recipes_match_result none = HP_RECIPES_MATCH_RESULT_INIT;
  hp_recipe_key k = {nullptr, 0, 99};
  CHECK(hp_recipes_match(&none, f.campaigns, &k, &ctx) == 0);
  CHECK((none.geo == HP_RECIPES_RULE_NONE && none.target == HP_RECIPES_RULE_NONE && none.rule == -1));
}

TEST_CASE("recipes: offer geo rules allow-list, block-list and mixed") {
  RulesFixture f;
  write_file(f.dir.file("o.json"),
             R"([{"offerId":1,"geoRules":"{\"geo\":[{\"country\":\"US\",\"include\":true},{\"country\":\"CA\",\"include\":true}]}"},)"
             R"({"offerId":2,"geoRules":"{\"geo\":[{\"country\":\"RU\",\"include\":false}]}"},)"
             R"({"offerId":3,"geoRules":"{\"geo\":[]}"},)"
             R"({"offerId":4}])");
  Done d;
  REQUIRE(f.load(f.offers_t, f.dir.file("o.json"), &d) == 0);
  hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
  ctx.country = "us";
  CHECK(f.match(f.offers_t, 1, ctx).geo == HP_RECIPES_RULE_PASS);
  CHECK(f.match(f.offers_t, 2, ctx).geo == HP_RECIPES_RULE_PASS);
  CHECK(f.match(f.offers_t, 3, ctx).geo == HP_RECIPES_RULE_PASS);
  CHECK(f.match(f.offers_t, 4, ctx).geo == HP_RECIPES_RULE_NONE);
  ctx.country = "Ru";
  CHECK(f.match(f.offers_t, 1, ctx).geo == HP_RECIPES_RULE_FAIL);
  CHECK(f.match(f.offers_t, 2, ctx).geo == HP_RECIPES_RULE_FAIL);
  ctx.country = nullptr;
  CHECK(f.match(f.offers_t, 1, ctx).geo == HP_RECIPES_RULE_FAIL);
  CHECK(f.match(f.offers_t, 2, ctx).geo == HP_RECIPES_RULE_PASS);
  CHECK(f.match(f.offers_t, 4, ctx).target == HP_RECIPES_RULE_NONE);
}

// ------------------------------------------------------------- pub/sub

namespace {

// Records every status a subscription reports.
struct Messages {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> statuses;
  std::vector<std::string> errors;

  static void cb(int status, void *data) {
    auto *m = static_cast<Messages *>(data);
    std::lock_guard<std::mutex> lock(m->mu);
    m->statuses.push_back(status);
    m->errors.push_back(status < 0 ? hp_last_error() : "");
    m->cv.notify_all();
  }
  bool wait_count(size_t n, int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return statuses.size() >= n; });
  }
  int at(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return statuses.at(i);
  }
};

// A plain hiredis connection that publishes, as a user's own client would.
struct Publisher {
  int port;
  explicit Publisher(int p) : port(p) {}
  long long command(const std::vector<std::string> &args) {
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
      if (c) redisFree(c);
      return -1;
    }
    std::vector<const char *> argv;
    std::vector<size_t> lens;
    for (const auto &a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto *r = static_cast<redisReply *>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    long long n = -1;
    if (r && r->type == REDIS_REPLY_INTEGER) n = r->integer;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_INTEGER)
      n = r->element[1]->integer;  // PUBSUB NUMSUB channel
    if (r) freeReplyObject(r);
    redisFree(c);
    return n;
  }
  // Waits until `channel` has a subscriber (the subscription is live).
  bool wait_subscribed(const std::string &channel, int ms = 10000) {
    for (int i = 0; i < ms / 20; i++) {
      if (command({"PUBSUB", "NUMSUB", channel}) == 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  long long publish(const std::string &channel, const std::string &msg) {
    return command({"PUBLISH", channel, msg});
  }
};

std::string offer_update(int id, int64_t ts, const std::string &name) {
  std::string body = "{\\\"offerId\\\":" + std::to_string(id) + ",\\\"name\\\":\\\"" + name + "\\\"}";
  return "{\"type\":\"offer\",\"id\":" + std::to_string(id) +
         ",\"action\":\"updateOrCreate\",\"timestamp\":" + std::to_string(ts) + ",\"body\":\"" + body + "\"}";
}

}  // namespace

TEST_CASE("recipes: a Redis subscription applies point updates and resubscribes after a restart") {
  hp_test::RedisServer redis;
  Publisher pub(redis.port());
  Fixture f;
  hp_recipe_table *t = f.offers();
  Messages m;
  hp_recipes_subscription *sub = nullptr;
  REQUIRE(hp_recipes_subscribe(&sub, f.set, redis.url().c_str(), "recipes", nullptr, &Messages::cb, &m) == 0);
  REQUIRE(sub != nullptr);
  REQUIRE(pub.wait_subscribed("recipes"));

  CHECK(pub.publish("recipes", offer_update(7, 1000, "first")) == 1);
  REQUIRE(m.wait_count(1));
  CHECK(m.at(0) == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 7) == "{\"offerId\":7,\"name\":\"first\"}");

  // Older than what the table holds: ignored. Not an update at all: counted.
  CHECK(pub.publish("recipes", offer_update(7, 999, "older")) == 1);
  CHECK(pub.publish("recipes", "{not json") == 1);
  CHECK(pub.publish("recipes", "{\"type\":\"nope\",\"id\":1,\"action\":\"delete\"}") == 1);
  REQUIRE(m.wait_count(4));
  CHECK(m.at(1) == HP_RECIPES_STALE);
  CHECK(m.at(2) == HP_EINVAL);
  CHECK(m.errors[2].find("invalid JSON") != std::string::npos);
  CHECK(m.at(3) == HP_EINVAL);
  CHECK(m.errors[3].find("nope") != std::string::npos);
  CHECK(get_json(t, 7) == "{\"offerId\":7,\"name\":\"first\"}");

  // Redis goes away and comes back on the same port: the subscription
  // reconnects and subscribes again on its own.
  redis.stop();
  redis.start();
  REQUIRE(pub.wait_subscribed("recipes"));
  CHECK(pub.publish("recipes", offer_update(7, 2000, "after restart")) == 1);
  REQUIRE(m.wait_count(5));
  CHECK(m.at(4) == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 7) == "{\"offerId\":7,\"name\":\"after restart\"}");

  hp_recipes_subscription_stats st = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  REQUIRE(hp_recipes_subscription_stats_get(&st, sub) == 0);
  CHECK(st.messages == 5);
  CHECK(st.applied == 2);
  CHECK(st.stale == 1);
  CHECK(st.errors == 2);
  hp_recipes_stats ts = HP_RECIPES_STATS_INIT;
  REQUIRE(hp_recipes_stats_get(&ts, t) == 0);
  CHECK(ts.updates_applied == 2);
  CHECK(ts.updates_stale == 1);

  // Unsubscribing disconnects and reports HP_ECLOSED once.
  hp_recipes_unsubscribe(sub);
  REQUIRE(m.wait_count(6));
  CHECK(m.at(5) == HP_ECLOSED);
  for (int i = 0; i < 500 && pub.command({"PUBSUB", "NUMSUB", "recipes"}) != 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(pub.command({"PUBSUB", "NUMSUB", "recipes"}) == 0);
  REQUIRE(hp_recipes_subscription_stats_get(&st, sub) == 0);
  CHECK(st.messages == 5);
}

TEST_CASE("recipes: a subscription to a Redis that is down connects once it is up") {
  int port = hp_test::free_port();
  Fixture f;
  hp_recipe_table *t = f.offers();
  Messages m;
  std::string url = "redis://127.0.0.1:" + std::to_string(port);
  hp_recipes_subscribe_options o = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
  o.reconnect_max_ms = 100;
  REQUIRE(hp_recipes_subscribe(nullptr, f.set, url.c_str(), "up-later", &o, &Messages::cb, &m) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  hp_test::RedisServer redis(port);
  Publisher pub(port);
  REQUIRE(pub.wait_subscribed("up-later"));
  CHECK(pub.publish("up-later", offer_update(3, 5, "late")) == 1);
  REQUIRE(m.wait_count(1));
  CHECK(m.at(0) == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 3) == "{\"offerId\":3,\"name\":\"late\"}");
  // Closing the set stops the subscription: a last HP_ECLOSED.
  hp_recipes_close(f.set, NULL, NULL);
  f.set = nullptr;
  REQUIRE(m.wait_count(2));
  CHECK(m.at(1) == HP_ECLOSED);
}

TEST_CASE("recipes: subscribe argument checks") {
  Fixture f;
  hp_recipes_subscription *sub = nullptr;
  CHECK(hp_recipes_subscribe(&sub, nullptr, "redis://127.0.0.1", "c", nullptr, nullptr, nullptr) ==
        HP_EINVAL);
  CHECK(hp_recipes_subscribe(&sub, f.set, nullptr, "c", nullptr, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_recipes_subscribe(&sub, f.set, "redis://127.0.0.1", "", nullptr, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_recipes_subscribe(&sub, f.set, "http://x", "c", nullptr, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_recipes_subscribe(&sub, f.set, "redis://h:99999", "c", nullptr, nullptr, nullptr) == HP_EINVAL);
  hp_recipes_subscribe_options o = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
  o.version = 99;
  CHECK(hp_recipes_subscribe(&sub, f.set, "redis://127.0.0.1", "c", &o, nullptr, nullptr) == HP_EINVAL);
  hp_recipes_subscription_stats st = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  CHECK(hp_recipes_subscription_stats_get(&st, nullptr) == HP_EINVAL);
  hp_recipes_unsubscribe(nullptr);
}

// ------------------------------------------------------- Caps on hostile input

namespace {

hp_recipe_table *capped_table(hp_recipes *set, const char *name, uint64_t json_bytes, uint64_t items,
                              uint64_t item_bytes) {
  hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
  o.key_field = "offerId";
  o.update_type = name;
  o.max_json_bytes = json_bytes;
  o.max_items = items;
  o.max_item_bytes = item_bytes;
  hp_recipe_table *t = nullptr;
  REQUIRE(hp_recipes_define(&t, set, name, &o) == 0);
  return t;
}

// Loads `path` whole (in one buffer) and streamed; both must end alike.
void load_both_ways(Fixture &f, hp_recipe_table *t, const std::string &path, int want, const char *limit) {
  hp_recipes_load_options whole = HP_RECIPES_LOAD_OPTIONS_INIT;
  hp_recipes_load_options streamed = HP_RECIPES_LOAD_OPTIONS_INIT;
  streamed.whole_inflate_max = 1;
  for (const hp_recipes_load_options *o : {&whole, &streamed}) {
    Done d;
    INFO("streamed: ", o == &streamed);
    CHECK(f.load(t, path, &d, o) == want);
    if (limit) CHECK(d.error.find(limit) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("recipes caps: a gzip bomb stops at max_json_bytes and the old table stays") {
  TempDir dir;
  Fixture f;
  hp_recipe_table *t = capped_table(f.set, "offers", 1 << 20, 0, 0);
  std::string good = dir.file("good.json");
  write_file(good, offers_json(3));
  Done d;
  REQUIRE(f.load(t, good, &d) == 0);
  // 64 MiB of JSON that compresses to about 64 KiB.
  std::string bomb = "[" + std::string(64 << 20, ' ') + "]";
  std::string path = dir.file("bomb.json.gz");
  write_gzip(path, bomb);
  CHECK(fs::file_size(path) < (1u << 20));
  load_both_ways(f, t, path, HP_ELIMIT, "max_json_bytes");
  CHECK(hp_recipes_size(t) == 3);
  // The same cap holds for a plain file.
  std::string plain = dir.file("big.json");
  write_file(plain, offers_json(40000));
  load_both_ways(f, t, plain, HP_ELIMIT, "max_json_bytes");
  CHECK(hp_recipes_size(t) == 3);
}

TEST_CASE("recipes caps: max_items and max_item_bytes, whole and streamed") {
  TempDir dir;
  Fixture f;
  hp_recipe_table *t = capped_table(f.set, "offers", 0, 5, 1 << 20);
  std::string five = dir.file("five.json"), six = dir.file("six.json");
  write_file(five, offers_json(5));
  write_file(six, offers_json(6));
  load_both_ways(f, t, five, 0, nullptr);
  load_both_ways(f, t, six, HP_ELIMIT, "max_items");
  std::string wide = dir.file("wide.json.gz");
  write_gzip(wide, "[{\"offerId\":1,\"blob\":\"" + std::string((1 << 20) + 10, 'b') + "\"}]");
  load_both_ways(f, t, wide, HP_ELIMIT, "max_item_bytes");
  CHECK(hp_recipes_size(t) == 5);
}

TEST_CASE("recipes caps: an endless item stops at the default max_item_bytes instead of doubling to 512 MiB") {
  TempDir dir;
  Fixture f;
  hp_recipe_table *t = f.offers();
  std::string path = dir.file("endless.json.gz");
  write_gzip(path, "[{\"offerId\":1,\"x\":\"" + std::string(HP_RECIPES_MAX_ITEM_BYTES + (8 << 20), 'x'));
  hp_recipes_load_options o = HP_RECIPES_LOAD_OPTIONS_INIT;
  o.whole_inflate_max = 1;
  Done d;
  CHECK(f.load(t, path, &d, &o) == HP_ELIMIT);
  CHECK(d.error.find("16777216 bytes (max_item_bytes)") != std::string::npos);
  // A syntax error inside the oversized item is reported as such.
  write_gzip(path, "[{\"offerId\":1,\"x\":\"" + std::string(1 << 20, 'x') + "\"]" + std::string(20 << 20, ' '));
  CHECK(f.load(t, path, &d, &o) == HP_ECORRUPT);
  CHECK(d.error.find("expected ',' or '}'") != std::string::npos);
}

TEST_CASE("recipes caps: an item larger than a read is parsed once it is complete, not again on every read") {
  // A 40 MiB item arrives in 4 MiB reads: before, each read parsed it again
  // from its start (about 200 MiB of parsing); now it is parsed at most twice.
  TempDir dir;
  std::string path = dir.file("wide.json.gz");
  std::string item = "{\"offerId\":1,\"x\":\"" + std::string(40 << 20, 'x') + "\",\"n\":[1,{\"a\":\"}\\\"]\"}]}";
  write_gzip(path, "[" + item + ",{\"offerId\":2}]");
  hp::recipes::TableSpec spec;
  spec.key_field = "offerId";
  spec.max_item_bytes = 64 << 20;
  hp::recipes::LoadOutcome o = hp::recipes::load_file(spec, path, 1, 1, nullptr);
  INFO(o.status.message);
  REQUIRE(o.status.code == 0);
  CHECK(o.items == 2);
  CHECK(o.json_bytes == item.size() + 16);
  CHECK(o.parsed_bytes <= 2 * o.json_bytes + (4 << 20));
  // And the record is whole.
  REQUIRE(o.base);
  hp::recipes::Key k;
  k.num = 1;
  const hp::recipes::Rec *r = o.base->index.find(k, hp::recipes::hash_key(k));
  REQUIRE(r);
  CHECK(r->json_len == item.size());
}

TEST_CASE("recipes caps: a point update's body is capped by max_item_bytes") {
  Fixture f;
  hp_recipe_table *t = capped_table(f.set, "offers", 0, 0, 64);
  std::string small = "{\"type\":\"offers\",\"id\":1,\"action\":\"updateOrCreate\",\"body\":{\"offerId\":1}}";
  CHECK(hp_recipes_update(f.set, small.data(), small.size()) == HP_RECIPES_APPLIED);
  std::string big = "{\"type\":\"offers\",\"id\":2,\"action\":\"updateOrCreate\",\"body\":{\"offerId\":2,\"x\":\"" +
                    std::string(100, 'x') + "\"}}";
  CHECK(hp_recipes_update(f.set, big.data(), big.size()) == HP_ELIMIT);
  CHECK(std::string(hp_last_error()).find("max_item_bytes (64)") != std::string::npos);
  CHECK(hp_recipes_size(t) == 1);
}

TEST_CASE("recipes caps: a pub/sub message over max_message_bytes is refused unparsed") {
  hp_test::RedisServer redis;
  Publisher pub(redis.port());
  Fixture f;
  hp_recipe_table *t = f.offers();
  Messages m;
  hp_recipes_subscribe_options o = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
  o.max_message_bytes = 256;
  hp_recipes_subscription *sub = nullptr;
  REQUIRE(hp_recipes_subscribe(&sub, f.set, redis.url().c_str(), "capped", &o, &Messages::cb, &m) == 0);
  REQUIRE(pub.wait_subscribed("capped"));
  CHECK(pub.publish("capped", offer_update(1, 1000, std::string(300, 'n'))) == 1);
  CHECK(pub.publish("capped", offer_update(2, 1000, "short")) == 1);
  REQUIRE(m.wait_count(2));
  CHECK(m.at(0) == HP_ELIMIT);
  CHECK(m.errors[0].find("max_message_bytes (256)") != std::string::npos);
  CHECK(m.at(1) == HP_RECIPES_APPLIED);
  CHECK(hp_recipes_size(t) == 1);
  hp_recipes_subscription_stats st = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  REQUIRE(hp_recipes_subscription_stats_get(&st, sub) == 0);
  CHECK(st.errors == 1);
  CHECK(st.applied == 1);
  // Options of version 1 (no max_message_bytes) are still taken.
  hp_recipes_subscribe_options v1 = HP_RECIPES_SUBSCRIBE_OPTIONS_INIT;
  v1.version = 1;
  v1.max_message_bytes = 1;  // not read
  REQUIRE(hp_recipes_subscribe(nullptr, f.set, redis.url().c_str(), "v1", &v1, nullptr, nullptr) == 0);
  hp_recipes_unsubscribe(sub);
  REQUIRE(m.wait_count(3));
}

TEST_CASE("recipes: point updates change the overlay in place, without a new snapshot or a copy of the others") {
  Fixture f;
  hp_recipe_table *t = f.offers();
  auto *table = hp::recipes::Table::from_c(t);
  const hp::recipes::Snapshot *snap = table->cur.load();
  const hp::recipes::Overlay *overlay = snap->overlay.get();
  // 20,000 distinct keys, then 1,000 rewrites of one: each update was a copy
  // of all the updates before it (O(N^2) over N updates between loads).
  for (int i = 1; i <= 20000; i++) {
    std::string msg = offer_update(i, 1000, "n" + std::to_string(i));
    REQUIRE(hp_recipes_update(f.set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);
  }
  for (int i = 0; i < 1000; i++) {
    std::string msg = offer_update(7, 2000 + i, "v" + std::to_string(i));
    REQUIRE(hp_recipes_update(f.set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);
    // What a rewrite replaced is freed in batches after a grace period.
    CHECK(overlay->index.retired() <= hp::recipes::Set::kRetireBatch);
  }
  CHECK(table->cur.load() == snap);
  CHECK(snap->overlay.get() == overlay);
  CHECK(hp_recipes_size(t) == 20000);
  CHECK(get_json(t, 7) == "{\"offerId\":7,\"name\":\"v999\"}");
  CHECK(get_json(t, 19999) == "{\"offerId\":19999,\"name\":\"n19999\"}");
  std::string del = "{\"type\":\"offer\",\"id\":5,\"action\":\"delete\",\"timestamp\":5000}";
  REQUIRE(hp_recipes_update(f.set, del.data(), del.size()) == HP_RECIPES_APPLIED);
  CHECK(hp_recipes_size(t) == 19999);
  hp_recipes_stats st = HP_RECIPES_STATS_INIT;
  REQUIRE(hp_recipes_stats_get(&st, t) == 0);
  CHECK(st.size == 19999);
  CHECK(st.overlay_size == 20000);
  CHECK(st.updates_applied == 21001);
}

TEST_CASE("recipes: after a resubscribe the set reloads its files, so updates missed meanwhile are not lost") {
  TempDir dir;
  write_file(dir.file("offers.json"), "[{\"offerId\": 7, \"name\": \"v1\"}]\n");
  hp_test::RedisServer redis;
  Publisher pub(redis.port());
  Messages m;  // outlives the set, whose close reports HP_ECLOSED to it
  Fixture f;
  hp_recipe_table *t = f.offers();
  Done d;
  REQUIRE(f.load(t, dir.file("offers.json"), &d) == 0);
  hp_recipes_subscription *sub = nullptr;
  REQUIRE(hp_recipes_subscribe(&sub, f.set, redis.url().c_str(), "resync", nullptr, &Messages::cb, &m) == 0);
  REQUIRE(pub.wait_subscribed("resync"));
  CHECK(get_json(t, 7) == "{\"offerId\":7,\"name\":\"v1\"}");
  // While Redis is away, the source changes (and its update message,
  // published then, reaches nobody).
  redis.stop();
  write_file(dir.file("offers.json"), "[{\"offerId\": 7, \"name\": \"v2\"}]\n");
  redis.start();
  REQUIRE(pub.wait_subscribed("resync"));
  std::string now;
  for (int i = 0; i < 500 && (now = get_json(t, 7)) != "{\"offerId\":7,\"name\":\"v2\"}"; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(now == "{\"offerId\":7,\"name\":\"v2\"}");
  hp_recipes_subscription_stats st = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  REQUIRE(hp_recipes_subscription_stats_get(&st, sub) == 0);
  CHECK(st.resyncs == 1);
  CHECK(st.redis.disconnects == 1);  // version 3: the client's figures
  CHECK(st.redis.reconnects == 1);
  CHECK(st.redis.connected == 1);
  hp_recipes_subscription_stats v1 = {1, 0, 0, 0, 0, 99, {}};  // an older caller's struct
  REQUIRE(hp_recipes_subscription_stats_get(&v1, sub) == 0);
  CHECK(v1.resyncs == 99);  // version 1 has no such field: left alone
}

TEST_CASE("recipes: a subscription through a redis+cluster:// URL hears PUBLISH on any master") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  Publisher first(cluster.port(0)), last(cluster.port(cluster.size() - 1));
  Messages m;  // outlives the set, whose close reports HP_ECLOSED to it
  Fixture f;
  hp_recipe_table *t = f.offers();
  REQUIRE(hp_recipes_subscribe(nullptr, f.set, cluster.url().c_str(), "cluster-recipes", nullptr, &Messages::cb,
                               &m) == 0);
  REQUIRE(first.wait_subscribed("cluster-recipes"));  // the first seed
  CHECK(last.publish("cluster-recipes", offer_update(9, 1000, "from another master")) == 0);  // 0 local subscribers
  REQUIRE(m.wait_count(1));
  CHECK(m.at(0) == HP_RECIPES_APPLIED);
  CHECK(get_json(t, 9) == "{\"offerId\":9,\"name\":\"from another master\"}");
}
