// The shared Redis client (internal): real redis-server, real failures.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <string>
#include <vector>

#include "core/engine.h"
#include "redis/client.h"
#include "redis/connection.h"
#include "redis/sha1.h"
#include "redis/url.h"
#include "support/loop.h"
#include "support/redis_cluster.h"
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

TEST_CASE("redis: ACL users, Unix sockets and cluster seeds parse; the password never shows in an error") {
  hp::redis::Address a;
  REQUIRE(hp::redis::parse_url("redis://alice:s3cr@t@cache.internal:6380/2", &a) == 0);
  CHECK(a.user == "alice");
  CHECK(a.password == "s3cr@t");
  CHECK(a.host == "cache.internal");
  CHECK(a.port == 6380);
  CHECK(a.db == 2);
  REQUIRE(hp::redis::parse_url("unix:///run/redis/redis.sock", &a) == 0);
  CHECK(a.unix_path == "/run/redis/redis.sock");
  CHECK(a.db == 0);
  REQUIRE(hp::redis::parse_url("redis+unix://:pw@/tmp/r.sock?db=3", &a) == 0);
  CHECK(a.unix_path == "/tmp/r.sock");
  CHECK(a.password == "pw");
  CHECK(a.db == 3);
  REQUIRE(hp::redis::parse_url("redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002", &a) == 0);
  CHECK(a.cluster);
  REQUIRE(a.seeds.size() == 3);
  CHECK(a.seeds[1].host == "10.0.0.2");
  CHECK(a.seeds[1].port == 7001);
  CHECK(a.seeds[2].host == "::1");
  CHECK(a.host == "10.0.0.1");
  CHECK(a.user == "u");
  CHECK(hp::redis::is_url("redis+cluster://h:1"));
  CHECK(hp::redis::is_url("unix:///x"));
  CHECK_FALSE(hp::redis::is_url("sqlite:/x"));
  CHECK(hp::redis::parse_url("redis+cluster://h:1/2", &a) == HP_EINVAL);  // a cluster has db 0 only
  CHECK(hp::redis::parse_url("unix://relative.sock", &a) == HP_EINVAL);
  for (const char *bad : {"redis://user:hunter2@h:99999", "redis+cluster://:hunter2@h:1,h:x",
                          "redis://:hunter2@h:1/x", "unix://:hunter2@nopath", "redis://:hunter2@h:1?tls=1"}) {
    CHECK(hp::redis::parse_url(bad, &a) == HP_EINVAL);
    std::string error = hp_last_error();
    INFO(error);
    CHECK(error.find("hunter2") == std::string::npos);
    CHECK(error.find("***") != std::string::npos);
  }
  CHECK(hp::redis::redact("redis://alice:pw@h:1/0") == "redis://***@h:1/0");
  CHECK(hp::redis::redact("redis://h:1/0") == "redis://h:1/0");
}

TEST_CASE("redis: key slots follow Redis Cluster's CRC16 and hash tags") {
  // Published examples (the cluster specification and CLUSTER KEYSLOT).
  CHECK(hp::redis::key_slot("123456789") == 0x31C3 % 16384);
  CHECK(hp::redis::key_slot("foo") == 12182);
  CHECK(hp::redis::key_slot("{user1000}.following") == hp::redis::key_slot("{user1000}.followers"));
  CHECK(hp::redis::key_slot("{user1000}.following") == hp::redis::key_slot("user1000"));
  CHECK(hp::redis::key_slot("foo{}{bar}") == hp::redis::key_slot("foo{}{bar}"));
  CHECK(hp::redis::key_slot("foo{{bar}}zap") == hp::redis::key_slot("{bar"));
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

namespace {

// A loopback listener that never accepts: the kernel completes the first
// handshakes into its backlog, then drops further SYNs, so a connect hangs.
struct Blackhole {
  int fd = -1;
  int port = 0;
  std::vector<int> fillers;
  Blackhole() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 0) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    port = ntohs(a.sin_port);
  }
  // Takes the backlog's places, so the client's own connect hangs.
  void fill() {
    for (int i = 0; i < 2; i++) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(c, reinterpret_cast<sockaddr *>(&a), sizeof a);
      fillers.push_back(c);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ~Blackhole() {
    for (int c : fillers) close(c);
    close(fd);
  }
};

// One PING: its status and how long the answer took, in ms.
std::pair<int, int64_t> timed_ping(Fixture &f, Client *c, std::string *error = nullptr) {
  int status = 1;
  bool done = false;
  uv_update_time(&f.t.loop);
  auto start = std::chrono::steady_clock::now();
  c->command({"PING"}, [&](int s, Reply) {
    status = s;
    if (error && s < 0) *error = hp_last_error();
    done = true;
  });
  f.run_until(done);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return {status, ms};
}

}  // namespace

