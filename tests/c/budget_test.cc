// Bounded work on hostile input: crafted MaxMind DB files that fan out
// through pointers or flood the record cache, and recipe files and messages
// past their caps. Each case asserts the limit's error (or the bound held),
// never the clock.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "hotpath.h"
#include "support/mmdb_craft.h"

namespace mmdb = hp_test::mmdb;

namespace {

// A scratch folder removed with its files at the end of a case.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  TempDir() {
    char tmpl[] = "/tmp/hp_budget_XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() {
    for (auto &f : files) unlink(f.c_str());
    rmdir(path.c_str());
  }
  std::string write(const std::string &name, const std::string &bytes) {
    std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << bytes;
    files.push_back(p);
    return p;
  }
};

struct Geo {
  hp_geo *g = nullptr;
  int rc;
  Geo(const std::string &path, const hp_geo_options *o = nullptr) {
    rc = hp_geo_open(&g, nullptr, path.c_str(), o);
    INFO(std::string(hp_last_error()));
    REQUIRE(rc == 0);
  }
  ~Geo() { hp_geo_close(g, nullptr, nullptr); }
  // hp_geo_get of record i of a crafted file; the value stays in `r`.
  int get(unsigned i, hp_geo_result *r) {
    std::string ip = mmdb::address_of(i);
    return hp_geo_get(r, g, 0, ip.data(), ip.size());
  }
  int lookup(unsigned i) {
    std::string ip = mmdb::address_of(i);
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    return hp_geo_lookup(&e, g, ip.data(), ip.size());
  }
};

bool error_names(const char *limit) { return std::strstr(hp_last_error(), limit) != nullptr; }

// One string of `n` bytes at offset 0, then a map of `fan` keys each holding
// a pointer to it (the record).
std::string fan_out_to_string(size_t n, size_t fan, uint32_t *record) {
  std::string data = mmdb::str(std::string(n, 'a'));
  *record = static_cast<uint32_t>(data.size());
  data += mmdb::map(fan);
  for (size_t i = 0; i < fan; i++) data += mmdb::str("k" + std::to_string(i)) + mmdb::pointer(0);
  return data;
}

}  // namespace

TEST_CASE("geo budget: a map of 400 pointers to one 1 MB string is refused, naming max_record_bytes") {
  TempDir dir;
  uint32_t rec;
  std::string data = fan_out_to_string(1 << 20, 400, &rec);
  std::string path = dir.write("fan.mmdb", mmdb::file(data, {rec}));
  Geo geo(path);
  hp_geo_result r = HP_GEO_RESULT_INIT;
  CHECK(geo.get(0, &r) == HP_ELIMIT);
  CHECK(error_names("max_record_bytes"));
  CHECK(r.value == nullptr);
  hp_geo_result_clear(&r);
  CHECK(geo.lookup(0) == HP_ELIMIT);
  CHECK(error_names("max_record_bytes"));
}

TEST_CASE("geo budget: within a raised budget, a shared target is decoded once and every reference reads it") {
  TempDir dir;
  uint32_t rec;
  std::string data = fan_out_to_string(1 << 20, 400, &rec);
  std::string path = dir.write("fan.mmdb", mmdb::file(data, {rec}));
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.max_record_bytes = uint64_t(1) << 30;
  Geo geo(path, &o);
  hp_geo_result r = HP_GEO_RESULT_INIT;
  REQUIRE(geo.get(0, &r) == 1);
  REQUIRE(r.value->type == HP_GEO_MAP);
  REQUIRE(r.value->size == 400);
  for (uint32_t i = 0; i < 400; i++) {
    const hp_geo_value &v = r.value->v.items[2 * i + 1];
    REQUIRE(v.type == HP_GEO_STRING);
    REQUIRE(v.size == (1u << 20));
    CHECK((v.v.str[0] == 'a' && v.v.str[v.size - 1] == 'a'));
  }
  hp_geo_result_clear(&r);
}

TEST_CASE("geo budget: a crafted 3.5 MB file built for fan-out answers every lookup within its budget") {
  // A 3.5 MB string, then layers of pointer arrays: each layer is 256
  // pointers to the one below, so record i expands to 256^(i+1) copies of
  // the string (without budgets: terabytes to validate and copy per lookup).
  TempDir dir;
  std::string data;
  std::vector<uint32_t> records;
  // Three layers over the value at `below`, each a record.
  auto layers = [&](uint32_t below) {
    for (int layer = 0; layer < 3; layer++) {
      uint32_t at = static_cast<uint32_t>(data.size());
      data += mmdb::array(256);
      for (int i = 0; i < 256; i++) data += mmdb::pointer(below);
      records.push_back(at);
      below = at;
    }
  };
  data = mmdb::str(std::string(7 << 19, 'z'));
  layers(0);
  // And the same fan-out over a tiny string, which the value count stops.
  uint32_t tiny = static_cast<uint32_t>(data.size());
  data += mmdb::str("t");
  layers(tiny);
  std::string file = mmdb::file(data, records);
  CHECK(file.size() > (7u << 19));
  CHECK(file.size() < (4u << 20));
  std::string path = dir.write("fanout.mmdb", file);
  Geo geo(path);
  for (unsigned i = 0; i < records.size(); i++) {
    INFO("record ", i);
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = geo.get(i, &r);
    hp_geo_result_clear(&r);
    if (i == 3) {  // 256 pointers to the tiny string: an ordinary record
      CHECK(rc == 1);
      continue;
    }
    CHECK(rc == HP_ELIMIT);
    CHECK((error_names("max_record_bytes") || error_names("max_record_nodes")));
    CHECK(geo.lookup(i) == HP_ELIMIT);
  }
  // The last record: 256^3 tiny values; the bytes budget lifted, the value
  // count still refuses it.
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.max_record_bytes = uint64_t(1) << 40;
  Geo lifted(path, &o);
  hp_geo_result r = HP_GEO_RESULT_INIT;
  CHECK(lifted.get(5, &r) == HP_ELIMIT);
  CHECK(error_names("max_record_nodes"));
  hp_geo_result_clear(&r);
  // Layer 1 over the tiny string is 256 values: inside both budgets.
  CHECK(lifted.get(3, &r) == 1);
  CHECK(r.value->type == HP_GEO_ARRAY);
  CHECK(r.value->size == 256);
  hp_geo_result_clear(&r);
}

