// Observability through the public C API: the engine's background events
// (a watched geo file reloaded and failing to, a real redis-server killed
// and started again) and the stats of geo readers and limiters.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"
#include "support/redis_server.h"

namespace fs = std::filesystem;

namespace {

struct Event {
  int kind, handle_kind, status;
  std::string message, source;
};

// Collects the events of one engine (its own loop thread calls `record`).
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> seen;

  static void record(const hp_engine_event *ev, void *data) {
    auto *self = static_cast<Events *>(data);
    CHECK(ev->version == HP_ENGINE_EVENT_VERSION);
    std::lock_guard<std::mutex> lock(self->mu);
    self->seen.push_back({ev->kind, ev->handle_kind, ev->status, ev->message, ev->source});
    self->cv.notify_all();
  }
  // The first event of `kind` from `handle_kind`, waiting up to 10 s.
  bool wait_for(int kind, int handle_kind, Event *out) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] {
      for (auto &e : seen)
        if (e.kind == kind && e.handle_kind == handle_kind) {
          *out = e;
          return true;
        }
      return false;
    });
  }
  size_t count(int kind) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (auto &e : seen) n += e.kind == kind;
    return n;
  }
};

struct OwnedEngine {
  hp_engine *e = nullptr;
  Events events;
  OwnedEngine() {
    REQUIRE(hp_engine_new(&e, nullptr) == 0);
    REQUIRE(hp_engine_set_event_cb(e, &Events::record, &events) == 0);
  }
  ~OwnedEngine() { CHECK(hp_engine_free(e) == 0); }
};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-observe-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Replaces `to` with `bytes` in one rename, as a database update does.
void replace_file(const fs::path &to, const std::string &bytes) {
  fs::path tmp = to.string() + ".new";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << bytes;
  }
  fs::rename(tmp, to);
}

std::string test_db(const char *name) { return hp_test::read_file(hp_test::fixture(std::string("maxmind/test-data/") + name)); }

// A reader of a copy of GeoIP2-City-Test at `db`, polled every 20 ms.
hp_geo *open_watched(hp_engine *e, const fs::path &db) {
  replace_file(db, test_db("GeoIP2-City-Test.mmdb"));
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.watch_interval_ms = 20;
  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open(&g, e, db.c_str(), &o) == 0);
  return g;
}

hp_geo_stats geo_stats(hp_geo *g) {
  hp_geo_stats s = HP_GEO_STATS_INIT;
  REQUIRE(hp_geo_stats_get(&s, g) == 0);
  return s;
}

hp_limiter_stats limiter_stats(hp_limiter *l) {
  hp_limiter_stats s = HP_LIMITER_STATS_INIT;
  REQUIRE(hp_limiter_stats_get(&s, l) == 0);
  return s;
}

int acquire(hp_limiter *l, const char *subject, const char *resource) {
  std::promise<int> p;
  auto f = p.get_future();
  int rc = hp_limiter_acquire_async(
      l, subject, resource, 1, 60000, nullptr,
      [](int status, const hp_lease_result *r, void *d) {
        static_cast<std::promise<int> *>(d)->set_value(status < 0 ? status : r->status);
      },
      &p);
  if (rc != 0) return rc;
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return f.get();
}

}  // namespace

