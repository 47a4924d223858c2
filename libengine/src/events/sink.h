// Where batches of consumer messages go. The batcher hands a sink complete
// batches in order; the sink writes them (retrying while it fails) and
// reports progress through Progress, from any thread.
//
// A Redis-list sink (RPUSH of each batch, pipelined, on the shared Redis
// client) fits the same interface: submit() queues on the loop, progress
// comes from the reply callbacks, close() waits for the last replies.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/engine.h"

namespace hp::events {

// Lines, each ending with '\n'; events seq_first .. seq_first+count-1.
struct Batch {
  std::string data;
  uint64_t count = 0;
  uint64_t seq_end = 0;  // sequence number after the batch's last event
};

// Counters shared by the batcher and its sink.
struct Progress {
  std::atomic<uint64_t> written_seq{0};  // every event before it is written or dropped
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> dropped{0};
  std::atomic<uint64_t> queued{0};  // events held by the sink, not yet written
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> rotations{0};
  std::atomic<int> last_status{0};  // 0, or the code of the latest failed write
  // Records a failed write: the first failure after a success is reported
  // to the engine's host as an HP_EVENT_ERROR with this thread's message
  // (later retries of the same outage are only counted). Any thread.
  void failed(int code) {
    errors.fetch_add(1, std::memory_order_relaxed);
    if (last_status.exchange(code, std::memory_order_relaxed) == 0 && report) report(code);
  }
  // Set by the batcher: hands a failure to the engine's events.
  std::function<void(int code)> report;
  // Set by the batcher: tells the loop that written_seq moved (any thread).
  std::function<void()> notify;
  // Set by the batcher: runs fn(closing) on the loop thread, keeping the
  // batcher alive until it ran (any thread).
  std::function<void(std::function<void(bool closing)>)> on_loop;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Starts the sink's machinery; 0 or a negative code with the message set.
  // Any thread (the caller of hp_events_open_*).
  virtual int start(Progress *progress) = 0;
  // The batcher started on the loop thread.
  virtual void attach(core::Engine *) {}
  // Every batch_ms on the loop thread (retries, housekeeping).
  virtual void tick() {}
  // Takes a batch. Never blocks on I/O. Any thread, in batch order. When
  // it throws (out of memory), `batch` is as it was.
  virtual void submit(Batch &&batch) = 0;
  // Write everything submitted, then release the resources; `done(status)`
  // on the loop thread: 0, the code of a failed final write (its events
  // counted as dropped), or HP_ECLOSED when the engine closed first (the
  // batcher then calls drain_and_close). Loop thread. The default runs
  // drain_and_close() on the thread pool.
  virtual void close(core::Engine *engine, std::function<void(int status)> done) {
    auto status = std::make_shared<int>(0);
    engine->queue_work([this, status] { *status = drain_and_close(); },
                       [status, done](int rc) { done(rc < 0 ? HP_ECLOSED : *status); });
  }
  // Synchronous: write what it can, count the rest as dropped, release the
  // resources. Called on the loop thread while the engine closes (a sink
  // that needs the loop drops what is unwritten), or from close().
  virtual int drain_and_close() = 0;
};

}  // namespace hp::events
