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
#include <string>

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
  // Set by the batcher: tells the loop that written_seq moved (any thread).
  std::function<void()> notify;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Starts the sink's machinery; 0 or a negative code with the message set.
  virtual int start(Progress *progress) = 0;
  // Takes a batch. Never blocks on I/O. Any thread, in batch order.
  virtual void submit(Batch batch) = 0;
  // Write everything submitted, then release the resources. `final_status`
  // receives 0, or the code of a failed final write (its events counted as
  // dropped). Blocks until done: the batcher calls it from a thread that
  // may wait (the sink's own, or the loop thread while the engine closes).
  virtual int drain_and_close() = 0;
};

}  // namespace hp::events
