// The allocation-failure sweep: each operation runs again and again with
// its 1st, 2nd, 3rd ... allocation failing (support/failing_alloc.h counts
// every thread's allocations while the operation runs), until a run reaches
// no failure. Every run must end in success or a clean negative HP_E* code,
// call back each callback it was promised, give right answers when it
// succeeds and, under ASan (make test-asan), leak nothing.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "hotpath.h"
#include "support/failing_alloc.h"
#include "support/fixtures.h"
#include "support/redis_server.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HP_LEAK_CHECK() (__lsan_do_recoverable_leak_check() != 0)
#else
#define HP_LEAK_CHECK() false
#endif

namespace fs = std::filesystem;
namespace fa = hp_test::failing_alloc;

namespace {

// Outcomes that are not HP_E* codes: each fails the sweep.
constexpr int kNoCallback = 1000;  // a promised callback never came
constexpr int kWrong = 1001;       // a call succeeded with a wrong answer

// A callback's status, waited for without allocating.
struct Wait {
  std::atomic<int> status{0};
  std::atomic<int> calls{0};
  void set(int s) {
    status = s;
    calls++;
  }
  int get() {
    for (int i = 0; i < 5000 && calls.load() == 0; i++) usleep(1000);
    return calls.load() == 1 ? status.load() : kNoCallback;
  }
  static void cb(int status, void *data) { static_cast<Wait *>(data)->set(status); }
};

// Closes a handle (NULL: nothing to close) and waits for its callback.
template <class H>
int close_wait(int (*close)(H *, hp_close_cb, void *), H *h) {
  if (!h) return 0;
  Wait closed;
  int rc = close(h, &Wait::cb, &closed);
  return rc == 0 ? closed.get() : rc;
}

// The first failure of an operation and its close; a close whose callback
// never came fails the run even after an earlier failure.
int first_of(int rc, int closing) { return rc != 0 && closing != kNoCallback ? rc : closing; }

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hp-sweep-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  // A new file name for run n: <dir>/<stem><n><ext>.
  std::string numbered(const char *stem, uint64_t n, const char *ext) const {
    return (path / (stem + std::to_string(n) + ext)).string();
  }
};

struct OwnedEngine {
  hp_engine *e = nullptr;
  OwnedEngine() { REQUIRE(hp_engine_new(&e, nullptr) == 0); }
  ~OwnedEngine() { CHECK(hp_engine_free(e) == 0); }
};

