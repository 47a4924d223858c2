#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <maxminddb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"

namespace {

std::string db_path(const std::string &name) { return hp_test::fixture("maxmind/test-data/" + name); }

struct Geo {
  hp_geo *g = nullptr;
  explicit Geo(const std::string &path, const hp_geo_options *o = nullptr) {
    int rc = hp_geo_open(&g, nullptr, path.c_str(), o);
    INFO(hp_last_error());
    REQUIRE(rc == 0);
  }
  // The City test database with one more database after it.
  static Geo city_and(const std::string &extra_path) {
    const char *extra[] = {extra_path.c_str()};
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.extra_paths = extra;
    o.extra_count = 1;
    return Geo(db_path("GeoIP2-City-Test.mmdb"), &o);
  }
  Geo(Geo &&other) noexcept : g(other.g) { other.g = nullptr; }
  ~Geo() { hp_geo_close(g, NULL, NULL); }
};

struct Result {
  hp_geo_result r = HP_GEO_RESULT_INIT;
  ~Result() { hp_geo_result_clear(&r); }
};

int get(hp_geo *g, const std::string &ip, hp_geo_result *r, size_t db = 0) {
  return hp_geo_get(r, g, db, ip.data(), ip.size());
}

const hp_geo_value *at(const hp_geo_value *m, const char *key) {
  if (!m || m->type != HP_GEO_MAP) return nullptr;
  for (uint32_t i = 0; i < m->size; i++)
    if (m->v.items[2 * i].size == strlen(key) && !memcmp(m->v.items[2 * i].v.str, key, strlen(key)))
      return &m->v.items[2 * i + 1];
  return nullptr;
}

std::string str(const hp_geo_value *v) {
  REQUIRE(v);
  REQUIRE(v->type == HP_GEO_STRING);
  return std::string(v->v.str, v->size);
}

std::string random_ip(std::mt19937 &rng, bool v6) {
  char buf[64];
  if (!v6) {
    uint32_t x = rng();
    snprintf(buf, sizeof buf, "%u.%u.%u.%u", unsigned(x >> 24), unsigned((x >> 16) & 255), unsigned((x >> 8) & 255), unsigned(x & 255));
  } else {
    snprintf(buf, sizeof buf, "%x:%x:%x:%x::%x", unsigned(rng() & 0xffff), unsigned(rng() & 0xffff), unsigned(rng() & 0xffff), unsigned(rng() & 0xffff),
             unsigned(rng() & 0xffff));
  }
  return buf;
}

std::vector<std::string> list_dir(const std::string &dir) {
  std::vector<std::string> out;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (strstr(e->d_name, ".mmdb")) out.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  return out;
}

}  // namespace

TEST_CASE("geo: get returns the GeoIP2-City record of the source data") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  Result res;
  REQUIRE(get(geo.g, "81.2.69.160", &res.r) == 1);
  CHECK(res.r.prefix_len == 27);
  CHECK(str(at(at(at(res.r.value, "city"), "names"), "en")) == "London");
  CHECK(str(at(at(res.r.value, "country"), "iso_code")) == "GB");
  const hp_geo_value *lat = at(at(res.r.value, "location"), "latitude");
  REQUIRE(lat);
  CHECK(lat->type == HP_GEO_DOUBLE);
  CHECK(lat->v.f64 == doctest::Approx(51.5142));
  const hp_geo_value *geoname = at(at(res.r.value, "city"), "geoname_id");
  REQUIRE(geoname);
  CHECK(geoname->type == HP_GEO_UINT32);
  CHECK(geoname->v.u64 == 2643743u);
}

TEST_CASE("geo: an address outside the database is a miss, not an error") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  Result res;
  CHECK(get(geo.g, "10.0.0.1", &res.r) == 0);
  CHECK(res.r.value == nullptr);
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  CHECK(hp_geo_lookup(&e, geo.g, "10.0.0.1", 8) == 0);
  CHECK(e.flags == 0);
}

TEST_CASE("geo: an invalid IP string is HP_EINVAL naming the string") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  Result res;
  for (const char *bad : {"1.2.3", "", "not-an-ip", "1.2.3.256", "::g"}) {
    CHECK(hp_geo_get(&res.r, geo.g, 0, bad, strlen(bad)) == HP_EINVAL);
    CHECK(std::string(hp_last_error()).find(std::string("'") + bad + "'") != std::string::npos);
  }
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  CHECK(hp_geo_lookup(&e, geo.g, "1.2.3", 5) == HP_EINVAL);
}

TEST_CASE("geo: an IPv6 address in an IPv4-only database is HP_EFAMILY, not a bad argument") {
  Geo v4(db_path("MaxMind-DB-test-ipv4-24.mmdb"));
  Result res;
  CHECK(get(v4.g, "::1", &res.r) == HP_EFAMILY);
  CHECK(std::string(hp_last_error()).find("IPv4-only") != std::string::npos);
  CHECK(std::string(hp_err_name(HP_EFAMILY)) == "HP_EFAMILY");
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  CHECK(hp_geo_lookup(&e, v4.g, "::1", 3) == HP_EFAMILY);
  CHECK(hp_geo_lookup(&e, v4.g, "1.2.3", 5) == HP_EINVAL);  // still a bad argument
  const char *ips[] = {"1.1.1.1", "::1"};
  size_t lens[] = {7, 3};
  uint32_t ids[2];
  size_t failed = 9;
  CHECK(hp_geo_find_many(ids, nullptr, &failed, v4.g, 0, ips, lens, 2, 0) == HP_EFAMILY);
  CHECK(failed == 1);
  REQUIRE(hp_geo_find_many(ids, nullptr, nullptr, v4.g, 0, ips, lens, 2, HP_GEO_SKIP_INVALID) == 2);
  CHECK(ids[1] == HP_GEO_NO_RECORD_ID);
}

