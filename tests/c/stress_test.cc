// Stress: each subsystem's shared state driven from several threads at
// once, through the public C API. Written for the ThreadSanitizer build
// (make test-tsan), which reports any unsynchronised access they reach, and
// run in every other build too; each test also checks what the calls
// answered. Counts stay small: TSan runs them several times slower.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"
#include "support/redis_server.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-stress-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string &name) const { return (path / name).string(); }
};

// An engine on its own loop thread.
struct OwnedEngine {
  hp_engine *e = nullptr;
  OwnedEngine() { REQUIRE(hp_engine_new(&e, nullptr) == 0); }
  ~OwnedEngine() { CHECK(hp_engine_free(e) == 0); }
};

// Counts callbacks from the loop thread; waits for a number of them.
struct Calls {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int failed = 0;
  int last_error = 0;
  void done(int status) {
    std::lock_guard<std::mutex> lock(mu);
    calls++;
    if (status < 0) {
      failed++;
      last_error = status;
    }
    cv.notify_all();
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  bool wait(int n, int ms = 60000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return calls >= n; });
  }
  static void cb(int status, void *data) { static_cast<Calls *>(data)->done(status); }
};

// Closes a handle with its hp_*_close(h, cb, data) and waits for cb.
template <class H>
void close_wait(int (*close)(H *, hp_close_cb, void *), H *h) {
  Calls closed;
  CHECK(close(h, &Calls::cb, &closed) == 0);
  CHECK(closed.wait(1));
  CHECK(closed.failed == 0);
}

// Runs fn(t) on `n` threads at once and joins them.
void on_threads(int n, const std::function<void(int)> &fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n; t++) threads.emplace_back(fn, t);
  for (auto &th : threads) th.join();
}

void write_file(const std::string &path, const std::string &data) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << data;
  fs::rename(tmp, path);
}

}  // namespace

// ------------------------------------------------------------------- geo

TEST_CASE("stress: geo lookups on several threads while two threads reload") {
  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open(&g, nullptr, hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb").c_str(), nullptr) ==
          0);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<long> lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++)
    readers.emplace_back([&] {
      const char *ips[] = {"81.2.69.160", "2001:218::1", "1.2.3.4"};
      size_t lens[] = {11, 11, 7};
      while (!stop.load()) {
        hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
        if (hp_geo_lookup(&e, g, ips[0], lens[0]) != 1 || strcmp(e.str[HP_GEO_CITY], "London") != 0) wrong++;
        uint32_t ids[3];
        uint64_t gen = 0;
        size_t failed = 0;
        if (hp_geo_find_many(ids, &gen, &failed, g, 0, ips, lens, 3, 0) < 0 || gen == 0) wrong++;
        lookups++;
      }
    });
  on_threads(2, [&](int) {
    for (int i = 0; i < 10; i++) CHECK(hp_geo_reload(g) == 0);
  });
  stop = true;
  for (auto &th : readers) th.join();
  CHECK(wrong.load() == 0);
  CHECK(lookups.load() > 0);
  CHECK(hp_geo_generation(g) == 21);
  close_wait(hp_geo_close, g);
}

TEST_CASE("stress: a watched geo file replaced while threads look up reloads on the loop each time") {
  TempDir dir;
  std::string path = dir.file("city.mmdb");
  std::string city = hp_test::read_file(hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb"));
  std::string country = hp_test::read_file(hp_test::fixture("maxmind/test-data/GeoIP2-Country-Test.mmdb"));
  REQUIRE(!city.empty());
  REQUIRE(!country.empty());
  write_file(path, city);
  OwnedEngine eng;
  Calls reloads;
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.watch_interval_ms = 5;
  o.on_reload = &Calls::cb;
  o.on_reload_data = &reloads;
  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open(&g, eng.e, path.c_str(), &o) == 0);
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; t++)
    readers.emplace_back([&] {
      while (!stop.load()) {
        // Either file: London's record has its country; only the City file
        // has the city.
        hp_geo_result r = HP_GEO_RESULT_INIT;
        if (hp_geo_get(&r, g, 0, "81.2.69.160", 11) != 1 || !r.value) wrong++;
        hp_geo_result_clear(&r);
        hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
        if (hp_geo_lookup(&e, g, "81.2.69.160", 11) != 1 || strcmp(e.str[HP_GEO_COUNTRY_CODE], "GB") != 0) wrong++;
      }
    });
  // The watch takes its first look at the file on the loop, soon after the
  // open: a replacement before that is its starting point, so one that
  // brings no reload is made again.
  const int kSwaps = 6;
  bool reloaded = true;
  for (int i = 1; i <= kSwaps && reloaded; i++) {
    int before = reloads.count();
    reloaded = false;
    for (int attempt = 0; attempt < 20 && !reloaded; attempt++) {
      write_file(path, i % 2 ? country : city);
      reloaded = reloads.wait(before + 1, 1000);
    }
  }
  stop = true;
  for (auto &th : readers) th.join();
  CHECK(reloaded);
  CHECK(wrong.load() == 0);
  CHECK(reloads.failed == 0);
  CHECK(hp_geo_generation(g) >= 1 + kSwaps);
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  REQUIRE(hp_geo_lookup(&e, g, "81.2.69.160", 11) == 1);
  CHECK(std::string(e.str[HP_GEO_CITY]) == "London");  // the City file is back
  close_wait(hp_geo_close, g);
}

