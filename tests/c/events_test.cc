#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"
#include "support/loop.h"

namespace fs = std::filesystem;

namespace {

const char kFirefoxMac[] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:56.0) Gecko/20100101 Firefox/56.0";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hotpath-events-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string &name) const { return (path / name).string(); }
};

std::vector<std::string> lines_of(const std::string &file) {
  std::istringstream in(hp_test::read_file(file));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Waits for one hp_events_cb.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int status = 1;
  int calls = 0;
  static void cb(int status, void *data) {
    auto *d = static_cast<Done *>(data);
    std::lock_guard<std::mutex> lock(d->mu);
    d->status = status;
    d->done = true;
    d->calls++;
    d->cv.notify_all();
  }
  int wait() {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done; }));
    return status;
  }
};

std::string ip_hex(const std::string &ip) {
  char out[HP_EVENTS_IP_HEX_MAX];
  int n = hp_events_ip_hex(out, sizeof out, ip.data(), ip.size());
  if (n < 0) return "ERR";
  CHECK(static_cast<size_t>(n) == std::strlen(out));
  return out;
}

hp_event seed_event() {
  hp_event ev = HP_EVENT_INIT;
  ev.event_type = "app_open";
  ev.event_type_len = 8;
  static const char q[] = "deviceid=abcdf&ts=123456&referrer=website";
  ev.query = q;
  ev.query_len = sizeof q - 1;
  ev.host = "192.168.64.2";
  ev.host_len = 12;
  ev.ip = "::ffff:172.17.0.1";
  ev.ip_len = 17;
  ev.user_agent = kFirefoxMac;
  ev.user_agent_len = sizeof kFirefoxMac - 1;
  ev.received_ms = 1510826008003;
  ev.processed_ms = 1510826008003 + 266;
  return ev;
}

std::string format(const hp_event &ev) {
  char out[HP_EVENTS_MAX_MESSAGE];
  int n = hp_events_format(out, sizeof out, &ev, nullptr);
  REQUIRE(n >= 0);
  return std::string(out, static_cast<size_t>(n));
}

std::string client_ip(const char *push, const char *xff, const char *real, const char *remote) {
  hp_events_request r = HP_EVENTS_REQUEST_INIT;
  auto set = [](const char *v, const char **p, size_t *n) {
    if (v) *p = v, *n = std::strlen(v);
  };
  set(push, &r.push_ip, &r.push_ip_len);
  set(xff, &r.forwarded_for, &r.forwarded_for_len);
  set(real, &r.real_ip, &r.real_ip_len);
  set(remote, &r.remote_addr, &r.remote_addr_len);
  const char *out = nullptr;
  size_t len = 0;
  REQUIRE(hp_events_client_ip(&out, &len, &r) == 0);
  return out ? std::string(out, len) : "<none>";
}

}  // namespace

TEST_CASE("events: client IP follows x-push-ip > x-forwarded-for > x-real-ip > socket") {
  CHECK(client_ip("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4") == "1.1.1.1");
  CHECK(client_ip(nullptr, "2.2.2.2, 10.0.0.1", "3.3.3.3", "4.4.4.4") == "2.2.2.2");
  CHECK(client_ip("", " 2.2.2.2 ,10.0.0.1", "3.3.3.3", "4.4.4.4") == "2.2.2.2");
  CHECK(client_ip(nullptr, nullptr, "3.3.3.3", "4.4.4.4") == "3.3.3.3");
  CHECK(client_ip(nullptr, ", 9.9.9.9", "3.3.3.3", "4.4.4.4") == "3.3.3.3");
  CHECK(client_ip("  ", "", "", "::ffff:127.0.0.1") == "::ffff:127.0.0.1");
  CHECK(client_ip(nullptr, nullptr, nullptr, nullptr) == "<none>");
  hp_events_request r = HP_EVENTS_REQUEST_INIT;
  const char *out;
  size_t len;
  CHECK(hp_events_client_ip(nullptr, &len, &r) == HP_EINVAL);
  r.version = 9;
  CHECK(hp_events_client_ip(&out, &len, &r) == HP_EINVAL);
}

