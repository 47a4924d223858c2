// Work on the libuv thread pool whose answer, with the pool thread's error
// (message and system error), is handed back on the loop thread: the one
// way limits and blobs run blocking backend calls (SQLite) off the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"

namespace hp::core {

// Runs `work(value)` on the pool, then `done(status, value)` on the loop
// thread with hp_last_error() as the work left it when status < 0. status
// is work's return, HP_ECLOSED when the engine closed before the work
// started, or HP_ENOMEM when the work threw. `who` starts the messages the
// helper writes itself ("blobs"). `done` must allocate only before it
// calls back: out of memory there is reported to it as its answer.
// Loop thread only; throws std::bad_alloc when nothing was queued.
template <class T>
void run_on_pool(Engine *engine, const char *who, std::function<int(T &)> work,
                 std::function<void(int, T)> done) {
  struct State {
    int rc = 0;
    Status failure;  // message and system error, carried to the loop
    T value{};
  };
  auto st = std::make_shared<State>();
  engine->queue_work(
      [st, work = std::move(work)] {
        st->rc = work(st->value);
        if (st->rc < 0) st->failure = Status::capture(st->rc);
      },
      [who, st, done = std::move(done)](int status) {
        if (status == HP_ECLOSED) {
          set_error(status, who, ": the engine closed before the call ran");
          return done(status, T{});
        }
        if (status < 0) {  // the work threw: out of memory
          set_error(status, who, ": out of memory");
          return done(status, T{});
        }
        int rc = guard(who, [&] {
          if (st->rc < 0) st->failure.raise();
          done(st->rc, std::move(st->value));
          return 0;
        });
        if (rc < 0) done(rc, T{});
      });
}

}  // namespace hp::core