// Runs `op` once as it is, then with allocation n = 1, 2, ... failing
// until a run reaches no failure. `prepare(n)` runs before each run, with
// nothing counted (fresh file names).
// `settle()`, when given, runs after each run with nothing counted: 0 when
// what the run left behind is as it should be (say its connections closed).
void sweep(const char *what, const std::function<int()> &op, const std::function<void(uint64_t)> &prepare = {},
           const std::function<int()> &settle = {}) {
  if (prepare) prepare(0);
  int first = op();
  if (first == 0 && settle) first = settle();
  INFO(std::string(what) << " without failures: " << first << " " << std::string(hp_err_name(first)) << " "
                          << std::string(hp_last_error()));
  REQUIRE(first == 0);
  const uint64_t kMaxRuns = 100000;
  // HP_SWEEP_FROM=n starts at the nth allocation, to look into one failure.
  const char *from = std::getenv("HP_SWEEP_FROM");
  uint64_t n = from ? std::strtoull(from, nullptr, 10) : 1, enomem = 0, other = 0;
  std::map<std::string, uint64_t> others;  // by code name
  // LSan reports a leak again at every later check: only the first counts.
  // Its heap scan is the slowest part of a run, so it runs every 16th run
  // and after the last: a leak stays reported until then, so none is missed.
  static bool leaked_before = false;
  const uint64_t kLeakCheckEvery = 16;
  for (; n < kMaxRuns; n++) {
    if (prepare) prepare(n);
    fa::arm(n);
    int rc = op();
    uint64_t count = fa::disarm();
    bool failed = fa::failed();
    if (settle && rc <= 0) {
      int left = settle();
      if (left != 0) rc = left;
    }
    bool leaked = !leaked_before && (!failed || n % kLeakCheckEvery == 0) && HP_LEAK_CHECK();
    leaked_before = leaked_before || leaked;
    INFO(std::string(what) << ": allocation " << n << " failed (" << count << " in the run): " << rc << " "
                           << std::string(hp_err_name(rc)));
    CHECK(rc != kNoCallback);
    CHECK(rc != kWrong);
    CHECK(rc <= 0);
    CHECK(std::string(hp_err_name(rc)) != "HP_EUNKNOWN");
    INFO("a leak here comes from this run or one of the " << kLeakCheckEvery - 1
                                                          << " before (HP_SWEEP_FROM narrows it down)");
    CHECK_FALSE(leaked);
    if (rc == HP_ENOMEM) enomem++;
    if (rc < 0 && rc != HP_ENOMEM) {
      other++;
      if (others[hp_err_name(rc)]++ == 0 && std::getenv("HP_SWEEP_VERBOSE"))
        std::fprintf(stderr, "%s: run %llu: %s: %s\n", what, static_cast<unsigned long long>(n), hp_err_name(rc),
                     hp_last_error());
    }
    if (!failed) {
      CHECK(rc == 0);
      break;
    }
  }
  CHECK(n < kMaxRuns);
  std::string codes;
  for (const auto &[name, runs] : others) codes += " " + name + " " + std::to_string(runs);
  MESSAGE(std::string(what) << ": " << n << " runs; " << enomem << " ended in HP_ENOMEM, " << other
                            << " in another code:" << codes);
}

// ------------------------------------------------------------ operations

int geo_open_lookup(const char *path) {
  hp_geo *g = nullptr;
  int rc = hp_geo_open(&g, nullptr, path, nullptr);
  if (rc != 0) return rc;
  hp_geo_enrichment en = HP_GEO_ENRICHMENT_INIT;
  rc = hp_geo_lookup(&en, g, "81.2.69.160", 11);
  if (rc == 1) rc = std::strcmp(en.str[HP_GEO_CITY], "London") == 0 ? 0 : kWrong;
  if (rc == 0) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    rc = hp_geo_get(&r, g, 0, "2001:218::1", 11);
    rc = rc == 1 ? (r.value ? 0 : kWrong) : rc < 0 ? rc : kWrong;
    hp_geo_result_clear(&r);
  }
  return first_of(rc, close_wait(hp_geo_close, g));
}

struct LoadWait : Wait {
  static void cb(int status, const hp_recipes_stats *, void *data) { static_cast<LoadWait *>(data)->set(status); }
};

int recipes_load_update(hp_engine *e, const char *path) {
  static const char kUpdate[] =
      R"({"type":"offer","id":7,"action":"updateOrCreate","timestamp":4102444800000,"body":"{\"offerId\":7,\"gen\":9}"})";
  hp_recipes *set = nullptr;
  int rc = hp_recipes_open(&set, e);
  if (rc != 0) return rc;
  hp_recipe_table_options to = HP_RECIPE_TABLE_OPTIONS_INIT;
  to.key_field = "offerId";
  to.update_type = "offer";
  hp_recipe_table *t = nullptr;
  rc = hp_recipes_define(&t, set, "offers", &to);
  LoadWait load;
  if (rc == 0 && (rc = hp_recipes_load(t, path, nullptr, &LoadWait::cb, &load)) == 0) rc = load.get();
  if (rc == 0) rc = hp_recipes_update(set, kUpdate, sizeof kUpdate - 1);
  if (rc == 0) {
    char buf[64];
    hp_recipe rec = HP_RECIPE_INIT;
    rec.buf = buf;
    rec.cap = sizeof buf;
    hp_recipe_key k = {nullptr, 0, 7};
    rc = hp_recipes_get(&rec, t, &k);
    static const char kWant[] = "{\"offerId\":7,\"gen\":9}";
    if (rc >= 0)
      rc = rc == 1 && rec.len == sizeof kWant - 1 && std::memcmp(buf, kWant, sizeof kWant - 1) == 0 ? 0
                                                                                                    : kWrong;
  }
  if (rc == 0 && hp_recipes_size(t) != 10) rc = kWrong;
  return first_of(rc > 0 ? kWrong : rc, close_wait(hp_recipes_close, set));
}

