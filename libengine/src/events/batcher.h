// The batcher behind hp_events: appends go into one growing buffer under a
// short lock; a full batch (batch_events) or the loop's timer (every
// batch_ms) hands the buffer to the sink. Flush and close callbacks run on
// the loop thread.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "events/sink.h"

namespace hp::events {

class Batcher final : public core::Closable {
 public:
  static int open(Batcher **out, core::Engine *e, std::unique_ptr<Sink> sink, const hp_events_options &o);

  int push(const char *msg, size_t len);
  int flush(hp_events_cb cb, void *data);
  int close(hp_events_cb cb, void *data);
  void stats(hp_events_stats *out);
  void close_now() override;

 private:
  Batcher(core::Engine *e, std::unique_ptr<Sink> sink, const hp_events_options &o);
  ~Batcher() override = default;

  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Hands the buffer to the sink; the caller holds mu_.
  void handoff_locked();
  void handoff();
  // Loop thread.
  void start(bool closing);
  void notify_loop();
  void check_flushes(bool closing);
  void finish(int status);

  core::EngineRef engine_;
  std::unique_ptr<Sink> sink_;
  hp_events_options opts_;
  Progress progress_;

  std::mutex mu_;  // buf_, count_, seq_
  std::string buf_;
  uint64_t count_ = 0;
  uint64_t seq_ = 0;  // events accepted so far
  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<bool> closed_{false};  // close requested (by the user or the engine)
  std::atomic<int> refs_{2};         // the user's and the loop's

  // Loop thread only.
  struct Waiter {
    uint64_t seq;
    hp_events_cb cb;
    void *data;
  };
  std::vector<Waiter> flushes_;
  uv_timer_t timer_{};
  bool started_ = false;
  bool finished_ = false;
  std::unique_ptr<core::Engine::Task> close_task_;  // allocated ahead: see close()
  hp_events_cb close_cb_ = nullptr;
  void *close_data_ = nullptr;
};

}  // namespace hp::events