TEST_CASE("events: ip= is the hex of the address bytes without leading zero bytes") {
  CHECK(ip_hex("::ffff:172.17.0.1") == "ffffac110001");
  CHECK(ip_hex("172.17.0.1") == "ac110001");
  CHECK(ip_hex("192.168.64.2") == "c0a84002");
  CHECK(ip_hex("0.0.0.7") == "07");
  CHECK(ip_hex("::1") == "01");
  CHECK(ip_hex("::") == "00");
  CHECK(ip_hex("[2001:db8::1]") == "20010db8000000000000000000000001");
  CHECK(ip_hex("fe80::1%eth0") == "fe800000000000000000000000000001");
  CHECK(ip_hex("FFFF::") == "ffff0000000000000000000000000000");
  for (const char *bad : {"", "1.2.3", "256.1.1.1", "example.com", "1.2.3.4:80", ":::"}) CHECK(ip_hex(bad) == "ERR");
  // The text is parsed whole, as geo parses it: a NUL inside ends nothing.
  CHECK(ip_hex(std::string("1.2.3.4\0junk", 12)) == "ERR");
  CHECK(ip_hex("01.2.3.4") == "ERR");  // inet_pton's rule, also in geo
  char small[8];
  CHECK(hp_events_ip_hex(small, sizeof small, "1.2.3.4", 7) == HP_EINVAL);
}

TEST_CASE("events: the consumer message matches the seed's documented example") {
  CHECK(format(seed_event()) ==
        "app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=192.168.64.2"
        "&ts=1510826008003&ip=ffffac110001&klag=266&country=XX&city=XX deviceid=abcdf&ts=123456&referrer=website");
}

TEST_CASE("events: message edge cases") {
  hp_event ev = seed_event();
  SUBCASE("an empty query becomes e") {
    ev.query = nullptr;
    ev.query_len = 0;
    std::string m = format(ev);
    CHECK(m.substr(m.size() - 2) == " e");
  }
  SUBCASE("geo values are used and escaped like querystring.escape") {
    ev.country = "BR";
    ev.country_len = 2;
    ev.city = "S\xc3\xa3o Paulo";
    ev.city_len = 10;
    CHECK(format(ev).find("&country=BR&city=S%C3%A3o%20Paulo ") != std::string::npos);
  }
  SUBCASE("user-agent values with spaces are escaped, the device type capitalised") {
    const char ua[] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    ev.user_agent = ua;
    ev.user_agent_len = sizeof ua - 1;
    CHECK(format(ev).find(" type=Mobile&browser=Mobile%20Safari&engine=WebKit&version=17.1&os=iOS&") != std::string::npos);
  }
  SUBCASE("no user agent, no ip, a bot") {
    ev.user_agent_len = 0;
    ev.ip = "not an ip";
    ev.ip_len = 9;
    CHECK(format(ev).find(" type=Desktop&browser=&engine=&version=&os=&host=192.168.64.2&ts=1510826008003&ip=&klag=") !=
          std::string::npos);
    ev.user_agent = "curl/8.4.0";
    ev.user_agent_len = 10;
    CHECK(format(ev).find(" type=Bot&") != std::string::npos);
  }
  SUBCASE("bytes that would break the line are percent-encoded, the rest kept raw") {
    ev.query = "a=1 2&b=x\ny&c=%20";
    ev.query_len = std::strlen(ev.query);
    ev.event_type = "a b";
    ev.event_type_len = 3;
    std::string m = format(ev);
    CHECK(m.rfind("a%20b type=", 0) == 0);
    CHECK(m.substr(m.rfind(' ') + 1) == "a=1%202&b=x%0Ay&c=%20");
    CHECK(m.find('\n') == std::string::npos);
  }
  SUBCASE("klag is never negative; processed 0 means now") {
    ev.processed_ms = ev.received_ms - 50;
    CHECK(format(ev).find("&klag=0&") != std::string::npos);
    ev.processed_ms = 0;
    ev.received_ms = 1;
    CHECK(format(ev).find("&klag=0&") == std::string::npos);
  }
  SUBCASE("bad events and small buffers") {
    char out[HP_EVENTS_MAX_MESSAGE];
    hp_event bad = ev;
    bad.event_type_len = 0;
    CHECK(hp_events_format(out, sizeof out, &bad, nullptr) == HP_EINVAL);
    bad = ev;
    bad.query_len = HP_EVENTS_MAX_QUERY + 1;
    CHECK(hp_events_format(out, sizeof out, &bad, nullptr) == HP_EINVAL);
    bad = ev;
    bad.host = nullptr;
    CHECK(hp_events_format(out, sizeof out, &bad, nullptr) == HP_EINVAL);
    bad = ev;
    bad.version = 0;
    CHECK(hp_events_format(out, sizeof out, &bad, nullptr) == HP_EINVAL);
    CHECK(hp_events_format(out, 20, &ev, nullptr) == HP_ELIMIT);
    CHECK(std::string(hp_last_error()).find("needs") != std::string::npos);
    CHECK(hp_events_format(nullptr, 10, &ev, nullptr) == HP_EINVAL);
  }
  SUBCASE("the largest inputs fit HP_EVENTS_MAX_MESSAGE") {
    std::string type(HP_EVENTS_MAX_TYPE, ' '), query(HP_EVENTS_MAX_QUERY, '\x01'), big(100000, '\xff');
    ev.event_type = type.data();
    ev.event_type_len = type.size();
    ev.query = query.data();
    ev.query_len = query.size();
    ev.host = ev.city = ev.country = ev.user_agent = big.data();
    ev.host_len = ev.city_len = ev.country_len = ev.user_agent_len = big.size();
    char out[HP_EVENTS_MAX_MESSAGE];
    CHECK(hp_events_format(out, sizeof out, &ev, nullptr) > 0);
  }
}

