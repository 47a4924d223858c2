// The one handle lifecycle (core/handle.h) and the one RCU (core/rcu.h),
// directly and through the handles built on them.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/handle.h"
#include "core/rcu.h"
#include "hotpath.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Counts close callbacks and lets a test wait for them.
struct Closed {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int status = 1;
  static void cb(int status, void *data) {
    auto *c = static_cast<Closed *>(data);
    std::lock_guard<std::mutex> lock(c->mu);
    c->calls++;
    c->status = status;
    c->cv.notify_all();
  }
  bool wait(int n = 1) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return calls >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
};

// A one-shot gate between two threads.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 10s, [&] { return open; });
  }
};

struct Boxed {
  std::atomic<uint64_t> magic{0x5eed};
};

}  // namespace

TEST_CASE("rcu: a reader preempted between reading the epoch and counting itself keeps its snapshot") {
  hp::core::Rcu rcu;
  std::atomic<Boxed *> ptr{new Boxed()};
  // The reader reads the epoch, then is preempted.
  uint32_t seen = rcu.epoch();
  // A writer swaps and waits: nobody is counted yet, so it returns.
  delete ptr.exchange(new Boxed());
  rcu.synchronize();
  // The reader counts itself on the side it read before the flip and
  // loads the current pointer.
  hp::core::Rcu::Token t = rcu.enter_on(seen);
  Boxed *mine = ptr.load();
  // The next writer must wait for this reader, whichever side it is on.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Boxed *old = ptr.exchange(new Boxed());
    rcu.synchronize();
    old->magic = 0;
    delete old;
    done = true;
  });
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(done.load());
  CHECK(mine->magic.load() == 0x5eed);
  rcu.leave(t);
  writer.join();
  CHECK(done.load());
  delete ptr.load();
}

TEST_CASE("rcu: readers on many threads never see a freed snapshot while writers swap") {
  hp::core::Rcu rcu;
  std::atomic<Boxed *> ptr{new Boxed()};
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; i++)
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        hp::core::ReadGuard guard(rcu);
        if (ptr.load()->magic.load(std::memory_order_relaxed) != 0x5eed) bad++;
        reads++;
      }
    });
  // Swaps start once the readers run, and go on until they have read
  // across many of them.
  while (reads.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 2000 || reads.load() < 10000; i++) {
    Boxed *old = ptr.exchange(new Boxed());
    rcu.synchronize();
    old->magic = 0;  // a reader that still held it would see this (and ASan the free)
    delete old;
  }
  stop = true;
  for (auto &t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(rcu.readers() == 0);
  delete ptr.load();
}

namespace {

// A handle whose shutdown records when it ran and how many calls were
// inside then, and finishes only when the test says so.
struct Probe final : hp::core::Handle {
  explicit Probe(std::atomic<int> *inside) : hp::core::Handle(nullptr), inside_(inside) {}
  std::atomic<int> *inside_;
  std::atomic<int> shutdowns{0};
  std::atomic<int> inside_at_shutdown{-1};
  std::function<void(int)> done;
  Gate shut;

 private:
  void shutdown(std::function<void(int)> d) override {
    inside_at_shutdown = inside_->load();
    shutdowns++;
    done = std::move(d);
    shut.release();
  }
};

}  // namespace

TEST_CASE("handle: close waits for calls in flight on other threads, refuses later ones, and runs once") {
  std::atomic<int> inside{0};
  auto *h = new Probe(&inside);
  std::atomic<long> calls{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; i++)
    threads.emplace_back([&] {
      for (;;) {
        hp::core::Handle::Call call(h);
        if (!call) {
          refused++;
          return;
        }
        inside++;
        calls++;
        std::this_thread::yield();
        inside--;
      }
    });
  while (calls.load() < 1000) std::this_thread::yield();
  Closed closed;
  REQUIRE(h->close(&Closed::cb, &closed) == 0);
  CHECK(h->close(&Closed::cb, &closed) == HP_ECLOSED);
  REQUIRE(h->shut.wait());
  for (auto &t : threads) t.join();
  CHECK(h->shutdowns.load() == 1);
  CHECK(h->inside_at_shutdown.load() == 0);
  CHECK(refused.load() == 6);
  {
    hp::core::Handle::Call late(h);
    CHECK_FALSE(late);
  }
  CHECK(closed.count() == 0);  // not before shutdown says it is done
  auto done = std::move(h->done);
  done(0);  // frees h
  CHECK(closed.count() == 1);
  CHECK(closed.status == 0);
}

TEST_CASE("handle: closing NULL does nothing; a handle without an engine closes on the caller's thread") {
  CHECK(hp_geo_close(nullptr, &Closed::cb, nullptr) == 0);
  CHECK(hp_limiter_close(nullptr, &Closed::cb, nullptr) == 0);
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, nullptr, "memory:", nullptr) == 0);
  Closed closed;
  REQUIRE(hp_limiter_close(l, &Closed::cb, &closed) == 0);
  CHECK(closed.count() == 1);
}

// How a close waits for calls on other threads is core::Handle's, tested
// above with a probe; a parse cannot be held open from outside.
TEST_CASE("ua: a parser closes like every handle") {
  CHECK(hp_ua_close(nullptr, &Closed::cb, nullptr) == 0);
  hp_ua *p = nullptr;
  REQUIRE(hp_ua_new(&p, nullptr) == 0);
  Closed idle;
  REQUIRE(hp_ua_close(p, &Closed::cb, &idle) == 0);
  CHECK(idle.count() == 1);  // no engine, no call in flight: on this thread
  CHECK(idle.status == 0);
}