TEST_CASE("geo budget: max_record_nodes and max_record_bytes apply to ordinary records too") {
  TempDir dir;
  std::string data = mmdb::map(3) + mmdb::str("a") + mmdb::str("x") + mmdb::str("b") + mmdb::array(2) +
                     mmdb::uint32(1) + mmdb::uint32(2) + mmdb::str("c") + mmdb::str(std::string(5000, 'c'));
  std::string path = dir.write("small.mmdb", mmdb::file(data, {0}));
  hp_geo_result r = HP_GEO_RESULT_INIT;
  {
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.max_record_nodes = 9;  // the record has 9 values: fits exactly
    Geo geo(path, &o);
    CHECK(geo.get(0, &r) == 1);
    hp_geo_result_clear(&r);
  }
  {
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.max_record_nodes = 8;
    Geo geo(path, &o);
    CHECK(geo.get(0, &r) == HP_ELIMIT);
    CHECK(error_names("more than 8 values (max_record_nodes)"));
    hp_geo_result_clear(&r);
  }
  {
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.max_record_bytes = 5004;  // the strings' bytes: a, x, b, c and 5,000 c's
    Geo geo(path, &o);
    CHECK(geo.get(0, &r) == 1);
    hp_geo_result_clear(&r);
    o.max_record_bytes = 5003;
    Geo tight(path, &o);
    CHECK(tight.get(0, &r) == HP_ELIMIT);
    CHECK(error_names("max_record_bytes"));
    hp_geo_result_clear(&r);
  }
  {
    // A version 2 struct ends before the budgets: what follows is not read.
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.version = 2;
    o.max_record_nodes = 1;
    o.max_record_bytes = 1;
    o.cache_bytes = 1;
    Geo geo(path, &o);
    CHECK(geo.get(0, &r) == 1);
    hp_geo_result_clear(&r);
    CHECK(hp_geo_cache_bytes(geo.g, 0) > 0);
  }
}

TEST_CASE("geo budget: a pointer to invalid UTF-8 is still refused on every reference") {
  TempDir dir;
  std::string data = mmdb::str("\xc3\x28");
  uint32_t rec = static_cast<uint32_t>(data.size());
  data += mmdb::array(3) + mmdb::pointer(0) + mmdb::pointer(0) + mmdb::pointer(0);
  std::string path = dir.write("utf8.mmdb", mmdb::file(data, {rec, 0}));
  Geo geo(path);
  hp_geo_result r = HP_GEO_RESULT_INIT;
  CHECK(geo.get(0, &r) == HP_ECORRUPT);
  CHECK(geo.get(1, &r) == HP_ECORRUPT);
  hp_geo_result_clear(&r);
}

TEST_CASE("geo budget: many distinct records cannot grow the cache past cache_bytes") {
  // 32 distinct records of about 2 KiB of values each.
  TempDir dir;
  std::string data;
  std::vector<uint32_t> records;
  for (int i = 0; i < 32; i++) {
    records.push_back(static_cast<uint32_t>(data.size()));
    data += mmdb::map(64);
    for (int k = 0; k < 64; k++) data += mmdb::str("k" + std::to_string(k)) + mmdb::str(std::to_string(i));
  }
  std::string path = dir.write("flood.mmdb", mmdb::file(data, records));
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.cache_bytes = 16 << 10;
  Geo geo(path, &o);
  for (int pass = 0; pass < 2; pass++) {
    for (unsigned i = 0; i < records.size(); i++) {
      hp_geo_result r = HP_GEO_RESULT_INIT;
      REQUIRE(geo.get(i, &r) == 1);
      // Cached or not, the value is right.
      REQUIRE(r.value->size == 64);
      const hp_geo_value &v = r.value->v.items[1];
      CHECK(std::string(v.v.str, v.size) == std::to_string(i));
      hp_geo_result_clear(&r);
      CHECK(hp_geo_cache_bytes(geo.g, 0) <= o.cache_bytes);
    }
  }
  CHECK(hp_geo_cache_bytes(geo.g, 0) > 0);
  CHECK(hp_geo_cache_bytes(geo.g, 1) == 0);
  // With the default byte cap, all 32 stay.
  Geo all(path);
  for (unsigned i = 0; i < records.size(); i++) CHECK(all.lookup(i) == 1);
  CHECK(hp_geo_cache_bytes(all.g, 0) > hp_geo_cache_bytes(geo.g, 0));
}