TEST_CASE("geo: the decoder test database gives every type") {
  Geo geo(db_path("MaxMind-DB-test-decoder.mmdb"));
  Result res;
  REQUIRE(get(geo.g, "::1.1.1.0", &res.r) == 1);
  const hp_geo_value *r = res.r.value;
  CHECK(at(r, "boolean")->type == HP_GEO_BOOLEAN);
  CHECK(at(r, "boolean")->v.u64 == 1);
  CHECK(at(r, "double")->v.f64 == doctest::Approx(42.123456));
  CHECK(at(r, "float")->type == HP_GEO_FLOAT);
  CHECK(at(r, "float")->v.f64 == doctest::Approx(1.1));
  CHECK(at(r, "int32")->v.i64 == -268435456);
  CHECK(at(r, "uint16")->v.u64 == 100);
  CHECK(at(r, "uint32")->v.u64 == 268435456u);
  CHECK(at(r, "uint64")->v.u64 == 1152921504606846976ull);
  CHECK(at(r, "uint128")->v.u128.hi == 0x0100000000000000ull);
  CHECK(at(r, "uint128")->v.u128.lo == 0);
  CHECK(at(r, "utf8_string")->type == HP_GEO_STRING);
  CHECK(at(r, "bytes")->type == HP_GEO_BYTES);
  CHECK(at(r, "bytes")->size == 4);
  CHECK(at(r, "array")->type == HP_GEO_ARRAY);
  CHECK(at(r, "array")->size == 3);
  CHECK(at(at(at(r, "map"), "mapX"), "utf8_stringX") != nullptr);
}

TEST_CASE("geo: the tree walk agrees with libmaxminddb on every test database") {
  std::mt19937 rng(12345);
  for (const std::string &path : list_dir(hp_test::fixture("maxmind/test-data"))) {
    if (path.find("Broken") != std::string::npos || path.find("broken") != std::string::npos ||
        path.find("Invalid") != std::string::npos)
      continue;
    INFO(path);
    MMDB_s mmdb;
    REQUIRE(MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb) == MMDB_SUCCESS);
    Geo geo(path);
    for (int i = 0; i < 2000; i++) {
      std::string ip = random_ip(rng, mmdb.metadata.ip_version == 6 && (i & 1));
      int gai = 0, merr = 0;
      MMDB_lookup_result_s m = MMDB_lookup_string(&mmdb, ip.c_str(), &gai, &merr);
      Result res;
      int rc = get(geo.g, ip, &res.r);
      REQUIRE(merr == MMDB_SUCCESS);
      REQUIRE(rc == (m.found_entry ? 1 : 0));
      if (m.found_entry) {
        CHECK(res.r.offset == m.entry.offset);
        bool v4_in_v6 = mmdb.metadata.ip_version == 6 && ip.find(':') == std::string::npos;
        // A database without an IPv4 subtree has no IPv4 prefix (maxmind npm says 0).
        if (path.find("no-ipv4") == std::string::npos) CHECK(res.r.prefix_len == m.netmask - (v4_in_v6 ? 96 : 0));
      }
    }
    MMDB_close(&mmdb);
  }
}

TEST_CASE("geo: every bad-data file and damaged copy gives HP_ECORRUPT, never a crash") {
  std::vector<std::string> files;
  for (const char *sub : {"libmaxminddb", "maxminddb-golang", "maxminddb-python"}) {
    auto more = list_dir(hp_test::fixture(std::string("maxmind/bad-data/") + sub));
    files.insert(files.end(), more.begin(), more.end());
  }
  for (const char *name : {"MaxMind-DB-test-broken-pointers-24.mmdb", "MaxMind-DB-test-broken-search-tree-24.mmdb",
                           "GeoIP2-City-Test-Broken-Double-Format.mmdb", "GeoIP2-City-Test-Invalid-Node-Count.mmdb"})
    files.push_back(db_path(name));
  REQUIRE(files.size() >= 20);
  // Truncated and garbled copies of a valid database.
  std::string city = hp_test::read_file(db_path("GeoIP2-City-Test.mmdb"));
  char dir[] = "/tmp/hp_geo_bad_XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::mt19937 rng(7);
  std::vector<std::string> made;
  for (size_t cut : {size_t(0), size_t(1), size_t(100), city.size() / 2, city.size() - 100, city.size() - 1}) {
    std::string p = std::string(dir) + "/cut" + std::to_string(cut) + ".mmdb";
    FILE *f = fopen(p.c_str(), "wb");
    fwrite(city.data(), 1, cut, f);
    fclose(f);
    made.push_back(p);
  }
  for (int k = 0; k < 20; k++) {
    std::string g = city;
    for (int i = 0; i < 40; i++) g[rng() % g.size()] = static_cast<char>(rng());
    if (k == 0) g.assign(4096, '\x5a');
    std::string p = std::string(dir) + "/garbled" + std::to_string(k) + ".mmdb";
    FILE *f = fopen(p.c_str(), "wb");
    fwrite(g.data(), 1, g.size(), f);
    fclose(f);
    made.push_back(p);
  }
  files.insert(files.end(), made.begin(), made.end());
  int corrupt = 0;
  for (const std::string &path : files) {
    INFO(path);
    hp_geo *g = nullptr;
    int rc = hp_geo_open(&g, nullptr, path.c_str(), nullptr);
    if (rc != 0) {
      CHECK((rc == HP_ECORRUPT || rc == HP_EIO));
      CHECK(std::string(hp_last_error()).size() > 0);
      corrupt++;
      continue;
    }
    bool bad = false;
    for (int i = 0; i < 3000; i++) {
      std::string ip = random_ip(rng, i & 1);
      Result res;
      int r = get(g, ip, &res.r);
      CHECK((r == 0 || r == 1 || r == HP_ECORRUPT || r == HP_EINVAL || r == HP_EFAMILY));
      if (r == HP_ECORRUPT) bad = true;
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      r = hp_geo_lookup(&e, g, ip.data(), ip.size());
      CHECK((r == 0 || r == 1 || r == HP_ECORRUPT || r == HP_EINVAL || r == HP_EFAMILY));
    }
    if (bad) corrupt++;
    hp_geo_close(g, NULL, NULL);
  }
  for (auto &p : made) unlink(p.c_str());
  rmdir(dir);
  CHECK(corrupt >= 15);
}