struct StatWait : Wait {
  char id[32] = {0};
  uint64_t length = 0;
  static void cb(int status, const hp_blob_stat *st, void *data) {
    auto *w = static_cast<StatWait *>(data);
    if (status == 0 && st) {
      std::snprintf(w->id, sizeof w->id, "%s", st->id);
      w->length = st->length;
    }
    w->set(status);
  }
};

// Reads a whole file into a fixed buffer, one read after another.
struct ReadAll : Wait {
  hp_blob_reader *reader = nullptr;
  char data[8192];
  size_t len = 0;
  static void on_open(int status, hp_blob_reader *r, const hp_blob_stat *, void *d) {
    auto *ra = static_cast<ReadAll *>(d);
    if (status < 0) return ra->set(status);
    ra->reader = r;
    ra->next();
  }
  static void on_data(int status, const void *buf, size_t len, void *d) {
    auto *ra = static_cast<ReadAll *>(d);
    if (status <= 0) return ra->set(status);
    if (ra->len + len > sizeof ra->data) return ra->set(kWrong);
    std::memcpy(ra->data + ra->len, buf, len);
    ra->len += len;
    ra->next();
  }
  static void on_into(int status, void *d) {
    auto *ra = static_cast<ReadAll *>(d);
    if (status <= 0) return ra->set(status);
    ra->len += static_cast<size_t>(status);
    ra->next();
  }
  // One read in three hands its chunk over (hp_blob_reader_read_piece),
  // one reads into this memory (hp_blob_reader_read_into).
  static void on_piece(int status, hp_blob_piece *piece, void *d) {
    auto *ra = static_cast<ReadAll *>(d);
    if (status <= 0) return ra->set(status);
    size_t len = 0;
    const void *bytes = hp_blob_piece_bytes(piece, &len);
    bool fits = ra->len + len <= sizeof ra->data && len == static_cast<size_t>(status);
    if (fits) std::memcpy(ra->data + ra->len, bytes, len);
    hp_blob_piece_free(piece);
    if (!fits) return ra->set(kWrong);
    ra->len += len;
    ra->next();
  }
  void next() {
    int kind = reads++ % 3;
    int rc = kind == 0 ? hp_blob_reader_read(reader, &ReadAll::on_data, this)
             : kind == 1
                 ? hp_blob_reader_read_piece(reader, &ReadAll::on_piece, this)
                 : hp_blob_reader_read_into(reader, data + len, sizeof data - len, &ReadAll::on_into, this);
    if (rc < 0) set(rc);
  }
  int reads = 0;
};

constexpr size_t kSweptBytes = 5000;
char swept[kSweptBytes];

// hp_blobs_get(): whether the piece holds the swept bytes.
struct GetWait : Wait {
  bool same = false;
  static void cb(int status, const hp_blob_stat *, hp_blob_piece *piece, void *d) {
    auto *w = static_cast<GetWait *>(d);
    size_t len = 0;
    const void *bytes = hp_blob_piece_bytes(piece, &len);
    w->same =
        status == static_cast<int>(kSweptBytes) && len == kSweptBytes && std::memcmp(bytes, swept, len) == 0;
    hp_blob_piece_free(piece);
    w->set(status < 0 ? status : 0);
  }
};

