#include "core/handle.h"

#include <mutex>

#include "core/error.h"

namespace hp::core {

namespace {

// The moment between a call's end and its look at the closing flag: once
// the count of calls in flight reaches zero another thread may finish the
// handle, so that look must not outlive it. Threads are inside this
// process-wide read section for those few instructions (never across a
// callback); a handle is freed only after a grace period of it. Never
// destroyed: threads may end calls while the process exits.
Rcu &ending() {
  static Rcu *rcu = new Rcu;
  return *rcu;
}

// Frees `h` once no thread can still be looking at it. Grace periods run
// one at a time (BasicRcu::synchronize's rule).
void free_after_grace(Handle *h, void (*destroy)(Handle *)) {
  static std::mutex *one_at_a_time = new std::mutex;
  {
    std::lock_guard<std::mutex> lock(*one_at_a_time);
    ending().synchronize();
  }
  destroy(h);
}

}  // namespace

// Every access is sequentially consistent: a leaving call either sees the
// closing flag or is seen by close()'s count (the Dekker pattern), so the
// last one out never goes unnoticed.
bool Handle::enter(Rcu::Token *t) {
  *t = rcu_.enter();
  if (!closing_.load(std::memory_order_seq_cst)) return true;
  leave(*t);
  return false;
}

void Handle::leave(Rcu::Token t) {
  Rcu::Token guard = ending().enter();
  rcu_.leave(t);
  bool mine = closing_.load(std::memory_order_seq_cst) && claim_finish();
  ending().leave(guard);
  if (mine) finish();  // only its claimant may free the handle now
}

bool Handle::enter_writer() {
  writers_.fetch_add(1, std::memory_order_seq_cst);
  if (!closing_.load(std::memory_order_seq_cst)) return true;
  leave_writer();
  return false;
}

void Handle::leave_writer() {
  Rcu::Token guard = ending().enter();
  writers_.fetch_sub(1, std::memory_order_seq_cst);
  bool mine = closing_.load(std::memory_order_seq_cst) && claim_finish();
  ending().leave(guard);
  if (mine) finish();
}

int Handle::close(hp_close_cb cb, void *data) {
  if (close_requested_.exchange(true, std::memory_order_acq_rel))
    return set_error(HP_ECLOSED, "close: the handle is already closing");
  cb_ = cb;
  cb_data_ = data;
  Rcu::Token guard = ending().enter();
  closing_.store(true, std::memory_order_seq_cst);
  bool mine = claim_finish();
  ending().leave(guard);
  if (mine) finish();
  return 0;
}

bool Handle::claim_finish() {
  // A call may enter and back off after the count reached zero: the flag
  // makes the finish happen once.
  return rcu_.readers() == 0 && writers_.load(std::memory_order_seq_cst) == 0 &&
         !finished_.exchange(true, std::memory_order_acq_rel);
}

void Handle::finish() {
  // Captures only `this`: std::function keeps it inline, without allocating.
  auto run = [this](bool) {
    shutdown([this](int status) {
      hp_close_cb cb = cb_;
      void *data = cb_data_;
      if (cb) cb(status, data);
      free_after_grace(this, [](Handle *h) { delete h; });
    });
  };
  if (last_step_) {
    last_step_->fn = run;
    engine_->run_soon(std::move(last_step_));
  } else {
    run(true);
  }
}

}  // namespace hp::core