TEST_CASE("geo: find_all searches every database of one snapshot, skipping IPv4-only ones for IPv6") {
  std::string v4path = db_path("MaxMind-DB-test-ipv4-24.mmdb");
  Geo geo = Geo::city_and(v4path);
  REQUIRE(hp_geo_count(geo.g) == 2);
  for (const char *ip : {"81.2.69.160", "1.1.1.1", "1.1.1.3", "10.0.0.1", "2001:218::1", "::1"}) {
    CAPTURE(ip);
    hp_geo_result all[2] = {HP_GEO_RESULT_INIT, HP_GEO_RESULT_INIT};
    int rc = hp_geo_find_all(all, 2, geo.g, ip, std::strlen(ip));
    REQUIRE(rc >= 0);
    bool any = false;
    for (size_t db = 0; db < 2; db++) {
      hp_geo_result one = HP_GEO_RESULT_INIT;
      int want = hp_geo_find(&one, geo.g, db, ip, std::strlen(ip));
      if (want == HP_EFAMILY) want = 0;  // skipped, as hp_geo_lookup merges
      REQUIRE(want >= 0);
      CHECK(all[db].found == want);
      CHECK(all[db].value == nullptr);
      if (want) CHECK((all[db].offset == one.offset && all[db].prefix_len == one.prefix_len));
      any |= want == 1;
    }
    CHECK(rc == (any ? 1 : 0));
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    CHECK(hp_geo_lookup(&e, geo.g, ip, std::strlen(ip)) == rc);
  }
  hp_geo_result small[1] = {HP_GEO_RESULT_INIT};
  CHECK(hp_geo_find_all(small, 1, geo.g, "1.1.1.1", 7) == HP_EINVAL);
  hp_geo_result two[2] = {HP_GEO_RESULT_INIT, HP_GEO_RESULT_INIT};
  CHECK(hp_geo_find_all(two, 2, geo.g, "1.2.3", 5) == HP_EINVAL);
  Geo v4(v4path);
  CHECK(hp_geo_find_all(two, 2, v4.g, "::1", 3) == HP_EFAMILY);
  CHECK(hp_geo_find_all(two, 2, v4.g, "1.1.1.1", 7) == 1);
}

TEST_CASE("geo: lookup merges City and ISP into one flat enrichment") {
  Geo geo = Geo::city_and(db_path("GeoIP2-ISP-Test.mmdb"));
  CHECK(hp_geo_count(geo.g) == 2);
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  REQUIRE(hp_geo_lookup(&e, geo.g, "81.2.69.160", 11) == 1);
  CHECK(std::string(e.str[HP_GEO_COUNTRY_CODE]) == "GB");
  CHECK(std::string(e.str[HP_GEO_COUNTRY_NAME]) == "United Kingdom");
  CHECK(std::string(e.str[HP_GEO_CITY]) == "London");
  CHECK(std::string(e.str[HP_GEO_CONTINENT_CODE]) == "EU");
  CHECK(std::string(e.str[HP_GEO_SUBDIVISION_CODE]) == "ENG");
  CHECK(std::string(e.str[HP_GEO_TIME_ZONE]) == "Europe/London");
  CHECK((e.flags & HP_GEO_HAS_LOCATION));
  CHECK(e.latitude == doctest::Approx(51.5142));
  CHECK(e.accuracy_radius == 100);
  CHECK(e.str[HP_GEO_POSTAL_CODE] == nullptr);
  CHECK(!(e.flags & HP_GEO_HAS_POSTAL_CODE));
  // 1.128.0.0/11 is in the ISP database only.
  REQUIRE(hp_geo_lookup(&e, geo.g, "1.128.0.1", 9) == 1);
  CHECK(e.str[HP_GEO_CITY] == nullptr);
  CHECK((e.flags & HP_GEO_HAS_ASN));
  CHECK(e.asn == 1221);
  CHECK(std::string(e.str[HP_GEO_ISP]) == "Telstra Internet");
  CHECK(std::string(e.str[HP_GEO_AS_ORG]) == "Telstra Pty Ltd");
}

TEST_CASE("geo: the writer builds a flat DB-IP style database that libmaxminddb and lookup read") {
  char path[] = "/tmp/hp_geo_writer_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  hp_geo_writer *w = nullptr;
  hp_geo_writer_options wo = HP_GEO_WRITER_OPTIONS_INIT;
  wo.ip_version = 4;
  wo.database_type = "dbip-city-lite";
  REQUIRE(hp_geo_writer_new(&w, &wo) == 0);
  auto s = [](const char *t) {
    hp_geo_value v{};
    v.type = HP_GEO_STRING;
    v.size = (uint32_t)strlen(t);
    v.v.str = t;
    return v;
  };
  auto f = [](double d) {
    hp_geo_value v{};
    v.type = HP_GEO_FLOAT;
    v.v.f64 = d;
    return v;
  };
  hp_geo_value kv[] = {s("city"),  s("Paris"),        s("country_code"), s("FR"),       s("latitude"),
                       f(48.5),    s("longitude"),    f(2.25),           s("postcode"), s("75001"),
                       s("state1"), s("Ile-de-France"), s("timezone"),   s("Europe/Paris")};
  hp_geo_value rec{};
  rec.type = HP_GEO_MAP;
  rec.size = 7;
  rec.v.items = kv;
  REQUIRE(hp_geo_writer_insert(w, "2.0.0.0/8", 9, &rec) == 0);
  kv[1] = s("Lyon");
  REQUIRE(hp_geo_writer_insert(w, "2.3.4.0/24", 10, &rec) == 0);
  CHECK(hp_geo_writer_insert(w, "::/8", 4, &rec) == HP_EFAMILY);
  CHECK(hp_geo_writer_insert(w, "2.0.0.0/0", 9, &rec) == HP_EINVAL);
  REQUIRE(hp_geo_writer_write(w, path) == 0);
  hp_geo_writer_free(w);

  MMDB_s mmdb;
  REQUIRE(MMDB_open(path, MMDB_MODE_MMAP, &mmdb) == MMDB_SUCCESS);
  int gai = 0, merr = 0;
  MMDB_lookup_result_s m = MMDB_lookup_string(&mmdb, "2.3.4.5", &gai, &merr);
  REQUIRE(m.found_entry);
  CHECK(m.netmask == 24);
  MMDB_entry_data_s data;
  REQUIRE(MMDB_get_value(&m.entry, &data, "city", NULL) == MMDB_SUCCESS);
  CHECK(std::string(data.utf8_string, data.data_size) == "Lyon");
  MMDB_close(&mmdb);

  Geo geo(path);
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  REQUIRE(hp_geo_lookup(&e, geo.g, "2.200.0.1", 9) == 1);
  CHECK(e.prefix_len == 9);  // 2.0.0.0/8 was split around 2.3.4.0/24
  CHECK(std::string(e.str[HP_GEO_CITY]) == "Paris");
  CHECK(std::string(e.str[HP_GEO_COUNTRY_CODE]) == "FR");
  CHECK(std::string(e.str[HP_GEO_SUBDIVISION_NAME]) == "Ile-de-France");
  CHECK(std::string(e.str[HP_GEO_POSTAL_CODE]) == "75001");
  CHECK(std::string(e.str[HP_GEO_TIME_ZONE]) == "Europe/Paris");
  CHECK(e.latitude == 48.5);
  CHECK(e.longitude == 2.25);
  CHECK(e.str[HP_GEO_COUNTRY_NAME] == nullptr);
  REQUIRE(hp_geo_lookup(&e, geo.g, "2.3.4.9", 7) == 1);
  CHECK(std::string(e.str[HP_GEO_CITY]) == "Lyon");
  CHECK(e.prefix_len == 24);
  CHECK(hp_geo_lookup(&e, geo.g, "3.0.0.1", 7) == 0);
  Result meta;
  REQUIRE(hp_geo_metadata(&meta.r, geo.g, 0) == 1);
  CHECK(str(at(meta.r.value, "database_type")) == "dbip-city-lite");
  unlink(path);
}

