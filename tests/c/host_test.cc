#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "hotpath.h"
#include "support/loop.h"

TEST_CASE("host: snapshot fills every metric without waiting") {
  hp_host_info info = HP_HOST_INFO_INIT;
  REQUIRE(hp_host_snapshot(&info) == 0);
  CHECK(info.total_mem > 0);
  CHECK(info.free_mem <= info.total_mem);
  CHECK(info.used_mem == info.total_mem - info.free_mem);
  CHECK(info.mem_usage >= 0.0);
  CHECK(info.mem_usage <= 1.0);
  CHECK(std::string(info.os_type) == "Linux");
  CHECK(info.up_time > 0);
  CHECK(info.num_cores >= 1);
  CHECK(std::strlen(info.cpu_model) > 0);
  CHECK(info.cpu_load == -1);
  size_t mac = std::strlen(info.mac);
  CHECK((mac == 0 || mac == 17));
}

TEST_CASE("host: snapshot rejects NULL and unknown versions") {
  CHECK(hp_host_snapshot(nullptr) == HP_EINVAL);
  hp_host_info info = HP_HOST_INFO_INIT;
  info.version = 99;
  CHECK(hp_host_snapshot(&info) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("version") != std::string::npos);
}

namespace {
struct Result {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  int status = 1;
  double load = -2;
};
void on_sample(int status, const hp_host_info *info, void *data) {
  auto *r = static_cast<Result *>(data);
  std::lock_guard<std::mutex> lock(r->mu);
  r->calls++;
  r->status = status;
  if (info) r->load = info->cpu_load;
  r->cv.notify_all();
}
}  // namespace

TEST_CASE("host: sample measures CPU load over a window on the loop") {
  hp_test::TestLoop t;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, &t.loop) == 0);
  Result r;
  auto start = std::chrono::steady_clock::now();
  REQUIRE(hp_host_sample(e, 50, on_sample, &r) == 0);
  CHECK(r.calls == 0);  // never synchronous
  while (r.calls == 0) uv_run(&t.loop, UV_RUN_ONCE);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.status == 0);
  CHECK(r.load >= 0.0);
  CHECK(r.load <= 100.0);
  CHECK(ms >= 45);
  REQUIRE(hp_engine_close(e, nullptr, nullptr) == 0);
  t.run();
  CHECK(r.calls == 1);
}

TEST_CASE("host: closing the engine with a sample in flight calls back once with HP_ECLOSED") {
  hp_test::TestLoop t;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, &t.loop) == 0);
  Result r1, r2;
  REQUIRE(hp_host_sample(e, 10000, on_sample, &r1) == 0);
  uv_run(&t.loop, UV_RUN_NOWAIT);  // the sample starts its timer
  REQUIRE(hp_host_sample(e, 10000, on_sample, &r2) == 0);  // still queued when close begins
  REQUIRE(hp_engine_close(e, nullptr, nullptr) == 0);
  CHECK(hp_host_sample(e, 10, on_sample, &r2) == HP_ECLOSED);  // refused: no callback promised
  auto start = std::chrono::steady_clock::now();
  t.run();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(r1.calls == 1);
  CHECK(r1.status == HP_ECLOSED);
  CHECK(r2.calls == 1);
  CHECK(r2.status == HP_ECLOSED);
}

TEST_CASE("host: sample on an owned loop, freed while pending") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  Result ok, pending;
  REQUIRE(hp_host_sample(e, 20, on_sample, &ok) == 0);
  {
    std::unique_lock<std::mutex> lock(ok.mu);
    ok.cv.wait_for(lock, std::chrono::seconds(5), [&] { return ok.calls > 0; });
  }
  CHECK(ok.status == 0);
  REQUIRE(hp_host_sample(e, 10000, on_sample, &pending) == 0);
  REQUIRE(hp_engine_free(e) == 0);
  CHECK(pending.calls == 1);
  CHECK(pending.status == HP_ECLOSED);
}

TEST_CASE("host: sample rejects bad arguments") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  Result r;
  CHECK(hp_host_sample(nullptr, 10, on_sample, &r) == HP_EINVAL);
  CHECK(hp_host_sample(e, 10, nullptr, &r) == HP_EINVAL);
  CHECK(hp_host_sample(e, 60001, on_sample, &r) == HP_EINVAL);
  REQUIRE(hp_engine_free(e) == 0);
  CHECK(r.calls == 0);
}
