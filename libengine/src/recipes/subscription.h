// Point updates from a Redis pub/sub channel: every message goes through
// Set::update, the same path as hp_recipes_update, on the thread pool (one
// batch at a time, in arrival order), so parsing a message never stalls the
// loop; the callback still runs on the loop, once per message.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/engine.h"
#include "recipes/set.h"
#include "redis/client.h"

namespace hp::recipes {

class Subscription {
 public:
  Subscription(Set *set, redis::Options options, std::string channel, uint64_t max_message,
               hp_recipes_message_cb cb, void *data);

  hp_recipes_subscription *as_c() { return reinterpret_cast<hp_recipes_subscription *>(this); }
  static Subscription *from_c(hp_recipes_subscription *s) { return reinterpret_cast<Subscription *>(s); }

  // Loop thread. The set owns the object; it stays (inert) after stop() so
  // its counters can still be read.
  void start();
  void stop();
  // Reports HP_ECLOSED for a subscription that never started.
  void abandon();
  // stop() from any thread; never fails (the step is allocated with the
  // subscription).
  void post_stop();
  void stats(hp_recipes_subscription_stats *out) const;

 private:
  void on_message(const std::string &msg);
  // Applies what is queued on the pool; loop thread.
  void apply_queued();
  void finish();

  Set *set_;
  redis::Options options_;
  std::string channel_;
  uint64_t max_message_;  // longer messages are refused unparsed
  hp_recipes_message_cb cb_;
  void *data_;
  redis::Client *client_ = nullptr;
  bool stopping_ = false;
  // Loop thread only: messages waiting for the pool, whether a batch is
  // there now, and whether finish() waits for it.
  std::vector<std::string> queued_;
  bool applying_ = false;
  bool finish_after_batch_ = false;
  std::atomic<uint64_t> messages_{0}, applied_{0}, stale_{0}, errors_{0}, resyncs_{0};
  core::PreparedStep stop_step_;
};

}  // namespace hp::recipes