TEST_CASE("events: appended messages reach the file in order, nothing lost on close") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 64;
  hp_events *b = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), nullptr, &o) == 0);
  for (int i = 0; i < 1000; i++) {
    std::string m = "ev" + std::to_string(i) + " type=Desktop q=" + std::to_string(i);
    REQUIRE(hp_events_push(b, m.data(), m.size()) == 0);
  }
  hp_event ev = seed_event();
  std::string expected_last = format(ev);
  CHECK(hp_events_append(b, &ev, nullptr) == static_cast<int>(expected_last.size()));
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  REQUIRE(hp_events_stats_get(&st, b) == 0);
  CHECK(st.appended == 1001);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == 0);
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 1001);
  for (int i = 0; i < 1000; i++) CHECK(lines[i] == "ev" + std::to_string(i) + " type=Desktop q=" + std::to_string(i));
  CHECK(lines[1000] == expected_last);
  REQUIRE(hp_engine_free(e) == 0);
  CHECK(closed.calls == 1);
}

TEST_CASE("events: flush writes a partial batch; the timer writes one too") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 1000;
  o.batch_ms = 20;
  hp_events *b = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), nullptr, &o) == 0);
  REQUIRE(hp_events_push(b, "one", 3) == 0);
  REQUIRE(hp_events_push(b, "two", 3) == 0);
  Done flushed;
  REQUIRE(hp_events_flush(b, Done::cb, &flushed) == 0);
  CHECK(flushed.wait() == 0);
  CHECK(lines_of(path) == std::vector<std::string>{"one", "two"});
  // No flush: the batch_ms timer hands the batch over.
  REQUIRE(hp_events_push(b, "three", 5) == 0);
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  for (int i = 0; i < 2000 && st.written < 3; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(hp_events_stats_get(&st, b) == 0);
  }
  CHECK(st.written == 3);
  CHECK(st.pending == 0);
  CHECK(lines_of(path).size() == 3);
  REQUIRE(hp_events_close(b, nullptr, nullptr) == 0);
  REQUIRE(hp_engine_free(e) == 0);
}

