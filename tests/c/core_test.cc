#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hotpath.h"
#include "support/loop.h"

TEST_CASE("core: version macros and hp_version agree") {
  CHECK(hp_version() == HP_VERSION_HEX);
  std::string expected = std::to_string(HP_VERSION_MAJOR) + "." + std::to_string(HP_VERSION_MINOR) + "." +
                         std::to_string(HP_VERSION_PATCH);
  CHECK(std::string(hp_version_string()) == expected);
}

TEST_CASE("core: every error code has a name and a text") {
  CHECK(std::string(hp_err_name(HP_ENOTFOUND)) == "HP_ENOTFOUND");
  CHECK(std::string(hp_strerror(HP_ENOTFOUND)) == "not found");
  CHECK(std::string(hp_err_name(HP_EUNAVAILABLE)) == "HP_EUNAVAILABLE");
  for (int code = -1; code > HP__ERRNO_LAST; code--) {
    CHECK(std::string(hp_err_name(code)).rfind("HP_E", 0) == 0);
    CHECK(std::string(hp_strerror(code)) != "unknown error");
  }
  CHECK(std::string(hp_err_name(-999)) == "HP_EUNKNOWN");
  CHECK(std::string(hp_strerror(12345)) == "unknown error");
}

TEST_CASE("core: the last error is per thread") {
  uint32_t v;
  CHECK(hp_fingerprint32(&v, nullptr, 3) == HP_EINVAL);
  std::string mine = hp_last_error();
  CHECK(mine.find("NULL") != std::string::npos);
  std::thread([] {
    CHECK(std::string(hp_last_error()).empty());
    hp_jump_hash(nullptr, 1, 0);
    CHECK(std::string(hp_last_error()).find("out is NULL") != std::string::npos);
  }).join();
  CHECK(std::string(hp_last_error()) == mine);
}

TEST_CASE("core: engine_new rejects a NULL out pointer") {
  CHECK(hp_engine_new(nullptr, nullptr) == HP_EINVAL);
}

TEST_CASE("core: an engine on its own loop starts and frees") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  CHECK(hp_engine_loop(e) != nullptr);
  CHECK(hp_engine_free(e) == 0);
  CHECK(hp_engine_free(nullptr) == 0);
  CHECK(hp_engine_close(nullptr, nullptr, nullptr) == 0);
}

TEST_CASE("core: an engine on a caller's loop closes asynchronously and calls back once") {
  hp_test::TestLoop t;
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, &t.loop) == 0);
  CHECK(hp_engine_loop(e) == &t.loop);
  CHECK(hp_engine_free(e) == HP_EINVAL);  // not an owned loop
  int calls = 0;
  REQUIRE(hp_engine_close(e, [](int, void *d) { ++*static_cast<int *>(d); }, &calls) == 0);
  CHECK(hp_engine_close(e, nullptr, nullptr) == HP_ECLOSED);
  t.run();
  CHECK(calls == 1);
}

TEST_CASE("core: an owned engine closed with hp_engine_close calls back on its thread and cleans up") {
  hp_engine *e = nullptr;
  REQUIRE(hp_engine_new(&e, nullptr) == 0);
  std::atomic<int> calls{0};
  REQUIRE(hp_engine_close(e, [](int, void *d) { static_cast<std::atomic<int> *>(d)->fetch_add(1); }, &calls) == 0);
  for (int i = 0; i < 200 && calls.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(calls.load() == 1);
}

TEST_CASE("core: many engines start and stop from several threads") {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; i++) {
        hp_engine *e = nullptr;
        if (hp_engine_new(&e, nullptr) != 0 || hp_engine_free(e) != 0) failures++;
      }
    });
  for (auto &th : threads) th.join();
  CHECK(failures.load() == 0);
}
