#include "events/batcher.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/guard.h"
#include "events/events.h"

namespace hp::events {

Batcher::Batcher(core::Engine *e, std::unique_ptr<Sink> sink, const hp_events_options &o)
    : engine_(e), sink_(std::move(sink)), opts_(o), close_task_(std::make_unique<core::Engine::Task>()) {}

int Batcher::open(Batcher **out, core::Engine *e, std::unique_ptr<Sink> sink, const hp_events_options &o) {
  auto *b = new Batcher(e, std::move(sink), o);
  b->progress_.notify = [b] { b->notify_loop(); };
  b->progress_.report = [e](int code) {
    e->emit(HP_EVENT_ERROR, HP_HANDLE_EVENTS, code,
            std::string("events: a batch could not be written (retried): ") + core::last_error_text(), "");
  };
  b->progress_.on_loop = [b](std::function<void(bool)> fn) {
    b->retain();
    int rc = b->engine_->post([b, fn = std::move(fn)](bool closing) {
      fn(closing || b->finished_);
      b->release();
    });
    if (rc != 0) {
      fn(true);
      b->release();
    }
  };
  int rc;
  try {
    rc = b->sink_->start(&b->progress_);
  } catch (...) {  // out of memory part way: stop what started, free the rest
    b->sink_->drain_and_close();
    delete b;
    throw;
  }
  if (rc < 0) {
    delete b;
    return rc;
  }
  rc = e->post([b](bool closing) { b->start(closing); });
  if (rc < 0) {
    b->sink_->drain_and_close();
    delete b;
    return core::set_error(rc, "events: the engine is closing");
  }
  *out = b;
  return 0;
}

void Batcher::start(bool closing) {
  if (closing) {
    // The engine closed before the batcher started: write what arrived.
    close_now();
    return;
  }
  engine_->add(this);
  started_ = true;
  sink_->attach(engine_.get());
  uv_timer_init(engine_->loop(), &timer_);
  timer_.data = this;
  uv_timer_start(
      &timer_,
      [](uv_timer_t *t) {
        auto *b = static_cast<Batcher *>(t->data);
        b->handoff();
        b->sink_->tick();
        b->check_flushes(false);
      },
      opts_.batch_ms, opts_.batch_ms);
  // The timer alone must not keep a loop (a Node process or worker) alive:
  // what is buffered at exit is written by the engine's close.
  uv_unref(reinterpret_cast<uv_handle_t *>(&timer_));
}

void Batcher::handoff_locked() {
  if (count_ == 0) return;
  Batch batch;
  batch.data.swap(buf_);
  batch.count = count_;
  batch.seq_end = seq_;
  size_t size = batch.data.size();
  try {
    sink_->submit(std::move(batch));
  } catch (const std::bad_alloc &) {
    // No memory to queue it: the events stay buffered for the next handoff
    // (or are counted as dropped by a close that cannot hand them off).
    buf_.swap(batch.data);
    return;
  }
  count_ = 0;
  try {
    buf_.reserve(size);
  } catch (const std::bad_alloc &) {  // only a hint
  }
}

void Batcher::handoff() {
  std::lock_guard<std::mutex> lock(mu_);
  handoff_locked();
}

int Batcher::push(const char *msg, size_t len) {
  if (closed_.load(std::memory_order_acquire)) return core::set_error(HP_ECLOSED, "events: the batcher is closed");
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t pending = seq_ - progress_.written_seq.load(std::memory_order_acquire);
  if (pending >= opts_.max_pending) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    int last = progress_.last_status.load(std::memory_order_relaxed);
    return core::set_error(HP_EUNAVAILABLE, "events: ", std::to_string(pending),
                           " events are waiting for the sink (", last < 0 ? hp_err_name(last) : "it is slow",
                           "); the event was dropped");
  }
  buf_.append(msg, len);
  buf_.push_back('\n');
  count_++;
  seq_++;
  appended_.fetch_add(1, std::memory_order_relaxed);
  if (count_ >= opts_.batch_events) handoff_locked();
  return 0;
}

void Batcher::notify_loop() {
  retain();
  int rc = engine_->post([this](bool closing) {
    if (!closing && !finished_) check_flushes(false);
    release();
  });
  if (rc != 0) release();
}

