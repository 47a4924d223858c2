#include "core/handle.h"

#include "core/error.h"

namespace hp::core {

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
  rcu_.leave(t);
  if (closing_.load(std::memory_order_seq_cst)) maybe_finish();
}

bool Handle::enter_writer() {
  writers_.fetch_add(1, std::memory_order_seq_cst);
  if (!closing_.load(std::memory_order_seq_cst)) return true;
  leave_writer();
  return false;
}

void Handle::leave_writer() {
  writers_.fetch_sub(1, std::memory_order_seq_cst);
  if (closing_.load(std::memory_order_seq_cst)) maybe_finish();
}

int Handle::close(hp_close_cb cb, void *data) {
  if (close_requested_.exchange(true, std::memory_order_acq_rel))
    return set_error(HP_ECLOSED, "close: the handle is already closing");
  cb_ = cb;
  cb_data_ = data;
  closing_.store(true, std::memory_order_seq_cst);
  maybe_finish();
  return 0;
}

void Handle::maybe_finish() {
  // A call may enter and back off after the count reached zero: the flag
  // makes the finish happen once.
  if (rcu_.readers() != 0 || writers_.load(std::memory_order_seq_cst) != 0 || finished_.exchange(true, std::memory_order_acq_rel)) return;
  finish();
}

void Handle::finish() {
  // Captures only `this`: std::function keeps it inline, without allocating.
  auto run = [this](bool) {
    shutdown([this](int status) {
      hp_close_cb cb = cb_;
      void *data = cb_data_;
      if (cb) cb(status, data);
      delete this;
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