int blobs_write_read(hp_engine *e, const char *spec) {
  char *data = swept;
  for (size_t i = 0; i < kSweptBytes; i++) data[i] = static_cast<char>(i * 7);
  hp_blobs *b = nullptr;
  int rc = hp_blobs_open(&b, e, spec, nullptr);
  if (rc != 0) return rc;
  hp_blob_write_options o = HP_BLOB_WRITE_OPTIONS_INIT;
  o.chunk_size = 2000;
  hp_blob_writer *w = nullptr;
  rc = hp_blobs_open_write(&w, b, "swept", &o);
  Wait wrote;
  if (rc == 0 && (rc = hp_blob_writer_write(w, data, kSweptBytes, &Wait::cb, &wrote)) == 0) rc = wrote.get();
  StatWait committed;
  if (rc == 0 && (rc = hp_blob_writer_commit(w, &StatWait::cb, &committed)) == 0) rc = committed.get();
  rc = first_of(rc, close_wait(hp_blob_writer_close, w));
  if (rc == 0 && committed.length != kSweptBytes) rc = kWrong;
  ReadAll got;
  if (rc == 0) {
    hp_blob_read_options ro = HP_BLOB_READ_OPTIONS_INIT;
    ro.id = committed.id;
    if ((rc = hp_blobs_open_read(b, &ro, &ReadAll::on_open, &got)) == 0) rc = got.get();
    rc = first_of(rc, close_wait(hp_blob_reader_close, got.reader));
    if (rc == 0 && !(got.len == kSweptBytes && std::memcmp(got.data, data, kSweptBytes) == 0)) rc = kWrong;
  }
  GetWait whole;
  if (rc == 0) {
    hp_blob_read_options ro = HP_BLOB_READ_OPTIONS_INIT;
    ro.id = committed.id;
    if ((rc = hp_blobs_get(b, &ro, kSweptBytes, &GetWait::cb, &whole)) == 0) rc = whole.get();
    if (rc == 0 && !whole.same) rc = kWrong;
  }
  return first_of(rc, close_wait(hp_blobs_close, b));
}

struct RateWait : Wait {
  int allowed = -1;
  static void cb(int status, const hp_rate_result *r, void *data) {
    auto *w = static_cast<RateWait *>(data);
    if (status == 0) w->allowed = r->allowed;
    w->set(status);
  }
};

int limiter_acquire_hit(hp_engine *e, const char *spec) {
  hp_limiter *l = nullptr;
  int rc = hp_limiter_open(&l, e, spec, nullptr);
  if (rc != 0) return rc;
  hp_lease_result lease = HP_LEASE_RESULT_INIT;
  rc = hp_limiter_acquire(&lease, l, "subject", "resource", 2, 60000, nullptr);
  if (rc == 0 && lease.status != HP_LEASE_GRANTED) rc = kWrong;
  hp_rate_spec rate = HP_RATE_SPEC_INIT;
  rate.rate = 10;
  rate.period_ms = 60000;
  hp_rate_result r = HP_RATE_RESULT_INIT;
  if (rc == 0 && (rc = hp_limiter_hit(&r, l, "key", &rate)) == 0 && !r.allowed) rc = kWrong;
  RateWait hit;
  if (rc == 0 && (rc = hp_limiter_hit_async(l, "key", &rate, &RateWait::cb, &hit)) == 0) rc = hit.get();
  if (rc == 0 && hit.allowed != 1) rc = kWrong;
  return first_of(rc, close_wait(hp_limiter_close, l));
}