TEST_CASE("geo: lookups on many threads stay correct while the handle reloads") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      while (!stop.load()) {
        hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
        if (hp_geo_lookup(&e, geo.g, "81.2.69.160", 11) != 1 || strcmp(e.str[HP_GEO_CITY], "London") != 0)
          errors++;
        hp_geo_result r = HP_GEO_RESULT_INIT;
        if (hp_geo_get(&r, geo.g, 0, "2001:218::1", 11) != 1) errors++;
        hp_geo_result_clear(&r);
      }
    });
  for (int i = 0; i < 20; i++) REQUIRE(hp_geo_reload(geo.g) == 0);
  stop = true;
  for (auto &t : threads) t.join();
  CHECK(errors.load() == 0);
  CHECK(hp_geo_generation(geo.g) == 21);
}

TEST_CASE("geo: a result keeps its record alive across a reload") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  Result res;
  REQUIRE(get(geo.g, "81.2.69.160", &res.r) == 1);
  REQUIRE(hp_geo_reload(geo.g) == 0);
  CHECK(str(at(at(at(res.r.value, "city"), "names"), "en")) == "London");
  CHECK(res.r.generation == 1);
}

TEST_CASE("geo: open and close accept NULL and report a missing file as HP_EIO") {
  hp_geo_close(nullptr, NULL, NULL);
  hp_geo_result_clear(nullptr);
  hp_geo_writer_free(nullptr);
  hp_geo *g = nullptr;
  CHECK(hp_geo_open(&g, nullptr, "/nonexistent/x.mmdb", nullptr) == HP_EIO);
  CHECK(g == nullptr);
  CHECK(hp_geo_open(nullptr, nullptr, "x", nullptr) == HP_EINVAL);
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.watch_interval_ms = 10;
  CHECK(hp_geo_open(&g, nullptr, db_path("GeoIP2-City-Test.mmdb").c_str(), &o) == HP_EINVAL);
}

TEST_CASE("geo: every IPv4 table width and hp_geo_find_many agree with libmaxminddb") {
  std::mt19937 rng(777);
  for (const std::string &path : list_dir(hp_test::fixture("maxmind/test-data"))) {
    if (path.find("Broken") != std::string::npos || path.find("broken") != std::string::npos ||
        path.find("Invalid") != std::string::npos)
      continue;
    INFO(path);
    MMDB_s mmdb;
    REQUIRE(MMDB_open(path.c_str(), MMDB_MODE_MMAP, &mmdb) == MMDB_SUCCESS);
    // Random addresses plus every address of a few /24s where the test
    // databases keep networks from /24 down to /32.
    std::vector<std::string> ips;
    for (int i = 0; i < 1500; i++) ips.push_back(random_ip(rng, false));
    for (const char *net : {"1.1.1.", "81.2.69.", "2.125.160.", "216.160.83.", "67.43.156.", "89.160.20."})
      for (int h = 0; h < 256; h++) ips.push_back(net + std::to_string(h));
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (auto &ip : ips) {
      ptrs.push_back(ip.c_str());
      lens.push_back(ip.size());
    }
    for (unsigned bits : {16u, 20u, 24u}) {
      INFO("bits " << bits);
      hp_geo_options o = HP_GEO_OPTIONS_INIT;
      o.ipv4_index_bits = bits;
      Geo geo(path, &o);
      size_t records = hp_geo_record_count(geo.g, 0);
      std::vector<uint32_t> ids(ips.size());
      uint64_t gen = 0;
      size_t failed = 99;
      REQUIRE(hp_geo_find_many(ids.data(), &gen, &failed, geo.g, 0, ptrs.data(), lens.data(), ips.size(),
                               0) == int(ips.size()));
      CHECK(gen == 1);
      std::vector<int64_t> offset_of(records, -1);
      for (size_t i = 0; i < ips.size(); i++) {
        int gai = 0, merr = 0;
        MMDB_lookup_result_s m = MMDB_lookup_string(&mmdb, ips[i].c_str(), &gai, &merr);
        Result res;
        int rc = get(geo.g, ips[i], &res.r);
        REQUIRE(rc == (m.found_entry ? 1 : 0));
        if (!m.found_entry) {
          CHECK(ids[i] == HP_GEO_NO_RECORD_ID);
          continue;
        }
        CHECK(res.r.offset == m.entry.offset);
        bool v4_in_v6 = mmdb.metadata.ip_version == 6;
        if (path.find("no-ipv4") == std::string::npos) CHECK(res.r.prefix_len == m.netmask - (v4_in_v6 ? 96 : 0));
        REQUIRE(res.r.record_id < records);
        CHECK(ids[i] == res.r.record_id);
        // One id, one record.
        if (offset_of[res.r.record_id] < 0) offset_of[res.r.record_id] = res.r.offset;
        CHECK(offset_of[res.r.record_id] == int64_t(res.r.offset));
      }
    }
    MMDB_close(&mmdb);
  }
}