TEST_CASE("events: the log rotates by size and keeps keep_files old files") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 5;
  hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
  f.rotate_bytes = 1000;
  f.keep_files = 2;
  f.fsync = HP_EVENTS_FSYNC_NONE;
  hp_events *b = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), &f, &o) == 0);
  for (int i = 0; i < 200; i++) {
    char m[64];
    std::snprintf(m, sizeof m, "event %05d padded to fifty bytes ..............", i);
    REQUIRE(hp_events_push(b, m, std::strlen(m)) == 0);
  }
  Done flushed;
  REQUIRE(hp_events_flush(b, Done::cb, &flushed) == 0);
  CHECK(flushed.wait() == 0);
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  REQUIRE(hp_events_stats_get(&st, b) == 0);
  CHECK(st.rotations >= 5);
  REQUIRE(hp_events_close(b, nullptr, nullptr) == 0);
  REQUIRE(hp_engine_free(e) == 0);
  CHECK(fs::exists(path + ".1"));
  CHECK(fs::exists(path + ".2"));
  CHECK(!fs::exists(path + ".3"));
  std::vector<std::string> all;
  for (const std::string &p : {path + ".2", path + ".1", path}) {
    CHECK(fs::file_size(p) <= 1000);
    for (auto &l : lines_of(p)) all.push_back(l);
  }
  // The newest events, contiguous and in order, end with the last one.
  REQUIRE(!all.empty());
  int first = std::stoi(all[0].substr(6, 5));
  for (size_t i = 0; i < all.size(); i++) CHECK(std::stoi(all[i].substr(6, 5)) == first + static_cast<int>(i));
  CHECK(first + static_cast<int>(all.size()) == 200);
}

TEST_CASE("events: a failing sink buffers up to max_pending, then refuses and counts drops") {
  // /dev/full accepts the open and fails every write with ENOSPC.
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 10;
  o.batch_ms = 10;
  o.max_pending = 50;
  hp_events *b = nullptr;
  REQUIRE(hp_events_open_file(&b, e, "/dev/full", nullptr, &o) == 0);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 100; i++) {
    int rc = hp_events_push(b, "x", 1);
    if (rc == 0) accepted++;
    if (rc == HP_EUNAVAILABLE) refused++;
  }
  CHECK(accepted == 50);
  CHECK(refused == 50);
  CHECK(std::string(hp_last_error()).find("dropped") != std::string::npos);
  Done flushed;
  REQUIRE(hp_events_flush(b, Done::cb, &flushed) == 0);
  CHECK(flushed.wait() == HP_EIO);
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  REQUIRE(hp_events_stats_get(&st, b) == 0);
  CHECK(st.errors >= 1);
  CHECK(st.written == 0);
  CHECK(st.dropped == 50);
  CHECK(st.pending == 50);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == HP_EIO);
  REQUIRE(hp_engine_free(e) == 0);
}

TEST_CASE("events: closing the engine writes what is buffered; the user's close still frees the batcher") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 100000;
  o.batch_ms = 60000;
  hp_events *b = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), nullptr, &o) == 0);
  for (int i = 0; i < 100; i++) REQUIRE(hp_events_push(b, "pending", 7) == 0);
  REQUIRE(hp_engine_free(e) == 0);
  CHECK(lines_of(path).size() == 100);
  CHECK(hp_events_push(b, "late", 4) == HP_ECLOSED);
  // The loop is gone: the close completes on this thread, exactly once.
  int calls = 0, status = -1;
  std::pair<int *, int *> out{&calls, &status};
  CHECK(hp_events_close(
            b,
            [](int st, void *d) {
              auto *o = static_cast<std::pair<int *, int *> *>(d);
              ++*o->first;
              *o->second = st;
            },
            &out) == 0);
  CHECK(calls == 1);
  CHECK(status == 0);
}

TEST_CASE("events: a batcher on a caller's loop closes with the loop") {
  TempDir dir;
  std::string path = dir.file("events.log");
  hp_test::TestLoop loop;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, &loop.loop) == 0);
  hp_events *b = nullptr;
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), nullptr, nullptr) == 0);
  REQUIRE(hp_events_push(b, "a", 1) == 0);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  loop.run();
  CHECK(closed.done);
  CHECK(closed.status == 0);
  bool engine_closed = false;
  REQUIRE(hp_engine_close(e, [](int, void *d) { *static_cast<bool *>(d) = true; }, &engine_closed) == 0);
  loop.run();
  CHECK(engine_closed);
  CHECK(lines_of(path) == std::vector<std::string>{"a"});
}

