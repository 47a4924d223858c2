// The shared Redis client (internal): real redis-server, real failures.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/engine.h"
#include "redis/client.h"
#include "redis/sha1.h"
#include "redis/url.h"
#include "support/loop.h"
#include "support/redis_server.h"

using hp::core::Engine;
using hp::redis::Client;
using hp::redis::Reply;

namespace {

struct Fixture {
  hp_test::TestLoop t;
  hp_engine *e = nullptr;
  Fixture() { REQUIRE(hp_engine_new(&e, &t.loop) == 0); }
  ~Fixture() {
    hp_engine_close(e, nullptr, nullptr);
    t.run();
  }
  Engine *engine() { return Engine::from_c(e); }
  // Runs the loop for `ms` (a timer on the heap, freed in its close callback).
  void sleep(uint64_t ms) {
    struct Sleep {
      uv_timer_t timer;
      bool fired = false;
      bool closed = false;
    } s;
    uv_timer_init(&t.loop, &s.timer);
    s.timer.data = &s;
    uv_timer_start(&s.timer, [](uv_timer_t *h) { static_cast<Sleep *>(h->data)->fired = true; }, ms, 0);
    run_until(s.fired);
    uv_close(reinterpret_cast<uv_handle_t *>(&s.timer),
             [](uv_handle_t *h) { static_cast<Sleep *>(h->data)->closed = true; });
    run_until(s.closed);
  }
  void run_until(const bool &flag, int ms = 5000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!flag && std::chrono::steady_clock::now() < end) uv_run(&t.loop, UV_RUN_ONCE);
  }
};

hp::redis::Options options_for(int port) {
  hp::redis::Options o;
  o.address.port = port;
  return o;
}

}  // namespace

TEST_CASE("redis: urls parse into host, port, db and password") {
  hp::redis::Address a;
  REQUIRE(hp::redis::parse_url("redis://127.0.0.1:6390/3", &a) == 0);
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 6390);
  CHECK(a.db == 3);
  REQUIRE(hp::redis::parse_url("redis://:secret@[::1]:7000", &a) == 0);
  CHECK(a.host == "::1");
  CHECK(a.port == 7000);
  CHECK(a.password == "secret");
  CHECK(hp::redis::parse_url("http://x", &a) == HP_EINVAL);
  CHECK(hp::redis::parse_url("redis://h:99999", &a) == HP_EINVAL);
  CHECK(hp::redis::parse_url("redis://h:1/x", &a) == HP_EINVAL);
}

TEST_CASE("redis: sha1 matches the published test vectors") {
  CHECK(hp::redis::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hp::redis::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hp::redis::sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hp::redis::sha1_hex(std::string(1000000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("redis: pipelined commands get their replies in order") {
  hp_test::RedisServer server;
  Fixture f;
  Client *c = Client::open(f.engine(), options_for(server.port()));
  std::vector<int64_t> got;
  bool done = false;
  for (int i = 0; i < 1000; i++)
    c->command({"INCR", "counter"}, [&, i](int status, Reply r) {
      CHECK(status == 0);
      got.push_back(r.integer);
      if (i == 999) done = true;
    });
  f.run_until(done);
  REQUIRE(got.size() == 1000);
  for (int i = 0; i < 1000; i++) CHECK(got[i] == i + 1);
  bool closed = false;
  c->close([&] { closed = true; });
  f.run_until(closed);
  CHECK(closed);
}

TEST_CASE("redis: EVALSHA runs a script and falls back to EVAL after SCRIPT FLUSH") {
  hp_test::RedisServer server;
  Fixture f;
  Client *c = Client::open(f.engine(), options_for(server.port()));
  hp::redis::Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  int64_t value = 0;
  bool done = false;
  c->eval(script, {"k"}, {"5"}, [&](int status, Reply r) {
    CHECK(status == 0);
    value = r.integer;
    done = true;
  });
  f.run_until(done);
  CHECK(value == 5);
  done = false;
  c->command({"SCRIPT", "FLUSH"}, [&](int, Reply) {});
  c->eval(script, {"k"}, {"2"}, [&](int status, Reply r) {
    CHECK(status == 0);
    value = r.integer;
    done = true;
  });
  f.run_until(done);
  CHECK(value == 7);
  c->close();
}

TEST_CASE("redis: a server that is not there answers HP_EUNAVAILABLE quickly, then recovers") {
  int port = hp_test::free_port();
  Fixture f;
  auto o = options_for(port);
  Client *c = Client::open(f.engine(), o);
  int status = 1;
  bool done = false;
  auto start = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](int s, Reply) {
    status = s;
    done = true;
  });
  f.run_until(done);
  CHECK(status == HP_EUNAVAILABLE);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500));
  c->close();
}