TEST_CASE("observe: names of event and handle kinds; bad arguments") {
  CHECK(std::strcmp(hp_event_kind_name(HP_EVENT_RELOAD), "reload") == 0);
  CHECK(std::strcmp(hp_event_kind_name(HP_EVENT_RELOAD_FAILED), "reload_failed") == 0);
  CHECK(std::strcmp(hp_event_kind_name(HP_EVENT_REDIS_DISCONNECT), "redis_disconnect") == 0);
  CHECK(std::strcmp(hp_event_kind_name(HP_EVENT_REDIS_RECONNECT), "redis_reconnect") == 0);
  CHECK(std::strcmp(hp_event_kind_name(HP_EVENT_ERROR), "error") == 0);
  CHECK(std::strcmp(hp_event_kind_name(99), "") == 0);
  CHECK(std::strcmp(hp_handle_kind_name(HP_HANDLE_GEO), "geo") == 0);
  CHECK(std::strcmp(hp_handle_kind_name(HP_HANDLE_EVENTS), "events") == 0);
  CHECK(std::strcmp(hp_handle_kind_name(0), "") == 0);
  CHECK(hp_engine_set_event_cb(nullptr, nullptr, nullptr) == HP_EINVAL);

  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open(&g, nullptr, hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb").c_str(), nullptr) == 0);
  hp_geo_stats s = HP_GEO_STATS_INIT;
  CHECK(hp_geo_stats_get(nullptr, g) == HP_EINVAL);
  CHECK(hp_geo_stats_get(&s, nullptr) == HP_EINVAL);
  s.version = HP_GEO_STATS_VERSION + 1;
  CHECK(hp_geo_stats_get(&s, g) == HP_EINVAL);
  hp_geo_close(g, nullptr, nullptr);

  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, nullptr, "memory:", nullptr) == 0);
  hp_limiter_stats ls = HP_LIMITER_STATS_INIT;
  ls.version = 0;
  CHECK(hp_limiter_stats_get(&ls, l) == HP_EINVAL);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("observe: geo counts lookups and cache use, and a watched file's reloads reach the event hook") {
  OwnedEngine eng;
  TempDir dir;
  fs::path db = dir.path / "city.mmdb";
  hp_geo *g = open_watched(eng.e, db);

  hp_geo_stats s = geo_stats(g);
  CHECK(s.lookups == 0);
  CHECK(s.generation == 1);
  CHECK(s.reloads == 0);
  CHECK(s.last_reload_at_ms == 0);

  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  for (int i = 0; i < 3; i++) CHECK(hp_geo_lookup(&e, g, "81.2.69.160", 11) == 1);
  CHECK(hp_geo_lookup(&e, g, "10.0.0.1", 8) == 0);  // a miss is a lookup without a record
  hp_geo_result r = HP_GEO_RESULT_INIT;
  CHECK(hp_geo_get(&r, g, 0, "81.2.69.160", 11) == 1);
  hp_geo_result_clear(&r);
  s = geo_stats(g);
  CHECK(s.lookups == 5);
  CHECK(s.cache_misses == 1);  // decoded once, by the first lookup
  CHECK(s.cache_hits == 3);

  // Lookups from many threads add up exactly.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([g] {
      hp_geo_enrichment mine = HP_GEO_ENRICHMENT_INIT;
      for (int i = 0; i < 1000; i++) hp_geo_lookup(&mine, g, "81.2.69.160", 11);
    });
  for (auto &t : threads) t.join();
  CHECK(geo_stats(g).lookups == 8005);

  // A new file: one reload, seen by the hook and the counters (once the
  // watch has read the first one).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  replace_file(db, test_db("GeoIP2-Country-Test.mmdb"));
  Event ev;
  REQUIRE(eng.events.wait_for(HP_EVENT_RELOAD, HP_HANDLE_GEO, &ev));
  CHECK(ev.status == 0);
  CHECK(ev.source == db.string());
  CHECK(ev.message.find("generation 2") != std::string::npos);
  s = geo_stats(g);
  CHECK(s.reloads == 1);
  CHECK(s.reload_failures == 0);
  CHECK(s.generation == 2);
  CHECK(s.last_reload_error == 0);
  CHECK(s.last_reload_at_ms > 0);
  CHECK(s.last_reload_message[0] == '\0');

  // A broken file: the reload fails, the old data stays in service.
  replace_file(db, "this is not a MaxMind DB");
  REQUIRE(eng.events.wait_for(HP_EVENT_RELOAD_FAILED, HP_HANDLE_GEO, &ev));
  CHECK(ev.status == HP_ECORRUPT);
  CHECK(!ev.message.empty());
  s = geo_stats(g);
  CHECK(s.reload_failures == 1);
  CHECK(s.last_reload_error == HP_ECORRUPT);
  CHECK(std::string(s.last_reload_message) == ev.message.substr(0, HP_GEO_STATS_MESSAGE - 1));
  CHECK(s.generation == 2);
  CHECK(hp_geo_lookup(&e, g, "81.2.69.160", 11) == 1);

  // hp_geo_reload() counts too (it fails on the broken file).
  CHECK(hp_geo_reload(g) == HP_ECORRUPT);
  CHECK(geo_stats(g).reload_failures == 2);
  hp_geo_close(g, nullptr, nullptr);
}