// --------------------------------------------------------------- recipes

namespace {

std::string offers(int n, int gen) {
  std::string s = "[";
  for (int i = 1; i <= n; i++) {
    if (i > 1) s += ",";
    s += "{\"offerId\":" + std::to_string(i) + ",\"gen\":" + std::to_string(gen) + "}";
  }
  return s + "]";
}

struct LoadDone {
  Calls calls;
  static void cb(int status, const hp_recipes_stats *, void *data) { static_cast<LoadDone *>(data)->calls.done(status); }
};

}  // namespace

TEST_CASE("stress: recipe loads from two threads and point updates while readers get every key") {
  TempDir dir;
  OwnedEngine eng;
  hp_recipes *set = nullptr;
  REQUIRE(hp_recipes_open(&set, eng.e) == 0);
  hp_recipe_table_options to = HP_RECIPE_TABLE_OPTIONS_INIT;
  to.key_field = "offerId";
  to.update_type = "offer";
  hp_recipe_table *t = nullptr;
  REQUIRE(hp_recipes_define(&t, set, "offers", &to) == 0);
  const int kRecords = 200;
  for (int g = 0; g < 4; g++) write_file(dir.file("o" + std::to_string(g) + ".json"), offers(kRecords, g));
  LoadDone first;
  REQUIRE(hp_recipes_load(t, dir.file("o0.json").c_str(), nullptr, &LoadDone::cb, &first) == 0);
  REQUIRE(first.calls.wait(1));
  REQUIRE(first.calls.failed == 0);

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; r++)
    readers.emplace_back([&, r] {
      char buf[256];
      for (int id = 1 + r; !stop.load(); id = id % kRecords + 1) {
        hp_recipe_key k = {nullptr, 0, id};
        hp_recipe rec = HP_RECIPE_INIT;
        rec.buf = buf;
        rec.cap = sizeof buf;
        std::string want = "{\"offerId\":" + std::to_string(id) + ",\"gen\":";
        if (hp_recipes_get(&rec, t, &k) != 1 || std::string(buf, rec.len).rfind(want, 0) != 0) wrong++;
        reads++;
      }
    });
  LoadDone loads;
  on_threads(2, [&](int th) {
    for (int i = 0; i < 6; i++) {
      std::string file = dir.file("o" + std::to_string((th + i) % 4) + ".json");
      CHECK(hp_recipes_load(t, file.c_str(), nullptr, &LoadDone::cb, &loads) == 0);
      std::string msg = R"({"type":"offer","id":)" + std::to_string(1 + (th * 6 + i) % kRecords) +
                        R"(,"action":"updateOrCreate","timestamp":)" + std::to_string(4102444800000 + th * 6 + i) +
                        R"(,"body":"{\"offerId\":)" + std::to_string(1 + (th * 6 + i) % kRecords) +
                        R"(,\"gen\":9}"})";
      CHECK(hp_recipes_update(set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);
    }
  });
  bool loaded = loads.calls.wait(12);
  stop = true;
  for (auto &th : readers) th.join();
  CHECK(loaded);
  CHECK(loads.calls.failed == 0);
  CHECK(wrong.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(hp_recipes_size(t) == static_cast<uint64_t>(kRecords));
  close_wait(hp_recipes_close, set);
}

// ---------------------------------------------------------------- limits