TEST_CASE("events: threads append concurrently; each thread's order is kept") {
  TempDir dir;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 100;
  hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
  f.fsync = HP_EVENTS_FSYNC_INTERVAL;
  f.fsync_ms = 5;
  hp_events *b = nullptr;
  std::string path = dir.file("events.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), &f, &o) == 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([b, t] {
      for (int i = 0; i < 5000; i++) {
        std::string m = std::to_string(t) + ":" + std::to_string(i);
        hp_events_push(b, m.data(), m.size());
      }
    });
  for (auto &th : threads) th.join();
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == 0);
  REQUIRE(hp_engine_free(e) == 0);
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 20000);
  std::vector<int> next(4, 0);
  size_t out_of_order = 0;
  for (auto &l : lines) {
    int t = l[0] - '0';
    if (std::stoi(l.substr(2)) != next[t]++) out_of_order++;
  }
  CHECK(out_of_order == 0);
}

TEST_CASE("events: bad arguments") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events *b = nullptr;
  CHECK(hp_events_open_file(&b, e, "/nonexistent-dir/x/events.log", nullptr, nullptr) == HP_EIO);
  CHECK(std::string(hp_last_error()).find("/nonexistent-dir/x/events.log") != std::string::npos);
  CHECK(b == nullptr);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.version = 9;
  CHECK(hp_events_open_file(&b, e, "/tmp/x", nullptr, &o) == HP_EINVAL);
  o.version = HP_EVENTS_OPTIONS_VERSION;
  CHECK((o.batch_events == 0 && o.batch_ms == 0 && o.max_pending == 0));  // 0 asks for the defaults
  hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
  f.fsync = 7;
  CHECK(hp_events_open_file(&b, e, "/tmp/x", &f, nullptr) == HP_EINVAL);
  CHECK(hp_events_open_file(&b, e, "", nullptr, nullptr) == HP_EINVAL);
  CHECK(hp_events_open_file(&b, nullptr, "/tmp/x", nullptr, nullptr) == HP_EINVAL);
  TempDir dir;
  std::string path = dir.file("e.log");
  REQUIRE(hp_events_open_file(&b, e, path.c_str(), nullptr, &o) == 0);
  CHECK(hp_events_push(b, "a\nb", 3) == HP_EINVAL);
  CHECK(hp_events_push(b, "", 0) == HP_EINVAL);
  CHECK(hp_events_push(nullptr, "a", 1) == HP_EINVAL);
  CHECK(hp_events_flush(b, nullptr, nullptr) == HP_EINVAL);
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  st.version = 3;
  CHECK(hp_events_stats_get(&st, b) == HP_EINVAL);
  CHECK(hp_events_close(nullptr, nullptr, nullptr) == 0);
  REQUIRE(hp_events_close(b, nullptr, nullptr) == 0);
  REQUIRE(hp_engine_free(e) == 0);
}

// ------------------------------------------------------------ Redis sink

#include <hiredis/hiredis.h>

#include "redis/client.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"

namespace {

std::vector<std::string> lrange(int port, const char *key) {
  std::vector<std::string> out;
  redisContext *c = redisConnect("127.0.0.1", port);
  REQUIRE(c != nullptr);
  REQUIRE(c->err == 0);
  auto *r = static_cast<redisReply *>(redisCommand(c, "LRANGE %s 0 -1", key));
  REQUIRE(r != nullptr);
  for (size_t i = 0; i < r->elements; i++) out.emplace_back(r->element[i]->str, r->element[i]->len);
  freeReplyObject(r);
  redisFree(c);
  return out;
}

}  // namespace

TEST_CASE("events: the Redis sink RPUSHes every batch, pipelined, and close waits for the replies") {
  hp_test::RedisServer server;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 50;
  hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
  r.key = "tracker:events";
  r.max_inflight = 4;
  hp_events *b = nullptr;
  REQUIRE(hp_events_open_redis(&b, e, server.url().c_str(), &r, &o) == 0);
  for (int i = 0; i < 1000; i++) {
    std::string m = "m" + std::to_string(i);
    REQUIRE(hp_events_push(b, m.data(), m.size()) == 0);
  }
  Done flushed;
  REQUIRE(hp_events_flush(b, Done::cb, &flushed) == 0);
  CHECK(flushed.wait() == 0);
  CHECK(lrange(server.port(), "tracker:events").size() == 1000);
  hp_event ev = seed_event();
  REQUIRE(hp_events_append(b, &ev, nullptr) > 0);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == 0);
  auto list = lrange(server.port(), "tracker:events");
  REQUIRE(list.size() == 1001);
  for (int i = 0; i < 1000; i++) CHECK(list[i] == "m" + std::to_string(i));
  CHECK(list[1000] == format(seed_event()));
  REQUIRE(hp_engine_free(e) == 0);
}