TEST_CASE("geo: find_many reports the first bad address; options version 1 and bad widths") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  const char *ips[] = {"81.2.69.160", "::1", "nope", "1.2.3.4"};
  size_t lens[] = {11, 3, 4, 7};
  uint32_t ids[4];
  size_t failed = 0;
  CHECK(hp_geo_find_many(ids, nullptr, &failed, geo.g, 0, ips, lens, 4, 0) == HP_EINVAL);
  CHECK(failed == 2);
  CHECK(std::string(hp_last_error()).find("'nope'") != std::string::npos);
  CHECK(hp_geo_find_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 2, 0) == 2);
  CHECK(ids[0] != HP_GEO_NO_RECORD_ID);
  CHECK(hp_geo_find_many(ids, nullptr, nullptr, geo.g, 5, ips, lens, 2, 0) == HP_EINVAL);
  CHECK(hp_geo_find_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 0, 0) == 0);
  CHECK(hp_geo_find_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 2, 2) == HP_EINVAL);  // unknown flag
  // Coerced, a bad address is a row without a record and the rest is found.
  uint32_t want = ids[0];
  REQUIRE(hp_geo_find_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 4, HP_GEO_SKIP_INVALID) == 4);
  CHECK((ids[0] == want && ids[2] == HP_GEO_NO_RECORD_ID));
  hp_geo_result r3 = HP_GEO_RESULT_INIT;
  CHECK(hp_geo_find(&r3, geo.g, 0, ips[3], lens[3]) == (ids[3] == HP_GEO_NO_RECORD_ID ? 0 : 1));

  hp_geo *g = nullptr;
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.ipv4_index_bits = 12;
  CHECK(hp_geo_open(&g, nullptr, db_path("GeoIP2-City-Test.mmdb").c_str(), &o) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("ipv4_index_bits") != std::string::npos);
  o.version = 1;  // a version 1 struct has no ipv4_index_bits: the 12 is not read
  REQUIRE(hp_geo_open(&g, nullptr, db_path("GeoIP2-City-Test.mmdb").c_str(), &o) == 0);
  CHECK(hp_geo_record_count(g, 0) > 0);
  CHECK(hp_geo_record_count(g, 1) == 0);
  hp_geo_close(g, NULL, NULL);
}

TEST_CASE("geo writer: a network with a NUL in it is refused, not cut at the NUL") {
  hp_geo_writer *w = nullptr;
  REQUIRE(hp_geo_writer_new(&w, nullptr) == 0);
  hp_geo_value v{};
  v.type = HP_GEO_STRING;
  v.size = 1;
  v.v.str = "x";
  static const char net[] = "10.0.0.0\0junk/7";
  CHECK(hp_geo_writer_insert(w, net, sizeof net - 1, &v) == HP_EINVAL);
  CHECK(hp_geo_writer_insert(w, "10.0.0.0/7", 10, &v) == 0);
  hp_geo_writer_free(w);
}

TEST_CASE("geo: a missing or unreadable file keeps its errno, call and path") {
  hp_geo *g = nullptr;
  const char *syscall = nullptr;
  const char *path = nullptr;
  REQUIRE(hp_geo_open(&g, nullptr, "/nonexistent/x.mmdb", nullptr) == HP_EIO);
  CHECK(hp_last_errno(&syscall, &path) == ENOENT);
  CHECK(std::string(syscall) == "open");
  CHECK(std::string(path) == "/nonexistent/x.mmdb");
  CHECK(hp_last_errno(nullptr, nullptr) == ENOENT);
  REQUIRE(hp_geo_open(&g, nullptr, "/tmp", nullptr) == HP_EIO);
  CHECK(hp_last_errno(&syscall, &path) == EISDIR);
  CHECK(std::string(path) == "/tmp");
  // A failure without a system cause clears it.
  REQUIRE(hp_geo_open(&g, nullptr, db_path("../LICENSE-MIT").c_str(), nullptr) == HP_ECORRUPT);
  CHECK(hp_last_errno(&syscall, &path) == 0);
  CHECK(std::string(syscall).empty());
  CHECK(std::string(path).empty());
}

namespace {
std::vector<uint8_t> read_file(const std::string &path) {
  std::vector<uint8_t> out;
  FILE *f = std::fopen(path.c_str(), "rb");
  REQUIRE(f);
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}
}  // namespace

TEST_CASE("geo: a database opened from memory is a copy and gives the file's records") {
  std::vector<uint8_t> bytes = read_file(db_path("GeoIP2-City-Test.mmdb"));
  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open_buffer(&g, bytes.data(), bytes.size(), "<memory>", nullptr) == 0);
  std::fill(bytes.begin(), bytes.end(), 0);  // copied: changing the caller's bytes changes nothing
  Geo file(db_path("GeoIP2-City-Test.mmdb"));
  for (const char *ip : {"81.2.69.160", "175.16.199.1", "2a02:cf40::1", "1.1.1.1"}) {
    Result a, b;
    CHECK(get(g, ip, &a.r) == get(file.g, ip, &b.r));
    CHECK(a.r.offset == b.r.offset);
    CHECK(a.r.prefix_len == b.r.prefix_len);
  }
  CHECK(hp_geo_reload(g) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("memory") != std::string::npos);
  hp_geo_close(g, NULL, NULL);

  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.watch_interval_ms = 10;
  CHECK(hp_geo_open_buffer(&g, "x", 1, "<memory>", &o) == HP_EINVAL);
  CHECK(hp_geo_open_buffer(&g, nullptr, 3, "<memory>", nullptr) == HP_EINVAL);
  CHECK(hp_geo_open_buffer(&g, "not a database", 14, "<memory>", nullptr) == HP_ECORRUPT);
  CHECK(std::string(hp_last_error()).find("<memory>") != std::string::npos);
  CHECK(hp_geo_open_buffer(&g, nullptr, 0, "<memory>", nullptr) == HP_ECORRUPT);
  CHECK(g == nullptr);
}