TEST_CASE("recipes: close during a call on another thread waits for it; calls after it get HP_ECLOSED") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_recipes *set = nullptr;
  REQUIRE(hp_recipes_open(&set, e) == 0);
  hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
  o.key_field = "offerId";
  hp_recipe_table *t = nullptr;
  REQUIRE(hp_recipes_define(&t, set, "offers", &o) == 0);
  std::string msg = R"({"type":"offers","id":1,"action":"updateOrCreate","timestamp":1,"body":"{\"offerId\":1}"})";
  REQUIRE(hp_recipes_update(set, msg.data(), msg.size()) == HP_RECIPES_APPLIED);

  // The key walk calls back into the test: the call stays in flight until
  // the test lets it go.
  struct Walk {
    Gate entered, leave;
  } walk;
  int walked = 0;
  std::thread caller([&] {
    walked = hp_recipes_keys(
        t,
        [](const char *, size_t, int64_t, void *data) {
          auto *w = static_cast<Walk *>(data);
          w->entered.release();
          w->leave.wait();
          return 0;
        },
        &walk);
  });
  REQUIRE(walk.entered.wait());
  Closed closed;
  REQUIRE(hp_recipes_close(set, &Closed::cb, &closed) == 0);
  std::this_thread::sleep_for(50ms);
  CHECK(closed.count() == 0);  // the walk is still inside
  hp_recipe rec = HP_RECIPE_INIT;
  hp_recipe_key k = {nullptr, 0, 1};
  CHECK(hp_recipes_get(&rec, t, &k) == HP_ECLOSED);
  CHECK(hp_recipes_update(set, msg.data(), msg.size()) == HP_ECLOSED);
  CHECK(hp_recipes_close(set, &Closed::cb, &closed) == HP_ECLOSED);
  walk.leave.release();
  caller.join();
  CHECK(walked == 1);
  REQUIRE(closed.wait());
  CHECK(closed.count() == 1);
  CHECK(hp_engine_free(e) == 0);
}

TEST_CASE("geo: the reload callback of a watch may close the handle") {
  char tmpl[] = "/tmp/hp-lifecycle-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  std::string src = hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb");
  std::string path = (dir / "city.mmdb").string();
  fs::copy_file(src, path);
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  struct State {
    std::atomic<hp_geo *> g{nullptr};  // set on this thread, read on the loop's
    Closed closed;
    std::atomic<int> reloads{0};
    std::atomic<int> close_rc{1};
  } st;
  hp_geo_options o = HP_GEO_OPTIONS_INIT;
  o.watch_interval_ms = 20;
  o.on_reload = [](int, void *data) {
    auto *s = static_cast<State *>(data);
    if (s->reloads++ == 0) s->close_rc = hp_geo_close(s->g, &Closed::cb, &s->closed);
  };
  o.on_reload_data = &st;
  hp_geo *g = nullptr;
  REQUIRE(hp_geo_open(&g, e, path.c_str(), &o) == 0);
  st.g = g;
  std::this_thread::sleep_for(100ms);  // the poll's first stat
  std::string tmp = path + ".new";
  fs::copy_file(hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb"), tmp);
  fs::last_write_time(tmp, fs::file_time_type::clock::now() + 1h);
  fs::rename(tmp, path);
  REQUIRE(st.closed.wait());
  CHECK(st.close_rc.load() == 0);
  CHECK(st.reloads.load() == 1);
  CHECK(hp_engine_free(e) == 0);
  fs::remove_all(dir);
}

TEST_CASE("geo: open_async opens on the pool and reports a failure with its message") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  struct Opened {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;
    int status = 1;
    hp_geo *g = nullptr;
    std::string error;
  };
  auto cb = [](int status, hp_geo *g, void *data) {
    auto *o = static_cast<Opened *>(data);
    std::lock_guard<std::mutex> lock(o->mu);
    o->calls++;
    o->status = status;
    o->g = g;
    if (status < 0) o->error = hp_last_error();
    o->cv.notify_all();
  };
  auto wait = [](Opened &o) {
    std::unique_lock<std::mutex> lock(o.mu);
    return o.cv.wait_for(lock, 10s, [&] { return o.calls > 0; });
  };
  Opened ok, missing;
  std::string path = hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb");
  REQUIRE(hp_geo_open_async(e, path.c_str(), nullptr, cb, &ok) == 0);
  REQUIRE(hp_geo_open_async(e, "/nonexistent/city.mmdb", nullptr, cb, &missing) == 0);
  REQUIRE(wait(ok));
  REQUIRE(wait(missing));
  REQUIRE(ok.status == 0);
  hp_geo_enrichment en = HP_GEO_ENRICHMENT_INIT;
  CHECK(hp_geo_lookup(&en, ok.g, "81.2.69.160", 11) == 1);
  CHECK(std::string(en.str[HP_GEO_CITY]) == "London");
  CHECK(missing.status == HP_EIO);
  CHECK(missing.g == nullptr);
  CHECK(missing.error.find("/nonexistent/city.mmdb") != std::string::npos);
  CHECK(hp_geo_open_async(nullptr, path.c_str(), nullptr, cb, &ok) == HP_EINVAL);
  Closed closed;
  REQUIRE(hp_geo_close(ok.g, &Closed::cb, &closed) == 0);
  REQUIRE(closed.wait());
  CHECK(hp_engine_free(e) == 0);
}
