// The Redis-list sink: each batch is one RPUSH of its messages to a list,
// sent on the shared Redis client (hiredis on the engine loop), several
// batches pipelined. A failed batch is retried on the next tick; during an
// outage batches wait here, bounded by the batcher's max_pending.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "events/sink.h"
#include "redis/client.h"

namespace hp::events {

class RedisSink final : public Sink {
 public:
  RedisSink(redis::Options options, std::string key, uint32_t max_inflight);
  ~RedisSink() override;

  int start(Progress *progress) override;
  void attach(core::Engine *engine) override;
  void tick() override;
  void submit(Batch &&batch) override;
  void close(core::Engine *engine, std::function<void(int status)> done) override;
  int drain_and_close() override;

 private:
  // Loop-side state, shared with reply callbacks that may outlive the sink
  // (the client fails its pending commands after the sink is gone).
  struct Core {
    struct Entry {
      Batch batch;
      bool inflight = false;
      bool done = false;
    };
    Progress *progress = nullptr;  // null once the sink is gone
    redis::Client *client = nullptr;
    std::string key;
    uint32_t max_inflight = 16;
    uint32_t inflight = 0;
    std::deque<Entry> entries;  // submitted, not yet completed, in order
    bool closing = false;
    int close_status = 0;
    std::function<void(int)> close_done;

    void pump(const std::shared_ptr<Core> &self);
    void complete(Entry &e, bool written);
    void advance();
    void maybe_closed();
  };

  redis::Options options_;
  std::shared_ptr<Core> core_;
  Progress *progress_ = nullptr;
};

}  // namespace hp::events
