// Local budgets for Redis rate limits, through the public C API against a
// real redis-server (and the shared 3-master cluster): hits decided in the
// process from leased blocks, never more grants in a window than its limit
// whatever the threads do, unused hits given back, Redis going away.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"

namespace {

struct Engine {
  hp_engine *e = nullptr;
  Engine() { REQUIRE(hp_engine_new(&e, nullptr) == 0); }
  ~Engine() { CHECK(hp_engine_free(e) == 0); }
};

hp_limiter *open_budget(hp_engine *e, const std::string &url, uint32_t block, uint32_t hold_ms,
                        const char *prefix = "hp:lb") {
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.local_budget = block;
  o.local_hold_ms = hold_ms;
  o.prefix = prefix;
  o.timeout_ms = 500;
  hp_limiter *l = nullptr;
  int rc = hp_limiter_open(&l, e, url.c_str(), &o);
  INFO(hp_last_error());
  REQUIRE(rc == 0);
  return l;
}

hp_rate_spec window_spec(uint32_t rate, uint64_t period_ms, uint32_t cost = 1) {
  hp_rate_spec s = HP_RATE_SPEC_INIT;
  s.rate = rate;
  s.period_ms = period_ms;
  s.cost = cost;
  return s;
}

// One hit: from the hits in hand, else through the loop.
struct Hit {
  int rc = 0;
  bool local = false;
  hp_rate_result r = HP_RATE_RESULT_INIT;
};

Hit hit(hp_limiter *l, const char *key, const hp_rate_spec &spec) {
  Hit h;
  int rc = hp_limiter_hit_local(&h.r, l, key, &spec);
  if (rc != 0) {
    h.rc = rc < 0 ? rc : 0;
    h.local = rc > 0;
    return h;
  }
  std::promise<Hit> p;
  rc = hp_limiter_hit_async(
      l, key, &spec,
      [](int status, const hp_rate_result *r, void *data) {
        Hit c;
        c.rc = status;
        if (r) c.r = *r;
        static_cast<std::promise<Hit> *>(data)->set_value(c);
      },
      &p);
  if (rc < 0) {
    h.rc = rc;
    return h;
  }
  return p.get_future().get();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The window a grant counted in, from when it ends (the server's clock is
// this host's: redis-server runs here).
int64_t window_of(const hp_rate_result &r, uint64_t period_ms) {
  return std::llround(static_cast<double>(wall_ms() + static_cast<int64_t>(r.reset_after_ms)) /
                      static_cast<double>(period_ms));
}

struct Probe {
  redisContext *c;
  Probe(const std::string &host, int port) : c(redisConnect(host.c_str(), port)) { REQUIRE((c && !c->err)); }
  ~Probe() { redisFree(c); }
  long long leased(const std::string &key) {
    auto *r = static_cast<redisReply *>(redisCommand(c, "HGET %s n", key.c_str()));
    long long n = r && r->type == REDIS_REPLY_STRING ? std::atoll(r->str) : -1;
    freeReplyObject(r);
    return n;
  }
  long long evalsha() {
    auto *r = static_cast<redisReply *>(redisCommand(c, "INFO commandstats"));
    std::string s = r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    auto at = s.find("cmdstat_evalsha:calls=");
    return at == std::string::npos ? 0 : std::atoll(s.c_str() + at + 22);
  }
};

// Threads hit one key as fast as they can for `ms`; returns grants per
// window. Every hit must succeed.
std::map<int64_t, long> hammer(hp_limiter *l, const char *key, const hp_rate_spec &spec, int threads, int ms,
                               long *local_hits) {
  std::mutex mu;
  std::map<int64_t, long> grants;
  std::atomic<long> local{0};
  std::atomic<int> errors{0};
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&] {
      std::map<int64_t, long> mine;
      while (std::chrono::steady_clock::now() < until) {
        Hit h = hit(l, key, spec);
        if (h.rc != 0) {
          errors++;
          continue;
        }
        if (h.local) local++;
        if (h.r.allowed) mine[window_of(h.r, spec.period_ms)]++;
      }
      std::lock_guard<std::mutex> lock(mu);
      for (auto &[w, n] : mine) grants[w] += n;
    });
  }
  for (auto &t : ts) t.join();
  CHECK(errors.load() == 0);
  *local_hits = local.load();
  return grants;
}

void check_windows(const std::map<int64_t, long> &grants, long limit, size_t min_windows) {
  long total = 0;
  for (auto &[w, n] : grants) {
    INFO("window " << w << ": " << n << " grants, limit " << limit);
    CHECK(n <= limit);
    total += n;
  }
  CHECK(grants.size() >= min_windows);
  MESSAGE("windows: " << grants.size() << ", grants: " << total);
}

}  // namespace