TEST_CASE("geo: metadata errors name the bad value; an empty search tree opens and finds nothing") {
  std::vector<uint8_t> bytes = read_file(db_path("MaxMind-DB-test-ipv4-24.mmdb"));
  auto replace = [&](std::vector<uint8_t> data, const std::string &from, const std::string &to) {
    auto it = std::search(data.begin(), data.end(), from.begin(), from.end(),
                          [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
    REQUIRE(it != data.end());
    size_t at = static_cast<size_t>(it - data.begin());
    data.erase(data.begin() + at, data.begin() + at + from.size());
    data.insert(data.begin() + at, to.begin(), to.end());
    return data;
  };
  hp_geo *g = nullptr;
  auto bad = replace(bytes, std::string("record_size\xa1\x18", 13), std::string("record_size\xa1\x1e", 13));
  CHECK(hp_geo_open_buffer(&g, bad.data(), bad.size(), "m", nullptr) == HP_ECORRUPT);
  CHECK(std::string(hp_last_error()).find("Unknown record size: 30") != std::string::npos);
  bad = replace(bytes, std::string("node_count\xc1\xa3", 12), std::string("node_count\x04\x01\xff\xff\xff\xff", 16));
  CHECK(hp_geo_open_buffer(&g, bad.data(), bad.size(), "m", nullptr) == HP_ECORRUPT);
  CHECK(std::string(hp_last_error()).find("Invalid node count: -1") != std::string::npos);
  auto empty = replace(bytes, std::string("node_count\xc1\xa3", 12), std::string("node_count\xc0", 11));
  REQUIRE(hp_geo_open_buffer(&g, empty.data(), empty.size(), "m", nullptr) == 0);
  Result r;
  CHECK(get(g, "1.1.1.1", &r.r) == 0);
  hp_geo_iter *it = nullptr;
  REQUIRE(hp_geo_iter_new(&it, g, 0) == 0);
  uint8_t addr[16];
  size_t len = 0;
  CHECK(hp_geo_iter_next(&r.r, addr, &len, it) == 0);
  hp_geo_iter_free(it);
  hp_geo_close(g, NULL, NULL);
}

TEST_CASE("geo: a walk lists every network with its record, IPv4 once in an IPv6 database") {
  auto walk = [](const std::string &name) {
    Geo geo(db_path(name));
    hp_geo_iter *it = nullptr;
    REQUIRE(hp_geo_iter_new(&it, geo.g, 0) == 0);
    hp_geo_iter *none = nullptr;
    CHECK(hp_geo_iter_new(&none, geo.g, 1) == HP_EINVAL);
    CHECK(none == nullptr);
    std::vector<std::string> nets;
    Result r;
    uint8_t a[16];
    size_t len = 0;
    int rc;
    while ((rc = hp_geo_iter_next(&r.r, a, &len, it)) == 1) {
      char text[64];
      inet_ntop(len == 4 ? AF_INET : AF_INET6, a, text, sizeof text);
      nets.push_back(std::string(text) + "/" + std::to_string(r.r.prefix_len));
      // The record is the one a lookup of the network's address gives.
      Result same;
      REQUIRE(hp_geo_get_bytes(&same.r, geo.g, 0, a, len) == 1);
      CHECK(same.r.offset == r.r.offset);
      REQUIRE(r.r.value != nullptr);
    }
    CHECK(rc == 0);
    hp_geo_close(geo.g, NULL, NULL);  // the walk holds its snapshot
    geo.g = nullptr;
    CHECK(hp_geo_iter_next(&r.r, a, &len, it) == 0);
    hp_geo_iter_free(it);
    hp_geo_iter_free(nullptr);
    return nets;
  };
  CHECK(walk("MaxMind-DB-test-ipv4-24.mmdb") ==
        std::vector<std::string>{"1.1.1.1/32", "1.1.1.2/31", "1.1.1.4/30", "1.1.1.8/29", "1.1.1.16/28", "1.1.1.32/32"});
  CHECK(walk("MaxMind-DB-test-mixed-28.mmdb") ==
        std::vector<std::string>{"::1.1.1.1/128", "::1.1.1.2/127", "::1.1.1.4/126", "::1.1.1.8/125", "::1.1.1.16/124",
                                 "::1.1.1.32/128", "::1:ffff:ffff/128", "::2:0:0/122", "::2:0:40/124", "::2:0:50/125",
                                 "::2:0:58/127"});
  CHECK(walk("GeoIP2-City-Test.mmdb").size() > 100);
}

TEST_CASE("geo: open, open_buffer and open_async read options of every version and refuse unknown ones") {
  std::string path = db_path("GeoIP2-City-Test.mmdb");
  std::string bytes = hp_test::read_file(path);
  for (unsigned v : {1u, 2u, 3u}) {
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.version = v;
    hp_geo *g = nullptr;
    CHECK(hp_geo_open(&g, nullptr, path.c_str(), &o) == 0);
    hp_geo_close(g, NULL, NULL);
    g = nullptr;
    CHECK(hp_geo_open_buffer(&g, bytes.data(), bytes.size(), "<memory>", &o) == 0);
    hp_geo_close(g, NULL, NULL);
  }
  hp_geo_options bad = HP_GEO_OPTIONS_INIT;
  bad.version = HP_GEO_OPTIONS_VERSION + 1;
  hp_geo *g = nullptr;
  CHECK(hp_geo_open(&g, nullptr, path.c_str(), &bad) == HP_EINVAL);
  CHECK(hp_geo_open_buffer(&g, bytes.data(), bytes.size(), "<memory>", &bad) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("geo_open_buffer: unknown options version") != std::string::npos);
}

namespace {

// An enrichment as text, every field and number, for comparing two lookups.
std::string describe(int rc, const hp_geo_enrichment &e) {
  std::string s =
      std::to_string(rc) + " flags=" + std::to_string(e.flags) + " prefix=" + std::to_string(e.prefix_len);
  for (int i = 0; i < HP_GEO_STRING_FIELDS; i++) s += e.str[i] ? std::string(" [") + e.str[i] + "]" : " -";
  if (e.flags & HP_GEO_HAS_LOCATION)
    s += " " + std::to_string(e.latitude) + "," + std::to_string(e.longitude);
  if (e.flags & HP_GEO_HAS_ACCURACY_RADIUS) s += " r" + std::to_string(e.accuracy_radius);
  if (e.flags & HP_GEO_HAS_ASN) s += " as" + std::to_string(e.asn);
  return s;
}

}  // namespace

TEST_CASE("geo: lookups from the packed record cache equal lookups packed per call, on every test database") {
  std::mt19937 rng(7);
  hp_geo_options none = HP_GEO_OPTIONS_INIT;
  none.cache_bytes = 1;  // nothing fits: every lookup decodes and packs anew
  int compared = 0;
  for (const std::string &path : list_dir(hp_test::fixture("maxmind/test-data"))) {
    hp_geo *cached = nullptr, *uncached = nullptr;
    if (hp_geo_open(&cached, nullptr, path.c_str(), nullptr) != 0) continue;
    REQUIRE(hp_geo_open(&uncached, nullptr, path.c_str(), &none) == 0);
    for (int i = 0; i < 600; i++) {
      std::string ip = random_ip(rng, i % 3 == 0);
      for (int pass = 0; pass < 2; pass++) {  // the second pass reads the cache
        hp_geo_enrichment a = HP_GEO_ENRICHMENT_INIT, b = HP_GEO_ENRICHMENT_INIT;
        int ra = hp_geo_lookup(&a, cached, ip.data(), ip.size());
        int rb = hp_geo_lookup(&b, uncached, ip.data(), ip.size());
        if (ra < 0 && rb < 0) continue;
        INFO(path, " ", ip);
        CHECK(describe(ra, a) == describe(rb, b));
        compared += ra == 1;
      }
    }
    hp_geo_close(cached, nullptr, nullptr);
    hp_geo_close(uncached, nullptr, nullptr);
  }
  CHECK(compared > 1000);
}

TEST_CASE("geo: merged strings past the enrichment buffer are left out field by field, in field order") {
  char path1[] = "/tmp/hp_geo_long1_XXXXXX", path2[] = "/tmp/hp_geo_long2_XXXXXX";
  for (char *p : {path1, path2}) {
    int fd = mkstemp(p);
    REQUIRE(fd >= 0);
    close(fd);
  }
  std::string city(400, 'c'), state(300, 's'), org(500, 'o'), org1(500, 'p'), isp(200, 'i');
  auto s = [](const std::string &t) {
    hp_geo_value v{};
    v.type = HP_GEO_STRING;
    v.size = (uint32_t)t.size();
    v.v.str = t.data();
    return v;
  };
  auto write = [&](const char *path, std::vector<hp_geo_value> kv) {
    hp_geo_writer *w = nullptr;
    hp_geo_writer_options wo = HP_GEO_WRITER_OPTIONS_INIT;
    wo.ip_version = 4;
    REQUIRE(hp_geo_writer_new(&w, &wo) == 0);
    hp_geo_value rec{};
    rec.type = HP_GEO_MAP;
    rec.size = (uint32_t)kv.size() / 2;
    rec.v.items = kv.data();
    REQUIRE(hp_geo_writer_insert(w, "2.0.0.0/8", 9, &rec) == 0);
    REQUIRE(hp_geo_writer_write(w, path) == 0);
    hp_geo_writer_free(w);
  };
  std::string k_city = "city", k_state = "state1", k_cc = "country_code", fr = "FR", k_org = "organization",
              k_isp = "isp";
  write(path1, {s(k_cc), s(fr), s(k_state), s(state), s(k_city), s(city), s(k_org), s(org1)});
  write(path2, {s(k_org), s(org), s(k_isp), s(isp), s(k_city), s(std::string("other"))});
  const char *extra[] = {path2};
  for (size_t cache : {size_t(0), size_t(1)}) {
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.extra_paths = extra;
    o.extra_count = 1;
    o.cache_bytes = cache;
    Geo geo(path1, &o);
    for (int pass = 0; pass < 2; pass++) {
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      REQUIRE(hp_geo_lookup(&e, geo.g, "2.1.2.3", 7) == 1);
      // Of the first file, 3 + 301 + 401 bytes fit and its organization (501)
      // does not; of the second, isp (201) fits, its organization does not
      // either, and its city is already set.
      CHECK(std::string(e.str[HP_GEO_COUNTRY_CODE]) == "FR");
      CHECK(std::string(e.str[HP_GEO_SUBDIVISION_NAME]) == state);
      CHECK(std::string(e.str[HP_GEO_CITY]) == city);
      CHECK(std::string(e.str[HP_GEO_ISP]) == isp);
      CHECK(e.str[HP_GEO_ORG] == nullptr);
      CHECK(!(e.flags & HP_GEO_HAS_ORG));
      CHECK((e.flags & HP_GEO_HAS_ISP));
    }
  }
  unlink(path1);
  unlink(path2);
}

namespace {

// What hp_geo_lookup_many handed over: the records by id, and how often
// each id came.
struct Records {
  std::map<uint32_t, std::vector<std::string>> by_id;
  std::map<uint32_t, int> calls;
  int fail_after = -1;  // >= 0: HP_ENOMEM once this many records came
  static std::vector<std::string> fields(const hp_geo_enrichment *e) {
    std::vector<std::string> f;
    for (int i = 0; i < HP_GEO_STRING_FIELDS; i++) f.push_back(e->str[i] ? e->str[i] : "(none)");
    f.push_back(e->flags & HP_GEO_HAS_LOCATION ? std::to_string(e->latitude) + "," + std::to_string(e->longitude)
                                               : "(none)");
    f.push_back(e->flags & HP_GEO_HAS_ASN ? std::to_string(e->asn) : "(none)");
    return f;
  }
  std::map<uint32_t, int> asked;
  // Asked first: wants only the records it has not got yet.
  static int cb(const hp_geo_enrichment *e, uint32_t id, size_t, void *data) {
    auto *r = static_cast<Records *>(data);
    if (!e) {
      r->asked[id]++;
      return r->by_id.count(id) ? 0 : 1;
    }
    if (r->fail_after >= 0 && int(r->by_id.size()) >= r->fail_after) return HP_ENOMEM;
    r->calls[id]++;
    r->by_id[id] = fields(e);
    return 0;
  }
};

}  // namespace

TEST_CASE("geo: lookup_many hands over each distinct record once, as hp_geo_lookup gives it") {
  for (const char *name : {"GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb", "GeoIP2-Country-Test.mmdb"}) {
    INFO(name);
    Geo geo(db_path(name));
    std::vector<std::string> ips;
    for (const char *net : {"81.2.69.", "2.125.160.", "216.160.83.", "89.160.20.", "1.128.0."})
      for (int h = 0; h < 256; h += 3) ips.push_back(net + std::to_string(h));
    ips.push_back("2001:218::1");
    ips.push_back("81.2.69.160");  // again: no second call for its record
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (auto &ip : ips) {
      ptrs.push_back(ip.c_str());
      lens.push_back(ip.size());
    }
    std::vector<uint32_t> ids(ips.size());
    uint64_t gen = 0;
    Records got;
    REQUIRE(hp_geo_lookup_many(ids.data(), &gen, nullptr, geo.g, 0, ptrs.data(), lens.data(), ips.size(), 0,
                               &Records::cb, &got) == int(ips.size()));
    CHECK(gen == hp_geo_generation(geo.g));
    size_t found = 0;
    for (size_t i = 0; i < ips.size(); i++) {
      INFO(ips[i]);
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      int rc = hp_geo_lookup(&e, geo.g, ips[i].data(), ips[i].size());
      REQUIRE(rc >= 0);
      if (rc == 0) {
        CHECK(ids[i] == HP_GEO_NO_RECORD_ID);
        continue;
      }
      found++;
      REQUIRE(got.by_id.count(ids[i]) == 1);
      CHECK(got.by_id[ids[i]] == Records::fields(&e));
    }
    CHECK(found > 0);
    for (auto &kv : got.calls) CHECK(kv.second == 1);
    // Again: asked about each record once more, handed none it has.
    REQUIRE(hp_geo_lookup_many(ids.data(), &gen, nullptr, geo.g, 0, ptrs.data(), lens.data(), ips.size(), 0,
                               &Records::cb, &got) == int(ips.size()));
    for (auto &kv : got.calls) CHECK(kv.second == 1);
    for (auto &kv : got.asked) CHECK(kv.second == 2);
    CHECK(got.asked.size() == got.calls.size());
  }
}

TEST_CASE("geo: lookup_many errors: bad addresses, a callback that stops, NULL arguments") {
  Geo geo(db_path("GeoIP2-City-Test.mmdb"));
  const char *ips[] = {"81.2.69.160", "2.125.160.216", "nope", "89.160.20.112"};
  size_t lens[] = {11, 13, 4, 13};
  uint32_t ids[4];
  size_t failed = 99;
  Records got;
  CHECK(hp_geo_lookup_many(ids, nullptr, &failed, geo.g, 0, ips, lens, 4, 0, &Records::cb, &got) == HP_EINVAL);
  CHECK(failed == 2);
  CHECK(got.by_id.empty());  // the tree walk fails before any record is made
  REQUIRE(hp_geo_lookup_many(ids, nullptr, &failed, geo.g, 0, ips, lens, 4, HP_GEO_SKIP_INVALID, &Records::cb,
                             &got) == 4);
  CHECK(ids[2] == HP_GEO_NO_RECORD_ID);
  CHECK(got.by_id.size() == 3);
  Records stops;
  stops.fail_after = 1;
  CHECK(hp_geo_lookup_many(ids, nullptr, &failed, geo.g, 0, ips, lens, 2, 0, &Records::cb, &stops) == HP_ENOMEM);
  CHECK(failed == 1);
  CHECK(std::string(hp_last_error()).find("callback") != std::string::npos);
  CHECK(hp_geo_lookup_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 2, 0, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_geo_lookup_many(ids, nullptr, nullptr, nullptr, 0, ips, lens, 2, 0, &Records::cb, &got) == HP_EINVAL);
  CHECK(hp_geo_lookup_many(ids, nullptr, nullptr, geo.g, 3, ips, lens, 2, 0, &Records::cb, &got) == HP_EINVAL);
  CHECK(hp_geo_lookup_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 0, 0, &Records::cb, &got) == 0);
}

TEST_CASE("geo: lookup_many's ids and records come from one snapshot while the file is replaced") {
  // Two files that give 81.2.69.160 different records: each batch must see
  // one of them, never ids of one and records of the other.
  char dir[] = "/tmp/hp_geo_many_XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string path = std::string(dir) + "/swap.mmdb";
  std::string a = hp_test::read_file(db_path("GeoIP2-City-Test.mmdb"));
  std::string b = hp_test::read_file(db_path("GeoIP2-Country-Test.mmdb"));
  auto copy = [&](const std::string &bytes) {
    std::string tmp = path + ".tmp";
    FILE *out = fopen(tmp.c_str(), "wb");
    REQUIRE(out);
    REQUIRE(fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size());
    fclose(out);
    REQUIRE(rename(tmp.c_str(), path.c_str()) == 0);
  };
  copy(a);
  Geo geo(path);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, batches{0};
  std::thread reader([&] {
    const char *ips[] = {"81.2.69.160", "81.2.69.160", "2.125.160.216"};
    size_t lens[] = {11, 11, 13};
    while (!stop.load()) {
      uint32_t ids[3];
      Records got;
      if (hp_geo_lookup_many(ids, nullptr, nullptr, geo.g, 0, ips, lens, 3, 0, &Records::cb, &got) != 3) {
        wrong++;
        continue;
      }
      // Both files put these addresses in GB; an id of one file read in
      // the other would give another record (or none).
      auto r0 = got.by_id.find(ids[0]), r2 = got.by_id.find(ids[2]);
      if (r0 == got.by_id.end() || r2 == got.by_id.end() || ids[0] != ids[1] ||
          r0->second[HP_GEO_COUNTRY_CODE] != "GB" || r2->second[HP_GEO_COUNTRY_CODE] != "GB")
        wrong++;
      batches++;
    }
  });
  for (int i = 0; i < 30; i++) {
    copy(i % 2 ? a : b);
    REQUIRE(hp_geo_reload(geo.g) == 0);
  }
  stop = true;
  reader.join();
  CHECK(wrong.load() == 0);
  CHECK(batches.load() > 0);
  unlink(path.c_str());
  rmdir(dir);
}