int events_append_flush(hp_engine *e, const char *path) {
  hp_events *ev = nullptr;
  int rc = hp_events_open_file(&ev, e, path, nullptr, nullptr);
  if (rc != 0) return rc;
  hp_event event = HP_EVENT_INIT;
  event.event_type = "app_open";
  event.event_type_len = 8;
  event.query = "deviceid=abc";
  event.query_len = 12;
  event.ip = "1.2.3.4";
  event.ip_len = 7;
  event.received_ms = 1510826008003;
  rc = hp_events_append(ev, &event, nullptr);
  if (rc > 0) rc = 0;
  Wait flushed;
  if (rc == 0 && (rc = hp_events_flush(ev, &Wait::cb, &flushed)) == 0) rc = flushed.get();
  return first_of(rc, close_wait(hp_events_close, ev));
}

// A stop asked for from another thread must happen whatever memory is left:
// each of these closes or stops a handle while allocations fail, and the
// stop's callback, or the Redis connection closing, shows it happened.

// The number of clients connected to a Redis server on loopback port
// `port`, not counting the one that asks; -1 when it cannot tell.
int redis_clients(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  static const char kInfo[] = "*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n";
  char buf[4096];
  ssize_t got = 0;
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 && write(fd, kInfo, sizeof kInfo - 1) > 0)
    got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return -1;
  buf[got] = 0;
  const char *at = std::strstr(buf, "connected_clients:");
  return at ? std::atoi(at + std::strlen("connected_clients:")) - 1 : -1;
}

// 0 once no client is connected to the server (within 3 s), else kWrong.
int redis_connections_closed(int port) {
  for (int i = 0; i < 300; i++) {
    if (redis_clients(port) == 0) return 0;
    usleep(10000);
  }
  return kWrong;
}

// The callback of a watch or subscription: the stop's HP_ECLOSED, once.
struct StopWait {
  std::atomic<int> closed{0};
  void set(int status) {
    if (status == HP_ECLOSED) closed++;
  }
  int get() {
    for (int i = 0; i < 5000 && closed.load() == 0; i++) usleep(1000);
    return closed.load() == 1 ? 0 : kNoCallback;
  }
  static void on_load(int status, const hp_recipes_stats *, void *data) {
    static_cast<StopWait *>(data)->set(status);
  }
  static void on_message(int status, void *data) { static_cast<StopWait *>(data)->set(status); }
};

int recipes_watch_unwatch(hp_engine *e, const char *path) {
  hp_recipes *set = nullptr;
  int rc = hp_recipes_open(&set, e);
  if (rc != 0) return rc;
  hp_recipe_table_options to = HP_RECIPE_TABLE_OPTIONS_INIT;
  to.key_field = "offerId";
  hp_recipe_table *t = nullptr;
  rc = hp_recipes_define(&t, set, "offers", &to);
  hp_recipes_watch_options wo = HP_RECIPES_WATCH_OPTIONS_INIT;
  wo.load_now = 0;
  StopWait stopped;
  hp_recipes_watch *w = nullptr;
  if (rc == 0 && (rc = hp_recipes_watch_file(&w, t, path, &wo, &StopWait::on_load, &stopped)) == 0) {
    hp_recipes_unwatch(w);
    rc = stopped.get();  // before the set's close, which would stop it too
  }
  return first_of(rc, close_wait(hp_recipes_close, set));
}

// A recipe set subscribed on Redis, made with nothing counted; the sweep
// fails the allocations of its stop and close only.
struct Subscribed {
  hp_recipes *set = nullptr;
  hp_recipes_subscription *sub = nullptr;
  StopWait stopped;
  void open(hp_engine *e, const char *url) {
    REQUIRE(hp_recipes_open(&set, e) == 0);
    REQUIRE(hp_recipes_subscribe(&sub, set, url, "offers", nullptr, &StopWait::on_message, &stopped) == 0);
  }
  int unsubscribe_close() {
    hp_recipes_unsubscribe(sub);
    int rc = stopped.get();  // before the set's close, which would stop it too
    return first_of(rc, close_wait(hp_recipes_close, set));
  }
};

