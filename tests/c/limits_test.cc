// Limits: leases and GCRA on memory, SQLite (threads and processes) and a
// real redis-server (stopped mid-run), through the public C API.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "redis/client.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-limits-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string spec(const char *name = "limits.db") const { return "sqlite:" + (path / name).string(); }
};

// An engine on its own loop thread.
struct OwnedEngine {
  hp_engine *e = nullptr;
  OwnedEngine() { REQUIRE(hp_engine_new(&e, nullptr) == 0); }
  ~OwnedEngine() { CHECK(hp_engine_free(e) == 0); }
};

struct Limiter {
  hp_limiter *l = nullptr;
  Limiter(hp_engine *e, const std::string &spec, const hp_limiter_options *o = nullptr) {
    int rc = hp_limiter_open(&l, e, spec.c_str(), o);
    INFO(hp_last_error());
    REQUIRE(rc == 0);
  }
  ~Limiter() { hp_limiter_close(l, NULL, NULL); }
  operator hp_limiter *() const { return l; }
};

// Results of asynchronous calls, copied out of their callbacks.
struct LeaseCopy {
  int rc = 1;
  int status = -1;
  uint32_t count = 0;
  uint64_t id = 0;
  std::vector<std::string> holders;
  std::string error;
};

LeaseCopy acquire_async(hp_limiter *l, const char *sub, const char *res, uint32_t limit, uint64_t ttl) {
  std::promise<LeaseCopy> p;
  int rc = hp_limiter_acquire_async(
      l, sub, res, limit, ttl, nullptr,
      [](int status, const hp_lease_result *r, void *data) {
        LeaseCopy c;
        c.rc = status;
        if (status < 0) {
          c.error = hp_last_error();
        } else {
          c.status = r->status;
          c.count = r->count;
          c.id = r->lease_id;
          if (r->holders)
            for (size_t i = 0; i < r->holders->count; i++) c.holders.push_back(r->holders->items[i].resource);
        }
        static_cast<std::promise<LeaseCopy> *>(data)->set_value(c);
      },
      &p);
  if (rc < 0) {
    LeaseCopy c;
    c.rc = rc;
    c.error = hp_last_error();
    return c;
  }
  return p.get_future().get();
}

struct CodeWait {
  std::promise<std::pair<int, std::string>> p;
  static void cb(int status, void *data) {
    static_cast<CodeWait *>(data)->p.set_value({status, status < 0 ? hp_last_error() : ""});
  }
  int get(int rc) {
    if (rc < 0) return rc;
    return p.get_future().get().first;
  }
};

int release_async(hp_limiter *l, const char *sub, const char *res) {
  CodeWait w;
  return w.get(hp_limiter_release_async(l, sub, res, CodeWait::cb, &w));
}
int renew_async(hp_limiter *l, const char *sub, const char *res, uint64_t ttl) {
  CodeWait w;
  return w.get(hp_limiter_renew_async(l, sub, res, ttl, CodeWait::cb, &w));
}
int ping_async(hp_limiter *l) {
  CodeWait w;
  return w.get(hp_limiter_ping_async(l, CodeWait::cb, &w));
}
int set_add_async(hp_limiter *l, const char *set, const char *m) {
  CodeWait w;
  return w.get(hp_limiter_set_add_async(l, set, m, CodeWait::cb, &w));
}
int set_has_async(hp_limiter *l, const char *set, const char *m) {
  CodeWait w;
  return w.get(hp_limiter_set_has_async(l, set, m, CodeWait::cb, &w));
}

std::vector<std::string> holders_async(hp_limiter *l, const char *sub, int *rc_out = nullptr) {
  std::promise<std::pair<int, std::vector<std::string>>> p;
  int rc = hp_limiter_holders_async(
      l, sub,
      [](int status, const hp_lease_info *h, void *data) {
        std::vector<std::string> v;
        for (int i = 0; i < status; i++) v.push_back(h[i].resource);
        static_cast<std::promise<std::pair<int, std::vector<std::string>>> *>(data)->set_value({status, v});
      },
      &p);
  if (rc < 0) {
    if (rc_out) *rc_out = rc;
    return {};
  }
  auto r = p.get_future().get();
  if (rc_out) *rc_out = r.first;
  return r.second;
}

struct RateCopy {
  int rc = 1;
  hp_rate_result r = HP_RATE_RESULT_INIT;
};

RateCopy hit_async(hp_limiter *l, const char *key, const hp_rate_spec &spec) {
  std::promise<RateCopy> p;
  int rc = hp_limiter_hit_async(
      l, key, &spec,
      [](int status, const hp_rate_result *r, void *data) {
        RateCopy c;
        c.rc = status;
        if (r) c.r = *r;
        static_cast<std::promise<RateCopy> *>(data)->set_value(c);
      },
      &p);
  if (rc < 0) {
    RateCopy c;
    c.rc = rc;
    return c;
  }
  return p.get_future().get();
}

// Starts one hit per key without waiting, then waits for them all.
std::vector<RateCopy> hit_all(hp_limiter *l, const std::vector<std::string> &keys, const hp_rate_spec &spec) {
  struct Slot {
    RateCopy copy;
    std::promise<void> done;
  };
  std::vector<Slot> slots(keys.size());
  for (size_t i = 0; i < keys.size(); i++) {
    int rc = hp_limiter_hit_async(
        l, keys[i].c_str(), &spec,
        [](int status, const hp_rate_result *r, void *data) {
          auto *slot = static_cast<Slot *>(data);
          slot->copy.rc = status;
          if (r) slot->copy.r = *r;
          slot->done.set_value();
        },
        &slots[i]);
    if (rc < 0) {
      slots[i].copy.rc = rc;
      slots[i].done.set_value();
    }
  }
  std::vector<RateCopy> out;
  for (auto &s : slots) {
    s.done.get_future().wait();
    out.push_back(s.copy);
  }
  return out;
}