TEST_CASE("redis: HP_EUNAVAILABLE within 200 ms + 10% from a stopped server and from an address that accepts nothing") {
  auto o = options_for(0);
  o.connect_timeout_ms = 200;
  o.command_timeout_ms = 200;
  SUBCASE("a stopped server (SIGSTOP: connected, silent)") {
    hp_test::RedisServer server;
    Fixture f;
    o.address.port = server.port();
    Client *c = Client::open(f.engine(), o);
    REQUIRE(timed_ping(f, c).first == 0);
    server.pause();
    auto [status, ms] = timed_ping(f, c);
    server.resume();
    MESSAGE("stopped server: HP_EUNAVAILABLE after ", ms, " ms");
    CHECK(status == HP_EUNAVAILABLE);
    CHECK(ms >= 190);
    CHECK(ms <= 220);
    c->close();
  }
  SUBCASE("a listener that never accepts nor answers") {
    Blackhole hole;
    Fixture f;
    o.address.port = hole.port;
    Client *c = Client::open(f.engine(), o);
    auto [status, ms] = timed_ping(f, c);
    MESSAGE("listener that never answers: HP_EUNAVAILABLE after ", ms, " ms");
    CHECK(status == HP_EUNAVAILABLE);
    CHECK(ms <= 220);
    c->close();
  }
  SUBCASE("a listener whose backlog is full (the connect itself hangs)") {
    Blackhole hole;
    hole.fill();
    Fixture f;
    o.address.port = hole.port;
    Client *c = Client::open(f.engine(), o);
    std::string error;
    auto [status, ms] = timed_ping(f, c, &error);
    MESSAGE("full backlog: HP_EUNAVAILABLE after ", ms, " ms");
    CHECK(status == HP_EUNAVAILABLE);
    CHECK(ms <= 220);
    CHECK(error.find("timed out") != std::string::npos);
    c->close();
  }
}

TEST_CASE("redis: redis://user:pass@ sends AUTH user pass (Redis 6 ACL), and a wrong password stays out of errors") {
  hp_test::RedisServer server(
      std::vector<std::string>{"--user", "alice", "on", ">s3cret-pw", "~*", "&*", "+@all", "--user", "default", "off"});
  Fixture f;
  hp::redis::Options o;
  REQUIRE(hp::redis::parse_url("redis://alice:s3cret-pw@127.0.0.1:" + std::to_string(server.port()), &o.address) ==
          0);
  Client *c = Client::open(f.engine(), o);
  bool done = false;
  std::string who;
  c->command({"ACL", "WHOAMI"}, [&](int s, Reply r) {
    CHECK(s == 0);
    who = r.str;
    done = true;
  });
  f.run_until(done);
  CHECK(who == "alice");
  c->close();

  REQUIRE(hp::redis::parse_url("redis://alice:wrong-hunter2@127.0.0.1:" + std::to_string(server.port()),
                               &o.address) == 0);
  Client *bad = Client::open(f.engine(), o);
  std::string error;
  auto [status, ms] = timed_ping(f, bad, &error);
  CHECK(status == HP_EUNAVAILABLE);
  INFO(error);
  CHECK(error.find("AUTH failed") != std::string::npos);
  CHECK(error.find("hunter2") == std::string::npos);
  bad->close();
}

