// What a Redis client has been through: shared by its connections, which
// move the figures on the loop thread, and by the handle that owns the
// client, whose stats read them from any thread (the handle keeps its own
// reference, so the figures outlive a client that closed).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "hotpath.h"

namespace hp::redis {

struct Figures {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> connected{0};

  void bump(std::atomic<uint64_t> &n) { n.fetch_add(1, std::memory_order_relaxed); }
  void drop(std::atomic<uint64_t> &n) { n.fetch_sub(1, std::memory_order_relaxed); }
  // Copies every figure into `out` (zeroes for a NULL `f`).
  static void fill(const Figures *f, hp_redis_stats *out);
};

// Counts one request in flight from its first send until its answer is
// delivered (or it is freed without one).
class InFlight {
 public:
  InFlight() = default;
  InFlight(const InFlight &) = delete;
  InFlight &operator=(const InFlight &) = delete;
  ~InFlight() { done(); }
  // The answer is being delivered: no longer in flight.
  void done() {
    if (f_) f_->drop(f_->in_flight);
    f_.reset();
  }
  void count(const std::shared_ptr<Figures> &f) {
    if (f_ || !f) return;
    f_ = f;
    f_->bump(f_->in_flight);
  }

 private:
  std::shared_ptr<Figures> f_;
};

}  // namespace hp::redis