hp_rate_spec rate_spec(uint32_t rate, uint64_t period_ms, uint32_t burst, uint32_t cost = 1) {
  hp_rate_spec s = HP_RATE_SPEC_INIT;
  s.rate = rate;
  s.period_ms = period_ms;
  s.burst = burst;
  s.cost = cost;
  return s;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The lease contract, through the asynchronous calls (which every backend
// has), so the same checks run on memory, SQLite and Redis.
void lease_semantics(hp_limiter *l) {
  LeaseCopy a = acquire_async(l, "u1", "s1", 3, 60000);
  REQUIRE(a.rc == 0);
  CHECK(a.status == HP_LEASE_GRANTED);
  CHECK(a.count == 1);
  CHECK(a.id > 0);
  LeaseCopy again = acquire_async(l, "u1", "s1", 3, 60000);
  CHECK(again.status == HP_LEASE_ALREADY_HELD);
  CHECK(again.count == 1);
  CHECK(again.id == a.id);
  LeaseCopy b = acquire_async(l, "u1", "s2", 3, 60000);
  LeaseCopy c = acquire_async(l, "u1", "s3", 3, 60000);
  CHECK(b.status == HP_LEASE_GRANTED);
  CHECK(c.status == HP_LEASE_GRANTED);
  CHECK(b.id > a.id);
  CHECK(c.id > b.id);
  CHECK(c.count == 3);
  // Re-acquiring a held resource at the limit uses no slot.
  CHECK(acquire_async(l, "u1", "s2", 3, 60000).status == HP_LEASE_ALREADY_HELD);
  LeaseCopy d = acquire_async(l, "u1", "s4", 3, 60000);
  CHECK(d.status == HP_LEASE_DENIED);
  CHECK(d.count == 3);
  CHECK(d.id == 0);
  CHECK(d.holders == std::vector<std::string>{"s1", "s2", "s3"});
  // Another subject has its own slots.
  CHECK(acquire_async(l, "u2", "s4", 3, 60000).status == HP_LEASE_GRANTED);
  CHECK(holders_async(l, "u1") == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(release_async(l, "u1", "s2") == 1);
  CHECK(release_async(l, "u1", "s2") == 0);
  CHECK(release_async(l, "u1", "never") == 0);
  LeaseCopy e = acquire_async(l, "u1", "s4", 3, 60000);
  CHECK(e.status == HP_LEASE_GRANTED);
  CHECK(e.id > c.id);
  CHECK(holders_async(l, "u1") == std::vector<std::string>{"s1", "s3", "s4"});
  // A lower limit on a later call is honoured at once.
  CHECK(acquire_async(l, "u1", "s5", 2, 60000).status == HP_LEASE_DENIED);

  // TTL: a lease that is not renewed frees its slot. The margins (a second
  // and more) hold on a loaded machine, where a call may take 100 ms.
  CHECK(acquire_async(l, "ttl", "a", 1, 1000).status == HP_LEASE_GRANTED);
  CHECK(acquire_async(l, "ttl", "b", 1, 1000).status == HP_LEASE_DENIED);
  sleep_ms(100);
  CHECK(renew_async(l, "ttl", "a", 2500) == 1);
  sleep_ms(1100);
  // Renewed: still held past its first TTL.
  CHECK(acquire_async(l, "ttl", "b", 1, 1000).status == HP_LEASE_DENIED);
  sleep_ms(1500);
  CHECK(renew_async(l, "ttl", "a", 300) == 0);
  CHECK(holders_async(l, "ttl").empty());
  CHECK(acquire_async(l, "ttl", "b", 1, 150).status == HP_LEASE_GRANTED);
  CHECK(release_async(l, "ttl", "b") == 1);

  // The registry of known ids.
  CHECK(set_add_async(l, "users", "alice") == 1);
  CHECK(set_add_async(l, "users", "alice") == 0);
  CHECK(set_has_async(l, "users", "alice") == 1);
  CHECK(set_has_async(l, "users", "bob") == 0);
  CHECK(set_has_async(l, "streams", "alice") == 0);
  CHECK(ping_async(l) == 0);
}

// GCRA, through the asynchronous calls.
void rate_semantics(hp_limiter *l) {
  // 10 per second, bursts of 3: three pass at once, the fourth waits ~100 ms.
  hp_rate_spec s = rate_spec(10, 1000, 3);
  RateCopy r1 = hit_async(l, "k", s);
  REQUIRE(r1.rc == 0);
  CHECK(r1.r.allowed == 1);
  CHECK(r1.r.remaining == 2);
  CHECK(r1.r.retry_after_ms == 0);
  CHECK(r1.r.reset_after_ms > 0);
  CHECK(r1.r.reset_after_ms <= 100);
  CHECK(hit_async(l, "k", s).r.remaining == 1);
  RateCopy r3 = hit_async(l, "k", s);
  CHECK(r3.r.allowed == 1);
  CHECK(r3.r.remaining == 0);
  CHECK(r3.r.reset_after_ms > 200);
  CHECK(r3.r.reset_after_ms <= 300);
  RateCopy r4 = hit_async(l, "k", s);
  CHECK(r4.r.allowed == 0);
  CHECK(r4.r.remaining == 0);
  CHECK(r4.r.retry_after_ms > 0);
  CHECK(r4.r.retry_after_ms <= 100);
  // A cost-0 hit only reads.
  CHECK(hit_async(l, "k", rate_spec(10, 1000, 3, 0)).r.allowed == 1);
  CHECK(hit_async(l, "k", s).r.allowed == 0);
  // Another key is independent; a cost of 3 takes the whole burst.
  RateCopy big = hit_async(l, "k2", rate_spec(10, 1000, 3, 3));
  CHECK(big.r.allowed == 1);
  CHECK(big.r.remaining == 0);
  CHECK(hit_async(l, "k2", s).r.allowed == 0);
  // After the retry time the key passes again.
  sleep_ms(static_cast<int>(r4.r.retry_after_ms) + 20);
  CHECK(hit_async(l, "k", s).r.allowed == 1);
  // A cost over the burst could never pass.
  CHECK(hit_async(l, "k", rate_spec(10, 1000, 3, 4)).rc == HP_EINVAL);
}

}  // namespace

TEST_CASE("limits: bad specs and arguments are clear errors") {
  hp_limiter *l = reinterpret_cast<hp_limiter *>(1);
  CHECK(hp_limiter_open(&l, nullptr, "mysql://x", nullptr) == HP_EINVAL);
  CHECK(l == nullptr);
  CHECK(std::string(hp_last_error()).find("unknown spec") != std::string::npos);
  CHECK(hp_limiter_open(&l, nullptr, "sqlite:", nullptr) == HP_EINVAL);
  CHECK(hp_limiter_open(&l, nullptr, "redis://127.0.0.1:1/0", nullptr) == HP_EINVAL);  // needs an engine
  CHECK(hp_limiter_open(&l, nullptr, "redis://h:99999/0", nullptr) == HP_EINVAL);
  CHECK(hp_limiter_open(nullptr, nullptr, "memory:", nullptr) == HP_EINVAL);
  CHECK(hp_limiter_open(&l, nullptr, nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_open(&l, nullptr, "sqlite:/nonexistent-dir/x/y.db", nullptr) < 0);
  hp_limiter_options bad = HP_LIMITER_OPTIONS_INIT;
  bad.version = 99;
  CHECK(hp_limiter_open(&l, nullptr, "memory:", &bad) == HP_EINVAL);
  hp_limiter_close(nullptr, NULL, NULL);

  Limiter m(nullptr, "memory:");
  CHECK(hp_limiter_backend(m) == HP_BACKEND_MEMORY);
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  CHECK(hp_limiter_acquire(&r, m, nullptr, "s", 3, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, m, "", "s", 3, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, m, "u", nullptr, 3, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, m, "u", "s", 0, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, m, "u", "s", 3, 0, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(nullptr, m, "u", "s", 3, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, nullptr, "u", "s", 3, 1000, nullptr) == HP_EINVAL);
  std::string big(513, 'x');
  CHECK(hp_limiter_acquire(&r, m, big.c_str(), "s", 3, 1000, nullptr) == HP_EINVAL);
  CHECK(hp_limiter_acquire(&r, m, big.substr(1).c_str(), "s", 3, 1000, nullptr) == 0);
  hp_rate_result rr = HP_RATE_RESULT_INIT;
  hp_rate_spec s = rate_spec(0, 1000, 1);
  CHECK(hp_limiter_hit(&rr, m, "k", &s) == HP_EINVAL);
  s = rate_spec(1, 0, 1);
  CHECK(hp_limiter_hit(&rr, m, "k", &s) == HP_EINVAL);
  s = rate_spec(5, 1000, 2, 3);
  CHECK(hp_limiter_hit(&rr, m, "k", &s) == HP_EINVAL);
  CHECK(hp_limiter_hit(&rr, m, "k", nullptr) == HP_EINVAL);
  // Without an engine there are no asynchronous calls.
  CHECK(hp_limiter_ping_async(m, CodeWait::cb, nullptr) == HP_EINVAL);
}

TEST_CASE("limits: memory leases (synchronous)") {
  Limiter l(nullptr, "memory:");
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  REQUIRE(hp_limiter_acquire(&r, l, "u", "a", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
  uint64_t first = r.lease_id;
  REQUIRE(hp_limiter_acquire(&r, l, "u", "a", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_ALREADY_HELD);
  CHECK(r.lease_id == first);
  REQUIRE(hp_limiter_acquire(&r, l, "u", "b", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
  REQUIRE(hp_limiter_acquire(&r, l, "u", "c", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_DENIED);
  REQUIRE(r.holders);
  REQUIRE(r.holders->count == 2);
  CHECK(std::string(r.holders->items[0].resource) == "a");
  CHECK(r.holders->items[0].lease_id == first);
  CHECK(r.holders->items[0].expires_in_ms > 59000);
  CHECK(std::string(r.holders->items[1].resource) == "b");
  hp_lease_list_free(r.holders);
  hp_lease_list *h = nullptr;
  CHECK(hp_limiter_holders(&h, l, "u") == 2);
  REQUIRE(h);
  CHECK(std::string(h->items[1].resource) == "b");
  hp_lease_list_free(h);
  CHECK(hp_limiter_holders(&h, l, "nobody") == 0);
  REQUIRE(h);
  CHECK(h->count == 0);
  CHECK(h->items == nullptr);
  hp_lease_list_free(h);
  CHECK(hp_limiter_holders(nullptr, l, "u") == HP_EINVAL);
  CHECK(hp_limiter_release(l, "u", "a") == 1);
  CHECK(hp_limiter_renew(l, "u", "a", 1000) == 0);
  CHECK(hp_limiter_renew(l, "u", "b", 1000) == 1);
  CHECK(hp_limiter_set_add(l, "users", "x") == 1);
  CHECK(hp_limiter_set_has(l, "users", "x") == 1);
}

TEST_CASE("limits: memory GCRA (synchronous) never over-grants") {
  Limiter l(nullptr, "memory:");
  hp_rate_spec s = rate_spec(5, 3600000, 5);
  hp_rate_result r = HP_RATE_RESULT_INIT;
  for (uint32_t i = 0; i < 5; i++) {
    REQUIRE(hp_limiter_hit(&r, l, "k", &s) == 0);
    CHECK(r.allowed == 1);
    CHECK(r.remaining == 4 - i);
  }
  REQUIRE(hp_limiter_hit(&r, l, "k", &s) == 0);
  CHECK(r.allowed == 0);
  // One hit per 720 s comes back first.
  CHECK(r.retry_after_ms > 719000);
  CHECK(r.retry_after_ms <= 720000);
  CHECK(r.reset_after_ms > 3599000);
}

TEST_CASE("limits: memory and SQLite through the asynchronous calls") {
  OwnedEngine e;
  TempDir dir;
  SUBCASE("memory") {
    Limiter l(e.e, "memory:");
    lease_semantics(l);
    rate_semantics(l);
  }
  SUBCASE("sqlite on the calling thread") {
    hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
    o.sqlite_inline = 1;
    Limiter l(e.e, dir.spec(), &o);
    CHECK(hp_limiter_backend(l) == HP_BACKEND_SQLITE);
    lease_semantics(l);
    rate_semantics(l);
  }
  SUBCASE("sqlite on the thread pool") {
    Limiter l(e.e, dir.spec("pool.db"));
    lease_semantics(l);
    rate_semantics(l);
  }
}

TEST_CASE("limits: SQLite state is shared by limiters on one file and survives a reopen") {
  TempDir dir;
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  {
    Limiter a(nullptr, dir.spec());
    REQUIRE(hp_limiter_acquire(&r, a, "u", "s1", 2, 60000, nullptr) == 0);
    CHECK(r.status == HP_LEASE_GRANTED);
    CHECK(hp_limiter_set_add(a, "users", "u") == 1);
  }
  Limiter b(nullptr, dir.spec());
  Limiter c(nullptr, dir.spec());
  REQUIRE(hp_limiter_acquire(&r, b, "u", "s2", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
  REQUIRE(hp_limiter_acquire(&r, c, "u", "s3", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_DENIED);
  REQUIRE(r.holders);
  CHECK(r.holders->count == 2);
  hp_lease_list_free(r.holders);
  CHECK(hp_limiter_set_has(c, "users", "u") == 1);
  // Prefixes keep limiters apart in one file.
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.prefix = "other";
  Limiter d(nullptr, dir.spec(), &o);
  REQUIRE(hp_limiter_acquire(&r, d, "u", "s3", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
}

TEST_CASE("limits: a SQLite lock held past the timeout answers HP_EUNAVAILABLE, then recovers") {
  TempDir dir;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 50;
  Limiter l(nullptr, dir.spec(), &o);
  sqlite3 *raw = nullptr;
  REQUIRE(sqlite3_open((dir.path / "limits.db").c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  auto t0 = std::chrono::steady_clock::now();
  CHECK(hp_limiter_acquire(&r, l, "u", "s", 3, 1000, nullptr) == HP_EUNAVAILABLE);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  // Reads go on under WAL while a writer holds the lock.
  CHECK(hp_limiter_set_has(l, "users", "x") == 0);
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  CHECK(hp_limiter_acquire(&r, l, "u", "s", 3, 1000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
}

// Many threads race for 3 slots of one subject: exactly 3 are granted.
static void thread_hammer(hp_limiter *l) {
  std::atomic<int> granted{0}, errors{0};
  std::set<uint64_t> ids;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        hp_lease_result r = HP_LEASE_RESULT_INIT;
        std::string res = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (hp_limiter_acquire(&r, l, "hammer", res.c_str(), 3, 60000, nullptr) != 0) {
          errors++;
          continue;
        }
        hp_lease_list_free(r.holders);
        if (r.status == HP_LEASE_GRANTED) {
          granted++;
          std::lock_guard<std::mutex> lock(mu);
          ids.insert(r.lease_id);
        }
      }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(granted == 3);
  CHECK(ids.size() == 3);
  hp_lease_list *h = nullptr;
  CHECK(hp_limiter_holders(&h, l, "hammer") == 3);
  hp_lease_list_free(h);

  // And GCRA: 100 per hour across 8 threads x 100 hits gives exactly 100.
  std::atomic<int> allowed{0};
  threads.clear();
  hp_rate_spec s = rate_spec(100, 3600000, 100);
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < 100; i++) {
        hp_rate_result r = HP_RATE_RESULT_INIT;
        if (hp_limiter_hit(&r, l, "hammer-rate", &s) == 0 && r.allowed) allowed++;
      }
    });
  for (auto &t : threads) t.join();
  CHECK(allowed == 100);
}

TEST_CASE("limits: memory hammer from 8 threads") {
  Limiter l(nullptr, "memory:");
  thread_hammer(l);
}

// New keys grow the table, expired ones are swept, while other threads
// hit: a hit that races a sweep or a growth is never lost.
TEST_CASE("limits: memory GCRA stays exact while keys are added, swept and rehashed") {
  Limiter l(nullptr, "memory:");
  const int keys = 3000;
  std::atomic<int> allowed{0}, errors{0};
  std::vector<std::thread> threads;
  hp_rate_spec hourly = rate_spec(3, 3600000, 3);
  hp_rate_spec brief = rate_spec(1, 1, 1);  // back to a full burst after 1 ms: swept
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2; round++)
        for (int i = 0; i < keys; i++) {
          int k = (i * 7 + t * 911 + round * 13) % keys;
          std::string key = "grow:" + std::to_string(k), churn = "churn:" + std::to_string(t) + ":" +
                                                                   std::to_string(round * keys + i);
          hp_rate_result r = HP_RATE_RESULT_INIT;
          if (hp_limiter_hit(&r, l, key.c_str(), &hourly) != 0) errors++;
          if (r.allowed) allowed++;
          if (hp_limiter_hit(&r, l, churn.c_str(), &brief) != 0) errors++;
        }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(allowed == 3 * keys);
}

// Subjects whose last lease went are kept for reuse, then dropped in bulk:
// neither may lose or invent a lease.
TEST_CASE("limits: memory leases survive idle subjects being dropped") {
  Limiter l(nullptr, "memory:");
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 5000; i++) {
      std::string sub = "idle:" + std::to_string(i);
      REQUIRE(hp_limiter_acquire(&r, l, sub.c_str(), "a", 1, 60000, nullptr) == 0);
      CHECK(r.status == (round == 0 ? HP_LEASE_GRANTED : HP_LEASE_ALREADY_HELD));
      REQUIRE(hp_limiter_acquire(&r, l, sub.c_str(), "b", 2, 60000, nullptr) == 0);
      CHECK(r.status == HP_LEASE_GRANTED);
      CHECK(hp_limiter_release(l, sub.c_str(), "b") == 1);
      std::string passing = "passing:" + std::to_string(round) + ":" + std::to_string(i);
      REQUIRE(hp_limiter_acquire(&r, l, passing.c_str(), "x", 1, 60000, nullptr) == 0);
      CHECK(r.status == HP_LEASE_GRANTED);
      CHECK(hp_limiter_release(l, passing.c_str(), "x") == 1);
    }
  hp_lease_list *h = nullptr;
  for (int i = 0; i < 5000; i += 97) {
    std::string sub = "idle:" + std::to_string(i);
    REQUIRE(hp_limiter_holders(&h, l, sub.c_str()) == 1);
    CHECK(std::string(h->items[0].resource) == "a");
    hp_lease_list_free(h);
    CHECK(hp_limiter_release(l, sub.c_str(), "a") == 1);
    CHECK(hp_limiter_holders(&h, l, sub.c_str()) == 0);
    hp_lease_list_free(h);
  }
}

TEST_CASE("limits: SQLite hammer from 8 threads") {
  TempDir dir;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 5000;
  Limiter l(nullptr, dir.spec(), &o);
  thread_hammer(l);
}

TEST_CASE("limits: SQLite hammer from 6 processes on one file") {
  TempDir dir;
  std::string spec = dir.spec();
  { Limiter init(nullptr, spec); }
  std::vector<pid_t> kids;
  std::vector<int> pipes;
  for (int p = 0; p < 6; p++) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      hp_limiter *l = nullptr;
      hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
      o.timeout_ms = 10000;
      int granted = 0, errors = 0;
      if (hp_limiter_open(&l, nullptr, spec.c_str(), &o) != 0) _exit(2);
      for (int i = 0; i < 100; i++) {
        hp_lease_result r = HP_LEASE_RESULT_INIT;
        std::string res = "p" + std::to_string(p) + "-" + std::to_string(i);
        if (hp_limiter_acquire(&r, l, "hammer", res.c_str(), 3, 60000, nullptr) != 0)
          errors++;
        else if (r.status == HP_LEASE_GRANTED)
          granted++;
        hp_lease_list_free(r.holders);
        hp_rate_spec s = rate_spec(50, 3600000, 50);
        hp_rate_result rr = HP_RATE_RESULT_INIT;
        if (hp_limiter_hit(&rr, l, "hammer-rate", &s) != 0)
          errors++;
        else if (rr.allowed)
          granted += 1000;
      }
      hp_limiter_close(l, NULL, NULL);
      int out[2] = {granted, errors};
      ssize_t n = write(fds[1], out, sizeof out);
      _exit(n == sizeof out ? 0 : 3);
    }
    close(fds[1]);
    kids.push_back(pid);
    pipes.push_back(fds[0]);
  }
  int leases = 0, hits = 0, errors = 0;
  for (size_t i = 0; i < kids.size(); i++) {
    int out[2] = {0, 0};
    CHECK(read(pipes[i], out, sizeof out) == sizeof out);
    close(pipes[i]);
    int status = 0;
    waitpid(kids[i], &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    leases += out[0] % 1000;
    hits += out[0] / 1000;
    errors += out[1];
  }
  CHECK(errors == 0);
  CHECK(leases == 3);
  CHECK(hits == 50);
}

// ------------------------------------------------------------------ Redis

namespace {

struct RedisProbe {
  redisContext *c;
  explicit RedisProbe(int port) {
    c = redisConnect("127.0.0.1", port);
    REQUIRE(c);
    REQUIRE(c->err == 0);
  }
  ~RedisProbe() { redisFree(c); }
  std::string info(const char *section) {
    auto *r = static_cast<redisReply *>(redisCommand(c, "INFO %s", section));
    std::string s = r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
    freeReplyObject(r);
    return s;
  }
  // calls=N of one command in INFO commandstats (0 when absent).
  long calls(const std::string &cmd) {
    std::string s = info("commandstats");
    auto at = s.find("cmdstat_" + cmd + ":calls=");
    if (at == std::string::npos) return 0;
    return std::atol(s.c_str() + at + cmd.size() + 15);
  }
  // Starts MONITOR on this connection: every command the server runs is
  // echoed here, top-level ones with the client's address, script ones
  // with "lua".
  void monitor() {
    auto *r = static_cast<redisReply *>(redisCommand(c, "MONITOR"));
    REQUIRE(r);
    freeReplyObject(r);
  }
  // Reads what MONITOR echoed until the server has been quiet for 300 ms.
  std::vector<std::string> monitored() {
    timeval tv{0, 300000};
    redisSetTimeout(c, tv);
    std::vector<std::string> lines;
    void *reply = nullptr;
    while (redisGetReply(c, &reply) == REDIS_OK) {
      auto *r = static_cast<redisReply *>(reply);
      lines.emplace_back(r->str, r->len);
      freeReplyObject(r);
    }
    return lines;
  }
  std::vector<std::string> keys() {
    auto *r = static_cast<redisReply *>(redisCommand(c, "KEYS *"));
    std::vector<std::string> out;
    for (size_t i = 0; r && i < r->elements; i++) out.emplace_back(r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return out;
  }
};

}  // namespace

TEST_CASE("limits: Redis leases and GCRA on a real server") {
  hp_test::RedisServer server;
  OwnedEngine e;
  Limiter l(e.e, server.url());
  CHECK(hp_limiter_backend(l) == HP_BACKEND_REDIS);
  lease_semantics(l);
  rate_semantics(l);
  // Every key of a subject carries its hash tag, so one slot holds them all.
  RedisProbe probe(server.port());
  CHECK(acquire_async(l, "user:42", "s", 3, 60000).status == HP_LEASE_GRANTED);
  int tagged = 0;
  for (auto &k : probe.keys()) {
    CHECK(k.find('{') != std::string::npos);
    if (k.find("{user:42}") != std::string::npos) tagged++;
  }
  CHECK(tagged == 2);
}

TEST_CASE("limits: Redis makes exactly one round trip per check") {
  hp_test::RedisServer server;
  OwnedEngine e;
  Limiter l(e.e, server.url());
  RedisProbe probe(server.port());
  // The first calls load the scripts (EVALSHA, NOSCRIPT, then EVAL).
  acquire_async(l, "u", "warm", 3, 60000);
  release_async(l, "u", "warm");
  renew_async(l, "u", "warm", 1000);
  holders_async(l, "u");
  hit_async(l, "k", rate_spec(10, 1000, 10));
  long evalsha = probe.calls("evalsha");
  long eval = probe.calls("eval");
  RedisProbe monitor(server.port());
  monitor.monitor();
  const int n = 200;
  for (int i = 0; i < n; i++) {
    std::string res = "s" + std::to_string(i % 5);
    acquire_async(l, "u", res.c_str(), 3, 60000);
    hit_async(l, "k", rate_spec(10, 1000, 10));
  }
  release_async(l, "u", "s0");
  renew_async(l, "u", "s1", 1000);
  holders_async(l, "u");
  const long checks = 2 * n + 3;
  CHECK(probe.calls("evalsha") - evalsha == checks);
  CHECK(probe.calls("eval") - eval == 0);
  // MONITOR: the limiter's connection sent exactly one command per check;
  // everything else ran inside the scripts.
  long top = 0, evalsha_lines = 0;
  for (auto &line : monitor.monitored()) {
    if (line.find(" lua] ") != std::string::npos) continue;
    if (line.find("\"INFO\"") != std::string::npos) continue;  // the probe's own
    top++;
    if (line.find("\"EVALSHA\"") != std::string::npos) evalsha_lines++;
  }
  CHECK(top == checks);
  CHECK(evalsha_lines == checks);
}

TEST_CASE("limits: Redis decides the hits of one loop turn in one EVALSHA, each exactly") {
  hp_test::RedisServer server;
  OwnedEngine e;
  Limiter l(e.e, server.url());
  RedisProbe probe(server.port());
  hit_async(l, "warm", rate_spec(10, 1000, 10));  // loads the script
  long before = probe.calls("evalsha");
  // 300 hits on 3 keys, 50 allowed per key: the counts come out exact
  // however the hits were gathered.
  std::vector<std::string> keys;
  for (int i = 0; i < 300; i++) keys.push_back("k" + std::to_string(i % 3));
  // A key that holds another type fails its own hits only.
  auto *r = static_cast<redisReply *>(redisCommand(probe.c, "HSET hp:lim:{wrong}:rate a 1"));
  freeReplyObject(r);
  keys.insert(keys.begin() + 150, "wrong");
  auto results = hit_all(l, keys, rate_spec(50, 3600000, 50));
  std::map<std::string, int> allowed;
  for (size_t i = 0; i < keys.size(); i++) {
    if (keys[i] == "wrong") {
      CHECK(results[i].rc == HP_EIO);
      continue;
    }
    REQUIRE(results[i].rc == 0);
    if (results[i].r.allowed) allowed[keys[i]]++;
  }
  CHECK(allowed["k0"] == 50);
  CHECK(allowed["k1"] == 50);
  CHECK(allowed["k2"] == 50);
  long calls = probe.calls("evalsha") - before;
  INFO("EVALSHA calls for 301 hits: " << calls);
  CHECK(calls >= 3);  // at most 128 hits per call
  CHECK(calls < 301);
  // The wrong key keeps what it held.
  r = static_cast<redisReply *>(redisCommand(probe.c, "TYPE hp:lim:{wrong}:rate"));
  CHECK(std::string(r->str) == "hash");
  freeReplyObject(r);
}

TEST_CASE("limits: on Redis Cluster every hit goes alone (no cross-slot scripts)") {
  // A one-node cluster that owns every slot: scripts whose keys lie in
  // several slots fail with CROSSSLOT, as on any cluster.
  int bus = hp_test::free_port();
  std::string conf = "/tmp/hp-cluster-" + std::to_string(bus) + ".conf";
  hp_test::RedisServer server(std::vector<std::string>{"--cluster-enabled", "yes", "--cluster-config-file",
                                                       conf, "--cluster-port", std::to_string(bus)});
  RedisProbe probe(server.port());
  auto *r = static_cast<redisReply *>(redisCommand(probe.c, "CLUSTER ADDSLOTSRANGE 0 16383"));
  REQUIRE(r);
  CHECK(r->type == REDIS_REPLY_STATUS);
  freeReplyObject(r);
  auto state_ok = [&] {
    auto *info = static_cast<redisReply *>(redisCommand(probe.c, "CLUSTER INFO"));
    bool ok = info && info->type == REDIS_REPLY_STRING && std::strstr(info->str, "cluster_state:ok");
    freeReplyObject(info);
    return ok;
  };
  for (int i = 0; i < 400 && !state_ok(); i++) sleep_ms(25);  // about 2 s after the slots
  REQUIRE(state_ok());
  OwnedEngine e;
  Limiter l(e.e, server.url());
  std::vector<std::string> keys;
  for (int i = 0; i < 200; i++) keys.push_back("user" + std::to_string(i % 20));
  for (int round = 0; round < 2; round++) {
    auto results = hit_all(l, keys, rate_spec(5, 3600000, 5));
    int allowed = 0;
    for (auto &c : results) {
      REQUIRE(c.rc == 0);
      allowed += c.r.allowed;
    }
    CHECK(allowed == (round == 0 ? 100 : 0));  // 5 for each of the 20 keys
  }
  std::remove(conf.c_str());
}

TEST_CASE("limits: Redis down answers HP_EUNAVAILABLE within the timeout, then recovers") {
  hp_test::RedisServer server;
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 100;
  Limiter l(e.e, server.url(), &o);
  REQUIRE(acquire_async(l, "u", "a", 3, 60000).status == HP_LEASE_GRANTED);

  SUBCASE("stopped") {
    server.stop();
    for (int i = 0; i < 5; i++) {
      auto t0 = std::chrono::steady_clock::now();
      LeaseCopy c = acquire_async(l, "u", "b", 3, 60000);
      CHECK(c.rc == HP_EUNAVAILABLE);
      CHECK(!c.error.empty());
      CHECK(hit_async(l, "k", rate_spec(1, 1000, 1)).rc == HP_EUNAVAILABLE);
      CHECK(ping_async(l) == HP_EUNAVAILABLE);
      CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    }
    server.start();
  }
  SUBCASE("paused (connection open, no replies)") {
    server.pause();
    auto t0 = std::chrono::steady_clock::now();
    CHECK(acquire_async(l, "u", "b", 3, 60000).rc == HP_EUNAVAILABLE);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    server.resume();
  }
  // Recovery by itself: the client reconnects with backoff (at most 1 s).
  int rc = -1;
  for (int i = 0; i < 100 && rc != 0; i++) {
    rc = ping_async(l);
    if (rc != 0) sleep_ms(50);
  }
  CHECK(rc == 0);
  LeaseCopy c = acquire_async(l, "u2", "b", 3, 60000);
  CHECK(c.rc == 0);
  CHECK(c.status == HP_LEASE_GRANTED);
}

TEST_CASE("limits: Redis hammer from 8 threads and closing with calls in flight") {
  hp_test::RedisServer server;
  OwnedEngine e;
  Limiter l(e.e, server.url());
  std::atomic<int> granted{0}, allowed{0}, errors{0};
  std::vector<std::thread> threads;
  hp_rate_spec s = rate_spec(100, 3600000, 100);
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        std::string res = "t" + std::to_string(t) + "-" + std::to_string(i);
        LeaseCopy c = acquire_async(l, "hammer", res.c_str(), 3, 60000);
        if (c.rc != 0) errors++;
        if (c.status == HP_LEASE_GRANTED) granted++;
        RateCopy r = hit_async(l, "hammer-rate", s);
        if (r.rc != 0) errors++;
        if (r.r.allowed) allowed++;
      }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(granted == 3);
  CHECK(allowed == 100);

  // Calls in flight when the limiter closes still get their callback once.
  hp_limiter *l2 = nullptr;
  REQUIRE(hp_limiter_open(&l2, e.e, server.url().c_str(), nullptr) == 0);
  std::atomic<int> called{0};
  for (int i = 0; i < 20; i++)
    REQUIRE(hp_limiter_ping_async(l2, [](int, void *d) { (*static_cast<std::atomic<int> *>(d))++; }, &called) == 0);
  hp_limiter_close(l2, NULL, NULL);
  for (int i = 0; i < 200 && called < 20; i++) sleep_ms(10);
  CHECK(called == 20);
}

TEST_CASE("limits: closing the engine fails pending Redis calls with HP_ECLOSED") {
  hp_test::RedisServer server;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, e, server.url().c_str(), nullptr) == 0);
  server.pause();
  std::atomic<int> closed{0}, other{0};
  struct Counts {
    std::atomic<int> *closed, *other;
  } counts{&closed, &other};
  for (int i = 0; i < 10; i++)
    REQUIRE(hp_limiter_ping_async(
                l,
                [](int status, void *d) {
                  auto *c = static_cast<Counts *>(d);
                  (status == HP_ECLOSED ? *c->closed : *c->other)++;
                },
                &counts) == 0);
  CHECK(hp_engine_free(e) == 0);
  CHECK(closed + other == 10);
  CHECK(hp_limiter_ping_async(l, [](int, void *) {}, nullptr) == HP_ECLOSED);
  hp_limiter_close(l, NULL, NULL);
  server.resume();
}

TEST_CASE("limits: 10,000 expired leases of one subject are dropped in slices (no unbounded unpack)") {
  hp_test::RedisServer server;
  RedisProbe probe(server.port());
  // Leases that expired long ago, as a crowd of crashed clients leaves them.
  for (int from = 0; from < 10000; from += 1000) {
    std::vector<std::string> zadd = {"ZADD", "hp:lim:{crowd}:leases"}, hset = {"HSET", "hp:lim:{crowd}:ids"};
    for (int i = from; i < from + 1000; i++) {
      zadd.push_back("1");
      zadd.push_back("r" + std::to_string(i));
      hset.push_back("r" + std::to_string(i));
      hset.push_back(std::to_string(i + 1));
    }
    for (auto *args : {&zadd, &hset}) {
      std::vector<const char *> argv;
      std::vector<size_t> lens;
      for (auto &a : *args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      freeReplyObject(redisCommandArgv(probe.c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    }
  }
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 2000;
  Limiter l(e.e, server.url(), &o);
  LeaseCopy c = acquire_async(l, "crowd", "fresh", 3, 60000);
  INFO(c.error);
  REQUIRE(c.rc == 0);
  CHECK(c.status == HP_LEASE_GRANTED);
  CHECK(c.count == 1);
  CHECK(holders_async(l, "crowd") == std::vector<std::string>{"fresh"});
  auto *r = static_cast<redisReply *>(redisCommand(probe.c, "HLEN hp:lim:{crowd}:ids"));
  CHECK(r->integer == 2);  // the fresh lease and the id counter
  freeReplyObject(r);
}

TEST_CASE("limits: a timed-out acquire has an unknown outcome; retrying the same acquire is idempotent") {
  hp_test::RedisServer server;
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 200;
  Limiter l(e.e, server.url(), &o);
  // The script is cached: the paused server gets EVALSHA, not a NOSCRIPT.
  REQUIRE(acquire_async(l, "warm", "up", 1, 1000).status == HP_LEASE_GRANTED);
  server.pause();
  LeaseCopy first = acquire_async(l, "retry", "stream-1", 2, 60000);
  CHECK(first.rc == HP_EUNAVAILABLE);
  server.resume();
  // The server still ran the script it had read: the grant landed.
  RedisProbe probe(server.port());
  bool landed = false;
  for (int i = 0; i < 100 && !landed; i++) {
    auto *r = static_cast<redisReply *>(redisCommand(probe.c, "ZCARD hp:lim:{retry}:leases"));
    landed = r && r->integer == 1;
    freeReplyObject(r);
    if (!landed) sleep_ms(10);
  }
  CHECK(landed);
  LeaseCopy again;
  for (int i = 0; i < 100; i++) {  // until the client has reconnected
    again = acquire_async(l, "retry", "stream-1", 2, 60000);
    if (again.rc == 0) break;
    sleep_ms(20);
  }
  REQUIRE(again.rc == 0);
  CHECK(again.status == HP_LEASE_ALREADY_HELD);
  CHECK(again.count == 1);  // one slot, not two
  LeaseCopy other = acquire_async(l, "retry", "stream-2", 2, 60000);
  CHECK(other.status == HP_LEASE_GRANTED);
  CHECK(other.id > again.id);
  CHECK(acquire_async(l, "retry", "stream-3", 2, 60000).status == HP_LEASE_DENIED);
}

TEST_CASE("limits: on a 3-master Redis Cluster, leases, renew, release, holders and hits") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.prefix = "hp:lim:semantics";
  o.timeout_ms = 1000;
  Limiter l(e.e, cluster.url(), &o);
  CHECK(hp_limiter_backend(l) == HP_BACKEND_REDIS);
  lease_semantics(l);
  rate_semantics(l);
  // Many keys: every master decides some.
  std::vector<std::string> keys;
  for (int i = 0; i < 60; i++) keys.push_back("spread" + std::to_string(i % 30));
  auto results = hit_all(l, keys, rate_spec(1, 3600000, 1));
  int allowed = 0;
  for (auto &c : results) {
    REQUIRE(c.rc == 0);
    allowed += c.r.allowed;
  }
  CHECK(allowed == 30);
  for (size_t i = 0; i < cluster.size(); i++) CHECK(std::stoll(cluster.text(i, {"DBSIZE"})) > 0);
}

TEST_CASE("limits: 0 over-grants while the subjects' slots migrate between masters under a hammer") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.prefix = "hp:lim:move";
  o.timeout_ms = 2000;
  Limiter l(e.e, cluster.url(), &o);
  const std::vector<std::string> subjects = {"mover-a", "mover-b", "mover-c", "mover-d"};
  constexpr uint32_t kLimit = 3;
  constexpr uint32_t kRate = 40;
  // Keys exist before the move, so it has something to carry.
  for (auto &s : subjects) REQUIRE(acquire_async(l, s.c_str(), "seed", kLimit, 600000).status == HP_LEASE_GRANTED);
  std::atomic<bool> moving{true};
  std::atomic<int> moved{0};
  std::thread mover([&] {
    for (auto &s : subjects) {
      int slot = hp::redis::key_slot(s);
      moved += cluster.migrate(slot, (cluster.owner(slot) + 1) % cluster.size(), 15, 1);
    }
    moving = false;
  });
  std::mutex mu;
  std::map<std::string, std::set<std::string>> granted;
  std::map<std::string, int> allowed;
  std::atomic<int> calls{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; moving || i < 20; i++) {
        const std::string &s = subjects[(t + i) % subjects.size()];
        std::string res = "t" + std::to_string(t) + "-" + std::to_string(i);
        LeaseCopy c = acquire_async(l, s.c_str(), res.c_str(), kLimit, 600000);
        RateCopy r = hit_async(l, s.c_str(), rate_spec(kRate, 3600000, kRate));  // same slot
        calls += 2;
        std::lock_guard<std::mutex> lock(mu);
        if (c.rc != 0 || r.rc != 0) errors++;
        if (c.rc == 0 && c.status == HP_LEASE_GRANTED) granted[s].insert(res);
        if (r.rc == 0 && r.r.allowed) allowed[s]++;
      }
    });
  for (auto &t : threads) t.join();
  mover.join();
  MESSAGE("migrated ", moved.load(), " keys; ", calls.load(), " calls, ", errors.load(), " errors");
  CHECK(moved > 0);
  CHECK(errors == 0);
  for (auto &s : subjects) {
    CHECK(granted[s].size() <= kLimit - 1);  // "seed" holds one slot
    CHECK(allowed[s] <= static_cast<int>(kRate));
    CHECK(holders_async(l, s.c_str()).size() == kLimit);
  }
}

namespace {

// The synchronous calls, the same on every backend. `window`: rate limits
// count fixed windows (a local budget), not GCRA.
void sync_semantics(hp_limiter *l, bool window = false) {
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  REQUIRE(hp_limiter_acquire(&r, l, "sync:u", "a", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
  CHECK(r.holders == nullptr);
  uint64_t first = r.lease_id;
  REQUIRE(hp_limiter_acquire(&r, l, "sync:u", "a", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_ALREADY_HELD);
  CHECK(r.lease_id == first);
  REQUIRE(hp_limiter_acquire(&r, l, "sync:u", "b", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
  REQUIRE(hp_limiter_acquire(&r, l, "sync:u", "c", 2, 60000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_DENIED);
  CHECK(r.count == 2);
  REQUIRE(r.holders);
  REQUIRE(r.holders->count == 2);
  CHECK(std::string(r.holders->items[0].resource) == "a");
  CHECK(r.holders->items[0].lease_id == first);
  // The list is the caller's: another call (here on another thread) leaves it alone.
  std::thread([l] {
    hp_lease_result other = HP_LEASE_RESULT_INIT;
    CHECK(hp_limiter_acquire(&other, l, "sync:u", "zz", 2, 60000, nullptr) == 0);
    CHECK(other.status == HP_LEASE_DENIED);
    hp_lease_list_free(other.holders);
  }).join();
  hp_lease_result again = HP_LEASE_RESULT_INIT;
  REQUIRE(hp_limiter_acquire(&again, l, "sync:u", "d", 2, 60000, nullptr) == 0);
  CHECK(std::string(r.holders->items[1].resource) == "b");
  hp_lease_list_free(again.holders);
  hp_lease_list_free(r.holders);

  hp_lease_list *h = nullptr;
  REQUIRE(hp_limiter_holders(&h, l, "sync:u") == 2);
  REQUIRE(h);
  CHECK(h->count == 2);
  CHECK(std::string(h->items[0].resource) == "a");
  CHECK(std::string(h->items[1].resource) == "b");
  CHECK(h->items[1].expires_in_ms > 50000);
  hp_lease_list_free(h);
  CHECK(hp_limiter_renew(l, "sync:u", "b", 120000) == 1);
  CHECK(hp_limiter_release(l, "sync:u", "a") == 1);
  CHECK(hp_limiter_release(l, "sync:u", "a") == 0);
  CHECK(hp_limiter_renew(l, "sync:u", "a", 1000) == 0);
  CHECK(hp_limiter_set_add(l, "sync:users", "x") == 1);
  CHECK(hp_limiter_set_add(l, "sync:users", "x") == 0);
  CHECK(hp_limiter_set_has(l, "sync:users", "x") == 1);
  CHECK(hp_limiter_set_has(l, "sync:users", "y") == 0);

  hp_rate_spec s = rate_spec(3, 3600000, 3);
  hp_rate_result rr = HP_RATE_RESULT_INIT;
  for (int i = 0; i < 3; i++) {
    REQUIRE(hp_limiter_hit(&rr, l, "sync:k", &s) == 0);
    CHECK(rr.allowed == 1);
  }
  REQUIRE(hp_limiter_hit(&rr, l, "sync:k", &s) == 0);
  CHECK(rr.allowed == 0);
  // GCRA: the next hit comes back in 20 minutes; a window: when it ends.
  CHECK(rr.retry_after_ms > (window ? 0u : 1000000u));
}

// 8 threads race synchronous acquires for 3 slots and hits for 40.
void sync_hammer(hp_limiter *l) {
  std::atomic<int> granted{0}, allowed{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      hp_rate_spec s = rate_spec(40, 3600000, 40);
      for (int i = 0; i < 25; i++) {
        hp_lease_result r = HP_LEASE_RESULT_INIT;
        std::string res = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (hp_limiter_acquire(&r, l, "sync:hammer", res.c_str(), 3, 60000, nullptr) != 0)
          errors++;
        else if (r.status == HP_LEASE_GRANTED)
          granted++;
        hp_lease_list_free(r.holders);
        hp_rate_result rr = HP_RATE_RESULT_INIT;
        if (hp_limiter_hit(&rr, l, "sync:hammer-rate", &s) != 0)
          errors++;
        else if (rr.allowed)
          allowed++;
      }
    });
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(granted == 3);
  CHECK(allowed == 40);
}

}  // namespace

TEST_CASE("limits: a synchronous Redis call on the engine's loop thread refuses instead of deadlocking") {
  hp_test::RedisServer server;
  OwnedEngine e;
  Limiter l(e.e, server.url());
  struct Seen {
    hp_limiter *l;
    int acquire = 1, hit = 1, holders = 1, set_has = 1;
    std::string why;
    hp_lease_list *list = reinterpret_cast<hp_lease_list *>(1);
    std::promise<void> done;
  } seen{l, 1, 1, 1, 1, "", reinterpret_cast<hp_lease_list *>(1), {}};
  REQUIRE(hp_limiter_ping_async(
              l,
              [](int, void *data) {
                auto *s = static_cast<Seen *>(data);
                hp_lease_result r = HP_LEASE_RESULT_INIT;
                s->acquire = hp_limiter_acquire(&r, s->l, "u", "a", 1, 1000, nullptr);
                s->why = hp_last_error();
                hp_rate_spec spec = rate_spec(1, 1000, 1);
                hp_rate_result rr = HP_RATE_RESULT_INIT;
                s->hit = hp_limiter_hit(&rr, s->l, "k", &spec);
                s->holders = hp_limiter_holders(&s->list, s->l, "u");
                s->set_has = hp_limiter_set_has(s->l, "users", "u");
                s->done.set_value();
              },
              &seen) == 0);
  seen.done.get_future().wait();
  CHECK(seen.acquire == HP_EINVAL);
  CHECK(seen.why.find("would block the engine loop") != std::string::npos);
  CHECK(seen.hit == HP_EINVAL);
  CHECK(seen.holders == HP_EINVAL);
  CHECK(seen.list == nullptr);
  CHECK(seen.set_has == HP_EINVAL);
  // The same calls from this thread go through.
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  CHECK(hp_limiter_acquire(&r, l, "u", "a", 1, 1000, nullptr) == 0);
  CHECK(r.status == HP_LEASE_GRANTED);
}

TEST_CASE(
    "limits: a synchronous Redis call answers HP_EUNAVAILABLE within twice the timeout when Redis is down") {
  hp_test::RedisServer server;
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.timeout_ms = 100;
  Limiter l(e.e, server.url(), &o);
  CHECK(hp_limiter_set_add(l, "users", "u") == 1);
  bool paused = false;
  SUBCASE("stopped") {
    server.stop();
  }
  SUBCASE("paused") {
    server.pause();
    paused = true;
  }
  for (int i = 0; i < 3; i++) {
    auto t0 = std::chrono::steady_clock::now();
    hp_lease_result r = HP_LEASE_RESULT_INIT;
    CHECK(hp_limiter_acquire(&r, l, "u", "b", 3, 60000, nullptr) == HP_EUNAVAILABLE);
    CHECK(std::string(hp_last_error()) != "");
    CHECK(hp_limiter_set_has(l, "users", "u") == HP_EUNAVAILABLE);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  }
  if (paused)
    server.resume();
  else
    server.start();
  // The limiter comes back by itself (a restarted server has lost the set).
  int back = -1;
  for (int i = 0; i < 100 && back < 0; i++) {
    back = hp_limiter_set_add(l, "users", "v");
    if (back < 0) sleep_ms(50);
  }
  CHECK(back == 1);
  CHECK(hp_limiter_set_has(l, "users", "v") == 1);
  CHECK(hp_limiter_set_has(l, "users", "u") == (paused ? 1 : 0));
}

TEST_CASE("limits: closing a Redis limiter while threads make synchronous calls") {
  hp_test::RedisServer server;
  OwnedEngine e;
  for (int round = 0; round < 5; round++) {
    hp_limiter *l = nullptr;
    REQUIRE(hp_limiter_open(&l, e.e, server.url().c_str(), nullptr) == 0);
    std::atomic<int> ok{0}, closed{0}, other{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
      threads.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        for (int i = 0; i < 200; i++) {
          hp_lease_result r = HP_LEASE_RESULT_INIT;
          std::string res = "r" + std::to_string(t);
          int rc = hp_limiter_acquire(&r, l, "closing", res.c_str(), 8, 60000, nullptr);
          hp_lease_list_free(r.holders);
          if (rc == 0)
            ok++;
          else if (rc == HP_ECLOSED)
            closed++;
          else
            other++;
          if (rc == HP_ECLOSED) break;
        }
      });
    // The handle is freed after the close callback: the threads are joined
    // there (their calls answer HP_ECLOSED at once by then).
    struct Closing {
      std::vector<std::thread> *threads;
      std::promise<int> done;
    } closing{&threads, {}};
    go = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 3));
    REQUIRE(hp_limiter_close(
                l,
                [](int status, void *data) {
                  auto *c = static_cast<Closing *>(data);
                  for (auto &t : *c->threads) t.join();
                  c->done.set_value(status);
                },
                &closing) == 0);
    CHECK(closing.done.get_future().get() == 0);
    CHECK(other == 0);
    CHECK(ok + closed > 0);
  }
}

namespace {

// hp_lease_options naming `pairs` (set, member, set, member, ...).
struct Needs {
  std::vector<hp_lease_require> list;
  hp_lease_options opts = HP_LEASE_OPTIONS_INIT;
  Needs(std::initializer_list<std::pair<const char *, const char *>> pairs) {
    for (auto &[set, member] : pairs) list.push_back(hp_lease_require{set, member});
    opts.require = list.data();
    opts.require_count = list.size();
  }
  const hp_lease_options *get() const { return &opts; }
};

LeaseCopy acquire_if(hp_limiter *l, const char *sub, const char *res, uint32_t limit, const Needs &needs,
                     uint32_t *missing = nullptr) {
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  LeaseCopy c;
  c.rc = hp_limiter_acquire(&r, l, sub, res, limit, 60000, needs.get());
  if (c.rc < 0) return c;
  c.status = r.status;
  c.count = r.count;
  c.id = r.lease_id;
  if (missing) *missing = r.missing;
  hp_lease_list_free(r.holders);
  return c;
}

// An acquire that requires memberships, the same on every backend.
void conditional_semantics(hp_limiter *l) {
  REQUIRE(hp_limiter_set_add(l, "users", "cu1") == 1);
  REQUIRE(hp_limiter_set_add(l, "streams", "cs1") == 1);
  REQUIRE(hp_limiter_set_add(l, "streams", "cs2") == 1);
  uint32_t missing = 99;
  CHECK(acquire_if(l, "cu1", "cs1", 1, {{"users", "cu1"}, {"streams", "cs1"}}, &missing).status ==
        HP_LEASE_GRANTED);
  CHECK(missing == 0);
  CHECK(acquire_if(l, "cu1", "cs1", 1, {{"users", "cu1"}, {"streams", "cs1"}}).status ==
        HP_LEASE_ALREADY_HELD);
  // Unknown user, unknown stream: nothing taken, the first missing named.
  CHECK(acquire_if(l, "cu2", "cs1", 1, {{"users", "cu2"}, {"streams", "cs1"}}, &missing).status ==
        HP_LEASE_NOT_MEMBER);
  CHECK(missing == 0);
  CHECK(acquire_if(l, "cu1", "cs9", 3, {{"users", "cu1"}, {"streams", "cs9"}}, &missing).status ==
        HP_LEASE_NOT_MEMBER);
  CHECK(missing == 1);
  hp_lease_list *h = nullptr;
  CHECK(hp_limiter_holders(&h, l, "cu2") == 0);
  hp_lease_list_free(h);
  CHECK(hp_limiter_holders(&h, l, "cu1") == 1);
  hp_lease_list_free(h);
  // Known, but over the limit: denied as before.
  CHECK(acquire_if(l, "cu1", "cs2", 1, {{"users", "cu1"}, {"streams", "cs2"}}).status == HP_LEASE_DENIED);
  // The same through the asynchronous call (when the limiter has an engine).
  Needs needs{{"users", "cu3"}};
  struct Got {
    std::promise<std::pair<int, hp_lease_result>> p;
  } got;
  int rc = hp_limiter_acquire_async(
      l, "cu3", "cs1", 1, 60000, needs.get(),
      [](int status, const hp_lease_result *r, void *data) {
        static_cast<Got *>(data)->p.set_value({status, r ? *r : hp_lease_result HP_LEASE_RESULT_INIT});
      },
      &got);
  if (rc == 0) {
    auto [status, r] = got.p.get_future().get();
    CHECK(status == 0);
    CHECK(r.status == HP_LEASE_NOT_MEMBER);
    CHECK(r.missing == 0);
  }
  // Arguments.
  hp_lease_result r = HP_LEASE_RESULT_INIT;
  hp_lease_options bad = HP_LEASE_OPTIONS_INIT;
  bad.version = 99;
  CHECK(hp_limiter_acquire(&r, l, "cu1", "cs1", 1, 1000, &bad) == HP_EINVAL);
  bad = HP_LEASE_OPTIONS_INIT;
  bad.require_count = 1;
  CHECK(hp_limiter_acquire(&r, l, "cu1", "cs1", 1, 1000, &bad) == HP_EINVAL);
  hp_lease_require many[HP_LEASE_REQUIRE_MAX + 1];
  for (auto &m : many) m = hp_lease_require{"users", "cu1"};
  bad.require = many;
  bad.require_count = HP_LEASE_REQUIRE_MAX + 1;
  CHECK(hp_limiter_acquire(&r, l, "cu1", "cs1", 1, 1000, &bad) == HP_EINVAL);
  bad.require_count = HP_LEASE_REQUIRE_MAX;
  CHECK(hp_limiter_acquire(&r, l, "cu1", "cs1", 1, 1000, &bad) == 0);
  many[0].member = "";
  bad.require_count = 1;
  CHECK(hp_limiter_acquire(&r, l, "cu1", "cs1", 1, 1000, &bad) == HP_EINVAL);
}

// 8 threads race conditional acquires for 3 slots while the member is
// added: nothing for an acquire over before the add began, exactly 3 after.
void conditional_race(hp_limiter *l) {
  std::atomic<int> granted{0}, errors{0}, early{0};
  std::atomic<bool> adding{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++)
    threads.emplace_back([&, t] {
      int after = 0;
      for (int i = 0; after < 25; i++) {
        std::string res = "t" + std::to_string(t) + "-" + std::to_string(i);
        LeaseCopy c = acquire_if(l, "racer", res.c_str(), 3, {{"users", "racer"}});
        if (c.rc != 0) {
          errors++;
          return;
        }
        if (c.status == HP_LEASE_NOT_MEMBER) continue;
        if (!adding.load()) early++;  // granted before the member was being added
        after++;
        if (c.status == HP_LEASE_GRANTED) granted++;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  adding = true;
  REQUIRE(hp_limiter_set_add(l, "users", "racer") == 1);
  for (auto &t : threads) t.join();
  CHECK(errors == 0);
  CHECK(early == 0);
  CHECK(granted == 3);
}

// Each backend: the synchronous calls from many threads, and acquires that
// require memberships.
void every_call(hp_limiter *l, bool window = false) {
  sync_semantics(l, window);
  sync_hammer(l);
  conditional_semantics(l);
  conditional_race(l);
}

}  // namespace

TEST_CASE("limits: the synchronous calls and conditional acquires work on every backend, from many threads") {
  TempDir dir;
  SUBCASE("memory") {
    Limiter l(nullptr, "memory:");
    every_call(l);
  }
  SUBCASE("sqlite") {
    OwnedEngine e;
    Limiter l(e.e, dir.spec());
    every_call(l);
  }
  SUBCASE("redis") {
    hp_test::RedisServer server;
    OwnedEngine e;
    Limiter l(e.e, server.url());
    every_call(l);
  }
  SUBCASE("redis with a local budget") {
    hp_test::RedisServer server;
    OwnedEngine e;
    hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
    o.local_budget = 4;
    Limiter l(e.e, server.url(), &o);
    every_call(l, true);
  }
}

TEST_CASE("limits: conditional acquires on a Redis Cluster, in one slot and across slots") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  OwnedEngine e;
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  o.prefix = "hp:lim:cond";
  o.timeout_ms = 1000;
  Limiter l(e.e, cluster.url(), &o);
  // Across slots: the sets' keys are tagged {users} and {streams}.
  conditional_semantics(l);
  conditional_race(l);
  // One slot: a set named as the subject shares its hash tag.
  REQUIRE(hp_limiter_set_add(l, "team", "alice") == 1);
  uint32_t missing = 9;
  CHECK(acquire_if(l, "team", "s1", 2, {{"team", "alice"}}).status == HP_LEASE_GRANTED);
  CHECK(acquire_if(l, "team", "s2", 2, {{"team", "bob"}}, &missing).status == HP_LEASE_NOT_MEMBER);
  CHECK(missing == 0);
  CHECK(acquire_if(l, "team", "s2", 2, {{"team", "alice"}}).status == HP_LEASE_GRANTED);
  CHECK(acquire_if(l, "team", "s3", 2, {{"team", "alice"}}).status == HP_LEASE_DENIED);
}
