// One lifecycle for every handle (geo, recipes, limiter, blobs, writers and
// readers, events, ua), on libuv's uv_close model:
//  - every call counts itself in flight for its synchronous part (Call);
//  - close() refuses new calls at once (they get HP_ECLOSED), and once no
//    call is in flight it runs the subsystem's shutdown(), then the user's
//    callback, then frees the handle; never under a call;
//  - with an engine that still runs, shutdown and the callback run on its
//    loop thread; without one (or once the engine closed) they run on the
//    thread that ended the last call, which may be close() itself.
// Calls in flight are the readers of the handle's core::Rcu: a call is also
// a read section, so a subsystem that swaps snapshots (geo, recipes) pays
// nothing extra for the count, and a lookup on many threads touches no
// shared cache line but the read-mostly closing flag.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/engine.h"
#include "core/rcu.h"
#include "hotpath.h"

namespace hp::core {

class Handle {
 public:
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;

  Engine *engine() const { return engine_.get(); }
  bool closing() const { return closing_.load(std::memory_order_acquire); }

  // Counts a call in flight; false (and nothing counted) once close began.
  bool enter(Rcu::Token *t);
  void leave(Rcu::Token t);

  // A call in flight (and a read section of rcu()) for the lifetime of the
  // object.
  class Call {
   public:
    explicit Call(Handle *h) : h_(h && h->enter(&t_) ? h : nullptr) {}
    ~Call() {
      if (h_) h_->leave(t_);
    }
    Call(const Call &) = delete;
    Call &operator=(const Call &) = delete;
    explicit operator bool() const { return h_ != nullptr; }

   private:
    Rcu::Token t_;  // declared first: enter() fills it while h_ is made
    Handle *h_;
  };

  // A writer's call (a reload, a point update): counted in flight, so
  // close waits for it, but not a reader of rcu(), so it may swap a
  // snapshot and wait in rcu().synchronize(). Two writers that were
  // readers would wait for each other there. Writers read snapshots under
  // their own lock, not through the RCU.
  class Writer {
   public:
    explicit Writer(Handle *h) : h_(h && h->enter_writer() ? h : nullptr) {}
    ~Writer() {
      if (h_) h_->leave_writer();
    }
    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;
    explicit operator bool() const { return h_ != nullptr; }

   private:
    Handle *h_;
  };

  // Snapshots read inside a Call stay valid until it ends; a writer swaps
  // and then waits with rcu().synchronize() (never inside a Call).
  Rcu &rcu() { return rcu_; }

  // hp_<x>_close(): 0, or HP_ECLOSED (and `cb` is never called) when close
  // was already requested. Thread: any.
  int close(hp_close_cb cb, void *data);

 protected:
  // Allocates the close's last step now, so that the close cannot run out
  // of memory on its way to the callback.
  explicit Handle(Engine *e) : last_step_(e ? new Engine::Task : nullptr), engine_(e) {}
  virtual ~Handle() = default;
  // Runs once, after close() and with no call in flight: stop what the
  // handle runs (watches, subscriptions, pending requests fail with
  // HP_ECLOSED) and call done(status) once nothing of it needs the handle
  // any more, now or later from the loop thread. status reaches the close
  // callback (0, or what the close lost, e.g. events it could not write).
  virtual void shutdown(std::function<void(int status)> done) { done(0); }

 private:
  bool enter_writer();
  void leave_writer();
  // True for the one caller that may finish: close began, no call is in
  // flight and nobody claimed it before.
  bool claim_finish();
  void finish();

  Rcu rcu_;
  std::atomic<int64_t> writers_{0};
  std::atomic<bool> closing_{false};
  std::atomic<bool> close_requested_{false};
  std::atomic<bool> finished_{false};
  std::unique_ptr<Engine::Task> last_step_;
  hp_close_cb cb_ = nullptr;
  void *cb_data_ = nullptr;
  EngineRef engine_;
};

}  // namespace hp::core