namespace {

hp_rate_spec per_hour(uint32_t n) {
  hp_rate_spec s = HP_RATE_SPEC_INIT;
  s.rate = n;
  s.period_ms = 3600000;
  s.burst = n;
  return s;
}

struct RateCalls {
  Calls calls;
  std::atomic<int> allowed{0};
  static void cb(int status, const hp_rate_result *r, void *data) {
    auto *rc = static_cast<RateCalls *>(data);
    if (status == 0 && r->allowed) rc->allowed++;
    rc->calls.done(status);
  }
};

struct LeaseCalls {
  Calls calls;
  std::atomic<int> granted{0};
  static void cb(int status, const hp_lease_result *r, void *data) {
    auto *lc = static_cast<LeaseCalls *>(data);
    if (status == 0 && r->status == HP_LEASE_GRANTED) lc->granted++;
    lc->calls.done(status);
  }
};

// 4 threads hit one key 40 times each, half through the synchronous call
// and half through the asynchronous one, and take leases on one subject
// (limit 5) with distinct resources: exactly the burst and the limit are
// granted.
void contend(hp_limiter *l, bool sync_too) {
  const uint32_t kBurst = 60;
  hp_rate_spec spec = per_hour(kBurst);
  RateCalls hits;
  LeaseCalls leases;
  std::atomic<int> sync_allowed{0}, sync_granted{0}, sync_errors{0};
  int async_calls = 0;
  std::mutex mu;
  on_threads(4, [&](int t) {
    int mine = 0;
    for (int i = 0; i < 40; i++) {
      std::string res = "r" + std::to_string(t) + "-" + std::to_string(i);
      if (sync_too && i % 2) {
        hp_rate_result r = HP_RATE_RESULT_INIT;
        if (hp_limiter_hit(&r, l, "stress-rate", &spec) != 0)
          sync_errors++;
        else if (r.allowed)
          sync_allowed++;
        hp_lease_result lr = HP_LEASE_RESULT_INIT;
        if (hp_limiter_acquire(&lr, l, "stress-lease", res.c_str(), 5, 60000, nullptr) != 0)
          sync_errors++;
        else if (lr.status == HP_LEASE_GRANTED)
          sync_granted++;
        hp_lease_list_free(lr.holders);
      } else {
        CHECK(hp_limiter_hit_async(l, "stress-rate", &spec, &RateCalls::cb, &hits) == 0);
        CHECK(hp_limiter_acquire_async(l, "stress-lease", res.c_str(), 5, 60000, nullptr, &LeaseCalls::cb,
                                       &leases) == 0);
        mine++;
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    async_calls += mine;
  });
  REQUIRE(hits.calls.wait(async_calls));
  REQUIRE(leases.calls.wait(async_calls));
  CHECK(sync_errors.load() == 0);
  CHECK(hits.calls.failed == 0);
  CHECK(leases.calls.failed == 0);
  CHECK(hits.allowed.load() + sync_allowed.load() == static_cast<int>(kBurst));
  CHECK(leases.granted.load() + sync_granted.load() == 5);
}

}  // namespace

TEST_CASE("stress: limiter contention from several threads, synchronous and asynchronous calls together") {
  OwnedEngine eng;
  SUBCASE("memory") {
    hp_limiter *l = nullptr;
    REQUIRE(hp_limiter_open(&l, eng.e, "memory:", nullptr) == 0);
    contend(l, true);
    close_wait(hp_limiter_close, l);
  }
  SUBCASE("SQLite on the thread pool and inline") {
    TempDir dir;
    for (int inline_calls : {0, 1}) {
      INFO("sqlite_inline " << inline_calls);
      hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
      o.timeout_ms = 10000;
      o.sqlite_inline = inline_calls;
      std::string spec = "sqlite:" + dir.file("limits" + std::to_string(inline_calls) + ".db");
      hp_limiter *l = nullptr;
      REQUIRE(hp_limiter_open(&l, eng.e, spec.c_str(), &o) == 0);
      contend(l, true);
      close_wait(hp_limiter_close, l);
    }
  }
  SUBCASE("Redis, calls made the moment it opened from another thread") {
    // The client starts on the loop while these threads already call.
    hp_test::RedisServer server;
    hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
    o.timeout_ms = 5000;
    hp_limiter *l = nullptr;
    REQUIRE(hp_limiter_open(&l, eng.e, server.url().c_str(), &o) == 0);
    contend(l, false);
    close_wait(hp_limiter_close, l);
  }
}

// ----------------------------------------------------------------- blobs

namespace {

struct Committed {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int status = 1;
  std::string id;
  uint64_t size = 0;
  static void cb(int status, const hp_blob_stat *st, void *data) {
    auto *c = static_cast<Committed *>(data);
    std::lock_guard<std::mutex> lock(c->mu);
    c->status = status;
    if (status == 0 && st) {
      c->id = st->id;
      c->size = st->length;
    }
    c->done = true;
    c->cv.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; });
  }
};

// The bytes of a file read back in full.
struct ReadBack {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int status = 1;
  std::string data;
  void finish(int s) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    done = true;
    cv.notify_all();
  }
  static void on_data(int status, const void *buf, size_t, void *d) {
    auto *rb = static_cast<ReadBack *>(d);
    if (status <= 0) return rb->finish(status);
    rb->data.append(static_cast<const char *>(buf), static_cast<size_t>(status));
  }
  static void on_open(int status, hp_blob_reader *r, const hp_blob_stat *, void *d) {
    auto *rb = static_cast<ReadBack *>(d);
    if (status < 0) return rb->finish(status);
    rb->reader = r;
    rb->more();
  }
  hp_blob_reader *reader = nullptr;
  void more() {
    int rc = hp_blob_reader_read(reader, &ReadBack::on_next, this);
    if (rc < 0) finish(rc);
  }
  static void on_next(int status, const void *buf, size_t len, void *d) {
    auto *rb = static_cast<ReadBack *>(d);
    on_data(status, buf, len, d);
    if (status > 0) rb->more();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; });
  }
};

}  // namespace