TEST_CASE("redis: unix:///path and redis+unix:///path?db=N reach a server on its Unix socket") {
  std::string sock = "/tmp/hp-redis-" + std::to_string(getpid()) + ".sock";
  hp_test::RedisServer server(std::vector<std::string>{"--unixsocket", sock, "--unixsocketperm", "700"});
  for (int i = 0; i < 100 && access(sock.c_str(), F_OK) != 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Fixture f;
  hp::redis::Options plain, db2;
  REQUIRE(hp::redis::parse_url("unix://" + sock, &plain.address) == 0);
  REQUIRE(hp::redis::parse_url("redis+unix://" + sock + "?db=2", &db2.address) == 0);
  Client *a = Client::open(f.engine(), plain);
  Client *b = Client::open(f.engine(), db2);
  bool done = false;
  b->command({"SET", "where", "db2"}, [&](int s, Reply) {
    CHECK(s == 0);
    done = true;
  });
  f.run_until(done);
  Reply in0, in2;
  done = false;
  a->command({"GET", "where"}, [&](int, Reply r) { in0 = r; });
  b->command({"GET", "where"}, [&](int, Reply r) {
    in2 = r;
    done = true;
  });
  f.run_until(done);
  CHECK(in0.type == Reply::Nil);
  CHECK(in2.str == "db2");
  a->close();
  b->close();
}

TEST_CASE("redis: host names resolve off the loop; a name that does not resolve answers within the timeout") {
  hp_test::RedisServer server;
  Fixture f;
  hp::redis::Options o;
  REQUIRE(hp::redis::parse_url("redis://localhost:" + std::to_string(server.port()), &o.address) == 0);
  Client *c = Client::open(f.engine(), o);
  // Queued while the name resolves, sent once it did.
  CHECK(timed_ping(f, c).first == 0);
  c->close();
  REQUIRE(hp::redis::parse_url("redis://no-such-host.invalid:6379", &o.address) == 0);
  o.connect_timeout_ms = o.command_timeout_ms = 200;
  Client *none = Client::open(f.engine(), o);
  std::string error;
  auto [status, ms] = timed_ping(f, none, &error);
  CHECK(status == HP_EUNAVAILABLE);
  CHECK(ms <= 220);
  INFO(error);
  CHECK(error.find("no-such-host.invalid") != std::string::npos);
  none->close();
}

TEST_CASE("redis: a subscriber PINGs, notices a silent server, reconnects and runs its resubscribe hook") {
  hp_test::RedisServer server;
  Fixture f;
  auto o = options_for(server.port());
  o.ping_interval_ms = 50;
  o.command_timeout_ms = 100;
  Client *sub = Client::open(f.engine(), o);
  Client *pub = Client::open(f.engine(), options_for(server.port()));
  int resyncs = 0;
  sub->on_resubscribe([&] { resyncs++; });
  std::vector<std::string> got;
  sub->subscribe("news", [&](const std::string &, const std::string &msg) { got.push_back(msg); });
  auto publish_until = [&](const std::string &msg) {
    for (int i = 0; i < 200 && (got.empty() || got.back() != msg); i++) {
      bool done = false;
      pub->command({"PUBLISH", "news", msg}, [&](int, Reply) { done = true; });
      f.run_until(done);
      f.sleep(10);
    }
    return !got.empty() && got.back() == msg;
  };
  REQUIRE(publish_until("one"));
  // PINGs answered: no reconnect while the server is well.
  f.sleep(300);
  CHECK(sub->reconnects() == 0);
  CHECK(resyncs == 0);
  // Silent: the TCP connection stays up, only PING notices.
  server.pause();
  f.sleep(400);
  server.resume();
  CHECK(sub->reconnects() >= 1);
  REQUIRE(publish_until("two"));
  CHECK(resyncs >= 1);
  sub->close();
  pub->close();
}

TEST_CASE("redis cluster: commands go to the master of their slot, and MOVED and ASK are followed during a migration") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  Fixture f;
  hp::redis::Options o;
  REQUIRE(hp::redis::parse_url(cluster.url(), &o.address) == 0);
  o.command_timeout_ms = 1000;
  Client *c = Client::open(f.engine(), o);
  REQUIRE(c->cluster());
  // Keys on every master: no MOVED once the map is there.
  int done = 0;
  for (int i = 0; i < 300; i++)
    c->command({"SET", "route:" + std::to_string(i), std::to_string(i)}, [&](int s, Reply r) {
      CHECK(s == 0);
      CHECK(r.str == "OK");
      done++;
    });
  bool all = false;
  while (!all) {
    f.sleep(5);
    all = done == 300;
  }
  for (size_t i = 0; i < cluster.size(); i++) {
    redisReply *r = cluster.run(i, {"DBSIZE"});
    REQUIRE(r);
    CHECK(r->integer > 50);  // about a third each
    freeReplyObject(r);
  }
  // A script's keys share a slot by their hash tag.
  hp::redis::Script script("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])");
  bool got = false;
  c->eval(script, {"{tag}:a", "{tag}:b"}, {"x"}, [&](int s, Reply r) {
    CHECK(s == 0);
    CHECK(r.integer == 1);
    got = true;
  });
  f.run_until(got);
  CHECK(got);

  // Move a slot while commands on its keys keep coming: MOVED and ASK.
  int slot = hp::redis::key_slot("route:7");
  size_t to = (cluster.owner(slot) + 1) % cluster.size();
  std::vector<std::string> in_slot;
  for (int i = 0; in_slot.size() < 20; i++)
    if (hp::redis::key_slot("{route:7}:" + std::to_string(i)) == slot) in_slot.push_back("{route:7}:" + std::to_string(i));
  for (auto &k : in_slot) {
    bool set = false;
    c->command({"SET", k, k}, [&](int s, Reply) {
      CHECK(s == 0);
      set = true;
    });
    f.run_until(set);
  }
  std::atomic<bool> migrated{false};
  std::thread mover([&] {
    CHECK(cluster.migrate(slot, to, 20, 1) >= 20);
    migrated = true;
  });
  int wrong = 0, failed = 0, asked = 0;
  uint64_t before = c->redirects();
  while (!migrated) {
    int left = static_cast<int>(in_slot.size());
    for (auto &k : in_slot)
      c->command({"GET", k}, [&, k](int s, Reply r) {
        if (s != 0 || r.is_error())
          failed++;
        else if (r.str != k)
          wrong++;
        left--;
      });
    c->command({"SET", "{route:7}:new", "v"}, [&](int s, Reply r) { asked += s == 0 && r.str == "OK"; });
    while (left > 0) f.sleep(1);
  }
  mover.join();
  CHECK(wrong == 0);
  CHECK(failed == 0);
  CHECK(asked > 0);
  CHECK(c->redirects() > before);
  CHECK(cluster.owner(slot) == to);
  c->close();
}