TEST_CASE("events: a Redis outage buffers up to max_pending, reports HP_EUNAVAILABLE with drops, then recovers") {
  int port = hp_test::free_port();
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 10;
  o.batch_ms = 10;
  o.max_pending = 100;
  hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
  r.connect_timeout_ms = 100;
  r.command_timeout_ms = 200;
  hp_events *b = nullptr;
  std::string url = "redis://127.0.0.1:" + std::to_string(port);
  REQUIRE(hp_events_open_redis(&b, e, url.c_str(), &r, &o) == 0);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 150; i++) {
    std::string m = "m" + std::to_string(i);
    int rc = hp_events_push(b, m.data(), m.size());
    if (rc == 0) accepted++;
    if (rc == HP_EUNAVAILABLE) refused++;
  }
  CHECK(accepted == 100);
  CHECK(refused == 50);
  Done flushed;
  REQUIRE(hp_events_flush(b, Done::cb, &flushed) == 0);
  CHECK(flushed.wait() == HP_EUNAVAILABLE);
  hp_events_stats st = HP_EVENTS_STATS_INIT;
  REQUIRE(hp_events_stats_get(&st, b) == 0);
  CHECK(st.dropped == 50);
  CHECK(st.pending == 100);
  CHECK(st.errors >= 1);

  // Redis comes up on that port: the buffered events are retried and land.
  hp_test::RedisServer server_later_on_port(port);
  for (int i = 0; i < 1000 && st.written < 100; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(hp_events_stats_get(&st, b) == 0);
  }
  CHECK(st.written == 100);
  CHECK(st.pending == 0);
  auto list = lrange(port, "hotpath:events");
  CHECK(list.size() == 100);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == 0);
  REQUIRE(hp_engine_free(e) == 0);
}

TEST_CASE("events: a Redis sink closed during an outage drops and reports what it could not send") {
  int port = hp_test::free_port();
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
  r.connect_timeout_ms = 100;
  hp_events *b = nullptr;
  std::string url = "redis://127.0.0.1:" + std::to_string(port);
  REQUIRE(hp_events_open_redis(&b, e, url.c_str(), &r, nullptr) == 0);
  for (int i = 0; i < 20; i++) REQUIRE(hp_events_push(b, "x", 1) == 0);
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == HP_EUNAVAILABLE);
  REQUIRE(hp_engine_free(e) == 0);
  hp_events *bad = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  CHECK(hp_events_open_redis(&bad, e, "http://nope", nullptr, nullptr) == HP_EINVAL);
  REQUIRE(hp_engine_free(e) == 0);
}

TEST_CASE("events: the Redis sink on a 3-master Redis Cluster pushes to the master of its list's slot") {
  auto &cluster = hp_test::RedisCluster::shared();
  REQUIRE(cluster.ok());
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  hp_events_options o = HP_EVENTS_OPTIONS_INIT;
  o.batch_events = 50;
  hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
  r.key = "tracker:cluster-events";
  hp_events *b = nullptr;
  REQUIRE(hp_events_open_redis(&b, e, cluster.url().c_str(), &r, &o) == 0);
  for (int i = 0; i < 500; i++) {
    std::string m = "c" + std::to_string(i);
    REQUIRE(hp_events_push(b, m.data(), m.size()) == 0);
  }
  Done closed;
  REQUIRE(hp_events_close(b, Done::cb, &closed) == 0);
  CHECK(closed.wait() == 0);
  size_t owner = cluster.owner(hp::redis::key_slot(r.key));
  auto list = lrange(cluster.port(owner), r.key);
  REQUIRE(list.size() == 500);
  for (int i = 0; i < 500; i++) CHECK(list[i] == "c" + std::to_string(i));
  REQUIRE(hp_engine_free(e) == 0);
}