TEST_CASE("limits budget: 4 threads on one hot key, hits decided locally, 0 over-grants per window") {
  hp_test::RedisServer server;
  Engine e;
  hp_limiter *l = open_budget(e.e, server.url(), 64, 50);
  Probe probe("127.0.0.1", server.port());
  long before = probe.evalsha();
  hp_rate_spec spec = window_spec(2000, 250);
  long local = 0;
  auto grants = hammer(l, "hot", spec, 4, 1600, &local);
  check_windows(grants, 2000, 5);
  long calls = probe.evalsha() - before;
  MESSAGE("hits decided locally: " << local << ", EVALSHA calls: " << calls);
  CHECK(local > 10 * calls);
  // The full windows (not the first and last, cut by the run) lose only
  // what the process still held when a window ended, and what it leased
  // in the window's last round trip (docs/limits.md).
  auto it = std::next(grants.begin());
  for (size_t i = 1; i + 1 < grants.size(); i++, it++) CHECK(it->second >= 1500);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("limits budget: two limiters (two processes' worth) share a window without over-granting") {
  hp_test::RedisServer server;
  Engine e1, e2;
  hp_limiter *a = open_budget(e1.e, server.url(), 16, 20);
  hp_limiter *b = open_budget(e2.e, server.url(), 16, 20);
  hp_rate_spec spec = window_spec(500, 200);
  std::map<int64_t, long> ga, gb;
  long la = 0, lb = 0;
  std::thread ta([&] { ga = hammer(a, "shared", spec, 2, 1200, &la); });
  std::thread tb([&] { gb = hammer(b, "shared", spec, 2, 1200, &lb); });
  ta.join();
  tb.join();
  for (auto &[w, n] : gb) ga[w] += n;
  check_windows(ga, 500, 4);
  CHECK(la > 0);
  CHECK(lb > 0);
  hp_limiter_close(a, nullptr, nullptr);
  hp_limiter_close(b, nullptr, nullptr);
}

TEST_CASE("limits budget: unused hits go back after local_hold_ms and on close") {
  hp_test::RedisServer server;
  Engine e;
  Probe probe("127.0.0.1", server.port());
  hp_rate_spec spec = window_spec(1000, 3600000);  // one window for the whole test
  const std::string key = "hp:lb:{k}:window";

  hp_limiter *l = open_budget(e.e, server.url(), 100, 60000);
  Hit h = hit(l, "k", spec);
  REQUIRE(h.rc == 0);
  CHECK(h.r.allowed == 1);
  CHECK(!h.local);  // the first hit waits for the lease
  CHECK(probe.leased(key) == 100);
  for (int i = 0; i < 9; i++) {
    h = hit(l, "k", spec);
    CHECK(h.local);
  }
  // 10 used of 100 held; close gives 90 back.
  hp_limiter_close(l, nullptr, nullptr);
  long long n = -1;
  for (int i = 0; i < 100 && n != 10; i++) {
    n = probe.leased(key);
    if (n != 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(n == 10);

  // A short hold returns the rest while the limiter stays open.
  l = open_budget(e.e, server.url(), 100, 30);
  CHECK(hit(l, "k", spec).r.allowed == 1);
  CHECK(probe.leased(key) >= 110);
  for (int i = 0; i < 100 && n != 11; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = probe.leased(key);
  }
  CHECK(n == 11);
  // The next hit leases again (its own rest may be back already).
  CHECK(hit(l, "k", spec).r.allowed == 1);
  n = probe.leased(key);
  CHECK((n == 111 || n == 12));
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("limits budget: a full window is denied locally; the limit counts every process's block") {
  hp_test::RedisServer server;
  Engine e;
  hp_rate_spec spec = window_spec(10, 3600000);
  hp_limiter *a = open_budget(e.e, server.url(), 4, 60000);
  hp_limiter *b = open_budget(e.e, server.url(), 4, 60000);
  int allowed_a = 0, allowed_b = 0;
  for (int i = 0; i < 6; i++) allowed_a += hit(a, "x", spec).r.allowed;
  for (int i = 0; i < 20; i++) allowed_b += hit(b, "x", spec).r.allowed;
  // a leased 4 then 4 (6 used, 2 held); b got the last 2, then denials.
  CHECK(allowed_a == 6);
  CHECK(allowed_b == 2);
  Hit d = hit(b, "x", spec);
  CHECK(d.local);
  CHECK(d.r.allowed == 0);
  CHECK(d.r.retry_after_ms > 0);
  // a still spends what it holds, and nothing more.
  allowed_a = 0;
  for (int i = 0; i < 5; i++) allowed_a += hit(a, "x", spec).r.allowed;
  CHECK(allowed_a == 2);
  hp_limiter_stats st = HP_LIMITER_STATS_INIT;
  REQUIRE(hp_limiter_stats_get(&st, b) == 0);
  CHECK(st.checks == 21);
  CHECK(st.granted == 2);
  CHECK(st.denied == 19);
  hp_limiter_close(a, nullptr, nullptr);
  hp_limiter_close(b, nullptr, nullptr);
}

TEST_CASE("limits budget: Redis going away lets the hits in hand be spent, grants nothing more") {
  hp_test::RedisServer server;
  Engine e;
  hp_rate_spec spec = window_spec(1000, 3600000);
  hp_limiter *l = open_budget(e.e, server.url(), 20, 60000);
  REQUIRE(hit(l, "gone", spec).r.allowed == 1);  // leases 20
  server.stop();
  int allowed = 1, unavailable = 0;
  for (int i = 0; i < 40; i++) {
    Hit h = hit(l, "gone", spec);
    if (h.rc == HP_EUNAVAILABLE) {
      unavailable++;
      continue;
    }
    REQUIRE(h.rc == 0);
    allowed += h.r.allowed;
  }
  // The renewal ahead of exhaustion failed too: exactly the block was spent.
  CHECK(allowed == 20);
  CHECK(unavailable == 21);
  hp_limiter_stats st = HP_LIMITER_STATS_INIT;
  REQUIRE(hp_limiter_stats_get(&st, l) == 0);
  CHECK(st.store_errors >= 21);
  hp_limiter_close(l, nullptr, nullptr);
}

TEST_CASE("limits budget: arguments") {
  hp_test::RedisServer server;
  Engine e;
  hp_limiter *l = open_budget(e.e, server.url(), 8, 50);
  hp_rate_result r = HP_RATE_RESULT_INIT;
  hp_rate_spec bursty = window_spec(10, 1000);
  bursty.burst = 5;
  CHECK(hp_limiter_hit_local(&r, l, "k", &bursty) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("burst") != std::string::npos);
  CHECK(hp_limiter_hit_async(
            l, "k", &bursty, [](int, const hp_rate_result *, void *) {}, nullptr) == HP_EINVAL);
  hp_rate_spec ok = window_spec(10, 1000);
  CHECK(hp_limiter_hit_local(nullptr, l, "k", &ok) == HP_EINVAL);
  CHECK(hp_limiter_hit_local(&r, nullptr, "k", &ok) == HP_EINVAL);
  CHECK(hp_limiter_hit_local(&r, l, "", &ok) == HP_EINVAL);
  // Nothing leased yet: not decidable here.
  CHECK(hp_limiter_hit_local(&r, l, "k", &ok) == 0);
  REQUIRE(hit(l, "k", ok).rc == 0);
  // Another rate on a key this process holds is refused.
  hp_rate_spec other = window_spec(20, 1000);
  CHECK(hp_limiter_hit_local(&r, l, "k", &other) == HP_EINVAL);
  // Once close began, calls are refused; the close callback is the last
  // moment the handle exists, so ask there (after it, `l` is freed).
  struct AfterClose {
    hp_limiter *l;
    hp_rate_spec spec;
    std::promise<int> rc;
  } after{l, ok, {}};
  auto rc = after.rc.get_future();
  REQUIRE(hp_limiter_close(
              l,
              [](int, void *d) {
                auto *a = static_cast<AfterClose *>(d);
                hp_rate_result res = HP_RATE_RESULT_INIT;
                a->rc.set_value(hp_limiter_hit_local(&res, a->l, "k", &a->spec));
              },
              &after) == 0);
  CHECK(rc.get() == HP_ECLOSED);

  // Version 1 options still open (no local budget): hit_local never decides.
  hp_limiter_options v1 = HP_LIMITER_OPTIONS_INIT;
  v1.version = 1;
  hp_limiter *plain = nullptr;
  REQUIRE(hp_limiter_open(&plain, e.e, server.url().c_str(), &v1) == 0);
  CHECK(hp_limiter_hit_local(&r, plain, "k", &ok) == 0);
  hp_limiter_close(plain, nullptr, nullptr);
  // Memory decides every hit here.
  hp_limiter *mem = nullptr;
  REQUIRE(hp_limiter_open(&mem, nullptr, "memory:", nullptr) == 0);
  CHECK(hp_limiter_hit_local(&r, mem, "k", &ok) == 1);
  CHECK(r.allowed == 1);
  hp_limiter_close(mem, nullptr, nullptr);
}

TEST_CASE("limits budget: on a 3-master Redis Cluster, 0 over-grants per window") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  Engine e;
  hp_limiter *l = open_budget(e.e, cluster.url(), 32, 50, "hp:lbc");
  hp_rate_spec spec = window_spec(1000, 250);
  long local = 0;
  check_windows(hammer(l, "cluster-hot", spec, 3, 1000, &local), 1000, 3);
  CHECK(local > 0);
  hp_limiter_close(l, nullptr, nullptr);
}