TEST_CASE("observe: a memory limiter counts checks, grants and denials on every thread") {
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, nullptr, "memory:", nullptr) == 0);
  hp_rate_spec spec = HP_RATE_SPEC_INIT;
  spec.rate = 2;
  spec.period_ms = 60000;
  hp_rate_result rr = HP_RATE_RESULT_INIT;
  for (int i = 0; i < 3; i++) REQUIRE(hp_limiter_hit(&rr, l, "k", &spec) == 0);
  hp_lease_result lr = HP_LEASE_RESULT_INIT;
  REQUIRE(hp_limiter_acquire(&lr, l, "u", "a", 1, 60000, nullptr) == 0);
  REQUIRE(hp_limiter_acquire(&lr, l, "u", "b", 1, 60000, nullptr) == 0);
  CHECK(lr.status == HP_LEASE_DENIED);
  hp_lease_list_free(lr.holders);
  CHECK(hp_limiter_hit(&rr, l, "", &spec) == HP_EINVAL);  // never reached the backend
  hp_limiter_stats s = limiter_stats(l);
  CHECK(s.checks == 5);
  CHECK(s.granted == 3);
  CHECK(s.denied == 2);
  CHECK(s.store_errors == 0);
  CHECK(s.redis.commands == 0);

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([l, t] {
      hp_rate_spec many = HP_RATE_SPEC_INIT;
      many.rate = 1000000;
      hp_rate_result mine = HP_RATE_RESULT_INIT;
      std::string key = "t" + std::to_string(t);
      for (int i = 0; i < 5000; i++) hp_limiter_hit(&mine, l, key.c_str(), &many);
    });
  for (auto &t : threads) t.join();
  s = limiter_stats(l);
  CHECK(s.checks == 20005);
  CHECK(s.granted + s.denied == 20005);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("observe: a Redis limiter's client figures, and a killed and restarted redis-server reach the hook") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, eng.e, server.url().c_str(), nullptr) == 0);
  CHECK(acquire(l, "u", "a") == HP_LEASE_GRANTED);
  CHECK(acquire(l, "u", "b") == HP_LEASE_DENIED);
  hp_limiter_stats s = limiter_stats(l);
  CHECK(s.checks == 2);
  CHECK(s.granted == 1);
  CHECK(s.denied == 1);
  CHECK(s.redis.connected == 1);
  CHECK(s.redis.commands >= 2);
  CHECK(s.redis.in_flight == 0);
  CHECK(s.redis.disconnects == 0);

  server.stop();
  Event ev;
  REQUIRE(eng.events.wait_for(HP_EVENT_REDIS_DISCONNECT, HP_HANDLE_LIMITER, &ev));
  CHECK(ev.status == HP_EUNAVAILABLE);
  CHECK(ev.source == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(acquire(l, "u", "c") == HP_EUNAVAILABLE);
  s = limiter_stats(l);
  CHECK(s.redis.connected == 0);
  CHECK(s.redis.disconnects == 1);
  CHECK(s.store_errors >= 1);

  server.start();
  REQUIRE(eng.events.wait_for(HP_EVENT_REDIS_RECONNECT, HP_HANDLE_LIMITER, &ev));
  CHECK(ev.status == 0);
  CHECK(acquire(l, "u", "a") == HP_LEASE_GRANTED);  // the server restarted empty
  s = limiter_stats(l);
  CHECK(s.redis.reconnects == 1);
  CHECK(s.redis.connected == 1);
  CHECK(eng.events.count(HP_EVENT_REDIS_RECONNECT) == 1);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("observe: a Redis reply that never comes counts as a timeout") {
  hp_test::RedisServer server;
  OwnedEngine eng;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 100;
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, eng.e, server.url().c_str(), &o) == 0);
  CHECK(acquire(l, "u", "a") == HP_LEASE_GRANTED);
  server.pause();
  CHECK(acquire(l, "u", "b") == HP_EUNAVAILABLE);
  server.resume();
  hp_limiter_stats s = limiter_stats(l);
  CHECK(s.redis.timeouts >= 1);
  CHECK(s.redis.in_flight == 0);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("observe: without a receiver, events are only counted; clearing the receiver stops them") {
  OwnedEngine eng;
  REQUIRE(hp_engine_set_event_cb(eng.e, nullptr, nullptr) == 0);
  TempDir dir;
  fs::path db = dir.path / "city.mmdb";
  hp_geo *g = open_watched(eng.e, db);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  replace_file(db, test_db("GeoIP2-Country-Test.mmdb"));
  for (int i = 0; i < 500 && geo_stats(g).reloads == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(geo_stats(g).reloads == 1);
  CHECK(eng.events.count(HP_EVENT_RELOAD) == 0);
  hp_geo_close(g, nullptr, nullptr);
}