// A Redis limiter that answered a hit, made with nothing counted; the
// sweep fails the allocations of its close only.
hp_limiter *redis_limiter(hp_engine *e, const char *url) {
  hp_limiter *l = nullptr;
  REQUIRE(hp_limiter_open(&l, e, url, nullptr) == 0);
  hp_rate_spec rate = HP_RATE_SPEC_INIT;
  rate.rate = 1000000;
  rate.period_ms = 60000;
  RateWait hit;
  REQUIRE(hp_limiter_hit_async(l, "key", &rate, &RateWait::cb, &hit) == 0);
  REQUIRE(hit.get() == 0);
  return l;
}

}  // namespace

TEST_CASE("alloc sweep: geo open and lookup") {
  std::string path = hp_test::fixture("maxmind/test-data/GeoIP2-City-Test.mmdb");
  sweep("geo", [&] { return geo_open_lookup(path.c_str()); });
}

TEST_CASE("alloc sweep: recipe load and point update") {
  TempDir dir;
  std::string path = (dir.path / "offers.json").string();
  std::string json = "[";
  for (int i = 1; i <= 10; i++) json += (i > 1 ? "," : "") + ("{\"offerId\":" + std::to_string(i) + ",\"gen\":1}");
  json += "]";
  FILE *f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fwrite(json.data(), 1, json.size(), f);
  std::fclose(f);
  OwnedEngine eng;
  sweep("recipes", [&] { return recipes_load_update(eng.e, path.c_str()); });
}

TEST_CASE("alloc sweep: blob write and read") {
  TempDir dir;
  OwnedEngine eng;
  std::string spec;
  // A new SQLite file each run.
  sweep(
      "blobs", [&] { return blobs_write_read(eng.e, spec.c_str()); },
      [&](uint64_t n) { spec = "sqlite:" + dir.numbered("blobs", n, ".db"); });
}

TEST_CASE("alloc sweep: limiter acquire and hit") {
  TempDir dir;
  OwnedEngine eng;
  std::string spec;
  SUBCASE("memory") {
    sweep("limits memory", [&] { return limiter_acquire_hit(eng.e, "memory:"); });
  }
  SUBCASE("SQLite") {
    sweep(
        "limits sqlite", [&] { return limiter_acquire_hit(eng.e, spec.c_str()); },
        [&](uint64_t n) { spec = "sqlite:" + dir.numbered("limits", n, ".db"); });
  }
}

TEST_CASE("alloc sweep: events append and flush") {
  TempDir dir;
  OwnedEngine eng;
  std::string path;
  sweep(
      "events", [&] { return events_append_flush(eng.e, path.c_str()); },
      [&](uint64_t n) { path = dir.numbered("events", n, ".log"); });
}

TEST_CASE("alloc sweep: a recipe watch stopped from another thread") {
  TempDir dir;
  std::string path = (dir.path / "offers.json").string();
  FILE *f = std::fopen(path.c_str(), "wb");
  REQUIRE(f);
  std::fputs("[{\"offerId\":1}]", f);
  std::fclose(f);
  OwnedEngine eng;
  sweep("recipes watch", [&] { return recipes_watch_unwatch(eng.e, path.c_str()); });
}

TEST_CASE("alloc sweep: a recipe subscription and a Redis limiter stopped from another thread") {
  hp_test::RedisServer server;
  std::string url = server.url();
  OwnedEngine eng;
  auto closed = [&] { return redis_connections_closed(server.port()); };
  SUBCASE("subscription") {
    std::unique_ptr<Subscribed> s;
    sweep(
        "recipes subscription stop", [&] { return s->unsubscribe_close(); },
        [&](uint64_t) {
          s = std::make_unique<Subscribed>();
          s->open(eng.e, url.c_str());
        },
        closed);
  }
  SUBCASE("limiter") {
    hp_limiter *l = nullptr;
    sweep(
        "limits redis close", [&] { return close_wait(hp_limiter_close, l); },
        [&](uint64_t) { l = redis_limiter(eng.e, url.c_str()); }, closed);
  }
}
