// Runs an engine on a test-owned loop and checks that everything closes.
#pragma once

#include <doctest/doctest.h>
#include <uv.h>

#include "hotpath.h"

namespace hp_test {

// A loop of the test's own; closing it fails if any handle was leaked.
struct TestLoop {
  uv_loop_t loop{};
  TestLoop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~TestLoop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run() { uv_run(&loop, UV_RUN_DEFAULT); }
};

}  // namespace hp_test