TEST_CASE("redis: a server that dies mid-run fails pending work, and the client reconnects") {
  hp_test::RedisServer server;
  Fixture f;
  Client *c = Client::open(f.engine(), options_for(server.port()));
  bool done = false;
  c->command({"PING"}, [&](int s, Reply r) {
    CHECK(s == 0);
    CHECK(r.str == "PONG");
    done = true;
  });
  f.run_until(done);
  server.stop();
  int status = 1;
  done = false;
  auto start = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](int s, Reply) {
    status = s;
    done = true;
  });
  f.run_until(done);
  CHECK(status == HP_EUNAVAILABLE);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(500));

  server.start();
  // Within a few backoff periods the client is back.
  bool ok = false;
  for (int attempt = 0; attempt < 100 && !ok; attempt++) {
    done = false;
    c->command({"PING"}, [&](int s, Reply) {
      ok = s == 0;
      done = true;
    });
    f.run_until(done);
    if (!ok) f.sleep(50);
  }
  CHECK(ok);
  c->close();
}

TEST_CASE("redis: a server that stops answering times out within the command timeout") {
  hp_test::RedisServer server;
  Fixture f;
  auto o = options_for(server.port());
  o.command_timeout_ms = 150;
  Client *c = Client::open(f.engine(), o);
  bool done = false;
  c->command({"PING"}, [&](int, Reply) { done = true; });
  f.run_until(done);
  server.pause();
  int status = 1;
  done = false;
  auto start = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](int s, Reply) {
    status = s;
    done = true;
  });
  f.run_until(done);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  server.resume();
  CHECK(status == HP_EUNAVAILABLE);
  CHECK(ms >= 140);
  CHECK(ms < 600);
  c->close();
}

TEST_CASE("redis: pub/sub delivers messages and resubscribes after a restart") {
  hp_test::RedisServer server;
  Fixture f;
  Client *sub = Client::open(f.engine(), options_for(server.port()));
  Client *pub = Client::open(f.engine(), options_for(server.port()));
  std::vector<std::string> got;
  sub->subscribe("updates", [&](const std::string &ch, const std::string &msg) {
    CHECK(ch == "updates");
    got.push_back(msg);
  });
  // Publish until the subscription is live.
  for (int i = 0; i < 100 && got.empty(); i++) {
    bool done = false;
    pub->command({"PUBLISH", "updates", "one"}, [&](int, Reply) { done = true; });
    f.run_until(done);
  }
  REQUIRE(!got.empty());
  CHECK(got[0] == "one");

  server.stop();
  server.start();
  size_t before = got.size();
  for (int i = 0; i < 200 && got.size() == before; i++) {
    bool done = false;
    pub->command({"PUBLISH", "updates", "two"}, [&](int, Reply) { done = true; });
    f.run_until(done);
    f.sleep(20);
  }
  CHECK(got.size() > before);
  CHECK(got.back() == "two");
  sub->close();
  pub->close();
}

TEST_CASE("redis: closing the engine fails pending commands with HP_ECLOSED exactly once") {
  hp_test::RedisServer server;
  hp_test::TestLoop t;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, &t.loop) == 0);
  Client *c = Client::open(Engine::from_c(e), options_for(server.port()));
  int calls = 0, closed = 0;
  for (int i = 0; i < 10; i++)
    c->command({"PING"}, [&](int s, Reply) {
      calls++;
      if (s == HP_ECLOSED) closed++;
    });
  hp_engine_close(e, nullptr, nullptr);
  t.run();
  CHECK(calls == 10);
  CHECK(closed == 10);
}