TEST_CASE("stress: blob writers on several threads pipeline their writes, then read back") {
  TempDir dir;
  OwnedEngine eng;
  hp_blobs *b = nullptr;
  std::string spec = "sqlite:" + dir.file("blobs.db");
  REQUIRE(hp_blobs_open(&b, eng.e, spec.c_str(), nullptr) == 0);
  on_threads(4, [&](int t) {
    // Every write is handed over before the first one completes.
    std::mt19937 rng(static_cast<unsigned>(t));
    std::string data(300000 + static_cast<size_t>(t) * 777, '\0');
    for (auto &c : data) c = static_cast<char>(rng());
    hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
    o.chunk_size = 16384;
    hp_blob_writer *w = nullptr;
    std::string name = "pipe/" + std::to_string(t);
    // (CHECK, not REQUIRE: this runs on a thread of the test's.)
    int rc = hp_blobs_open_write(&w, b, name.c_str(), &o);
    CHECK(rc == 0);
    if (rc != 0) return;
    Calls writes;
    int n = 0;
    for (size_t off = 0; off < data.size(); off += 10000, n++)
      CHECK(hp_blob_writer_write(w, data.data() + off, std::min<size_t>(10000, data.size() - off), &Calls::cb,
                                 &writes) == 0);
    Committed c;
    CHECK(hp_blob_writer_commit(w, &Committed::cb, &c) == 0);
    CHECK(c.wait());
    CHECK(writes.wait(n));
    close_wait(hp_blob_writer_close, w);
    CHECK(writes.failed == 0);
    CHECK(c.status == 0);
    CHECK(c.size == data.size());
    if (c.status != 0) return;
    hp_blob_read_options ro = HP_BLOB_READ_OPTIONS_INIT;
    ro.id = c.id.c_str();
    ReadBack rb;
    rc = hp_blobs_open_read(b, &ro, &ReadBack::on_open, &rb);
    CHECK(rc == 0);
    if (rc != 0) return;
    CHECK(rb.wait());
    CHECK(rb.status == 0);
    CHECK(rb.data == data);
    close_wait(hp_blob_reader_close, rb.reader);
  });
  close_wait(hp_blobs_close, b);
}

// ---------------------------------------------------------------- events

TEST_CASE("stress: events pushed from several threads while another flushes reach the file, each thread in order") {
  TempDir dir;
  OwnedEngine eng;
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 50;
  o.batch_ms = 2;
  hp_events *ev = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&ev, eng.e, path.c_str(), nullptr, &o) == 0);
  const int kThreads = 4, kEach = 400;
  std::atomic<bool> stop{false};
  Calls flushes;
  std::atomic<int> flush_calls{0};
  std::thread flusher([&] {
    while (!stop.load()) {
      if (hp_events_flush(ev, &Calls::cb, &flushes) == 0) flush_calls++;
      hp_events_stats st = HP_EVENTS_STATS_INIT;
      CHECK(hp_events_stats_get(&st, ev) == 0);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  on_threads(kThreads, [&](int t) {
    for (int i = 0; i < kEach; i++) {
      std::string m = "t" + std::to_string(t) + " " + std::to_string(i);
      CHECK(hp_events_push(ev, m.data(), m.size()) == 0);
    }
  });
  stop = true;
  flusher.join();
  REQUIRE(flushes.wait(flush_calls.load()));
  CHECK(flushes.failed == 0);
  Calls closed;
  REQUIRE(hp_events_close(ev, &Calls::cb, &closed) == 0);
  REQUIRE(closed.wait(1));
  CHECK(closed.failed == 0);
  std::istringstream in(hp_test::read_file(path));
  std::vector<int> next(kThreads, 0);
  int lines = 0, out_of_order = 0;
  for (std::string line; std::getline(in, line); lines++) {
    int t = line[1] - '0';
    if (line[0] != 't' || t < 0 || t >= kThreads || std::stoi(line.substr(3)) != next[t]++) out_of_order++;
  }
  CHECK(lines == kThreads * kEach);
  CHECK(out_of_order == 0);
}

// ---------------------------------------------------------- close vs call
// A handle closed from one thread while others still call it, for each
// kind of handle: tests/c/lifecycle_test.cc, with the lifecycle in core
// (built and run under ThreadSanitizer like this file).