void Batcher::check_flushes(bool closing) {
  uint64_t done = progress_.written_seq.load(std::memory_order_acquire);
  int last = progress_.last_status.load(std::memory_order_relaxed);
  auto ready = [&](const Waiter &w) { return w.seq <= done || closing || last < 0; };
  // One waiter at a time, taken out before its callback: never allocates
  // (a flush must complete also when memory is short), and a callback that
  // flushes again finds the list consistent. Waiters are few.
  for (;;) {
    auto it = std::find_if(flushes_.begin(), flushes_.end(), ready);
    if (it == flushes_.end()) break;
    Waiter w = *it;
    flushes_.erase(it);
    int status = 0;
    if (w.seq > done) {
      status = closing ? HP_ECLOSED : last;
      core::set_error(status, closing ? "events: closed before the flush completed" : "events: the write failed");
    }
    w.cb(status, w.data);
  }
  // A pending flush keeps the loop alive (a Node process waits for it); an
  // idle batcher does not.
  if (started_ && !finished_) {
    if (flushes_.empty())
      uv_unref(reinterpret_cast<uv_handle_t *>(&timer_));
    else
      uv_ref(reinterpret_cast<uv_handle_t *>(&timer_));
  }
}

int Batcher::flush(hp_events_cb cb, void *data) {
  if (closed_.load(std::memory_order_acquire)) return core::set_error(HP_ECLOSED, "events: the batcher is closed");
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = seq_;
    handoff_locked();
  }
  retain();
  int rc = engine_->post([this, target, cb, data](bool closing) {
    if (closing || finished_) {
      core::set_error(HP_ECLOSED, "events: closed before the flush completed");
      cb(HP_ECLOSED, data);
    } else {
      int rc = core::guard("events_flush", [&] {
        flushes_.push_back(Waiter{target, cb, data});
        return 0;
      });
      if (rc < 0)
        cb(rc, data);
      else
        check_flushes(false);
    }
    release();
  });
  if (rc != 0) {
    release();
    return rc;
  }
  return 0;
}

int Batcher::close(hp_events_cb cb, void *data) {
  if (closed_.exchange(true, std::memory_order_acq_rel)) {
    // Closed already (by the engine, which wrote what was buffered): drop
    // the user's reference.
    release();
    return core::set_error(HP_ECLOSED, "events: close was already requested");
  }
  handoff();
  close_cb_ = cb;
  close_data_ = data;
  retain();
  // Behind the batches just handed off (a sink may queue them on the
  // loop), in a task allocated with the batcher: it cannot fail to run.
  close_task_->fn = [this](bool closing) {
    if (closing || finished_) {
      // The engine's close does the final write (close_now).
      if (!finished_) close_now();
      release();
      return;
    }
    retain();  // the sink's close callback's
    int rc = core::guard("events_close", [&] {
      sink_->close(engine_.get(), [this](int status) {
        if (!finished_) {
          if (status == HP_ECLOSED)
            close_now();  // the engine closed first: finish here
          else
            finish(status < 0 ? status : 0);
        }
        release();
      });
      return 0;
    });
    if (rc < 0) {
      // No memory to close in the background: write the rest here.
      close_now();
      release();
    }
    release();
  };
  engine_->run_soon(std::move(close_task_));
  release();  // the user's reference
  return 0;
}

void Batcher::close_now() {
  if (finished_) return;
  closed_.store(true, std::memory_order_release);
  handoff();
  int lost = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (count_ > 0) {  // no memory to hand them off: counted, reported
      progress_.dropped.fetch_add(count_, std::memory_order_relaxed);
      count_ = 0;
      buf_.clear();
      lost = core::set_error(HP_ENOMEM, "events: out of memory; buffered events were dropped");
    }
  }
  int status = sink_->drain_and_close();
  finish(status < 0 ? status : lost);
}

void Batcher::finish(int status) {
  if (finished_) return;
  finished_ = true;
  check_flushes(true);
  hp_events_cb cb = close_cb_;
  void *data = close_data_;
  close_cb_ = nullptr;
  if (cb) {
    if (status < 0) core::set_error(status, "events: the final write failed");
    cb(status, data);
  }
  if (started_) {
    uv_close(reinterpret_cast<uv_handle_t *>(&timer_), [](uv_handle_t *h) {
      auto *b = static_cast<Batcher *>(h->data);
      b->engine_->remove(b);
      b->release();  // the loop's reference
    });
  } else {
    release();
  }
}

void Batcher::stats(hp_events_stats *out) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = seq_;
  }
  out->appended = appended_.load(std::memory_order_relaxed);
  out->written = progress_.written.load(std::memory_order_relaxed);
  out->dropped = refused_.load(std::memory_order_relaxed) + progress_.dropped.load(std::memory_order_relaxed);
  uint64_t done = progress_.written_seq.load(std::memory_order_acquire);
  out->pending = seq > done ? seq - done : 0;
  out->batches = progress_.batches.load(std::memory_order_relaxed);
  out->errors = progress_.errors.load(std::memory_order_relaxed);
  out->rotations = progress_.rotations.load(std::memory_order_relaxed);
}

}  // namespace hp::events
