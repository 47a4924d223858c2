// A limiter: the backend a spec names, and the glue that runs any backend's
// calls asynchronously with callbacks on the engine's loop.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/engine.h"
#include "limits/counts.h"
#include "limits/local_budget.h"
#include "limits/redis_store.h"
#include "limits/types.h"

namespace hp::limits {

class Limiter : public std::enable_shared_from_this<Limiter> {
 public:
  using SyncOp = std::function<int(SyncBackend &, Outcome &)>;
  using RedisOp = std::function<void(RedisBackend &, Done)>;

  static int open(std::shared_ptr<Limiter> *out, core::Engine *engine, const std::string &spec,
                  const hp_limiter_options &options);
  ~Limiter();

  int kind() const { return kind_; }
  core::Engine *engine() const { return engine_.get(); }
  const std::shared_ptr<Counts> &counts() const { return counts_; }
  // The synchronous backend, or nullptr for Redis.
  SyncBackend *sync() const { return sync_.get(); }

  // Runs one call: `sync_op` for memory and SQLite (on the calling thread,
  // or the thread pool unless sqlite_inline), `redis_op` for Redis on the
  // loop. `done` runs once on the loop thread unless this returns < 0.
  int async(SyncOp sync_op, RedisOp redis_op, Done done);

  // A synchronous call on Redis: posts `redis_op` to the loop and blocks
  // this thread until its outcome lands in `out`, or twice the timeout has
  // passed (HP_EUNAVAILABLE; a late answer is dropped). On the loop thread
  // it refuses with HP_EINVAL: the answer could never come. Returns
  // out->status, with the thread's error text set when < 0.
  int wait(RedisOp redis_op, Outcome *out);

  // The Redis backend when a call may go to it at once: on the loop
  // thread, with the client started and the engine open. Otherwise nullptr
  // (use async()). `done` given to it must set the error text of a failed
  // outcome (see deliver()).
  RedisBackend *redis_now() const;
  // Sets the thread's error text of a failed outcome, then hands it on.
  static void deliver(const Done &done, Outcome &&o);
  // Hands on a failed outcome without allocating (out of memory may be
  // why it failed).
  static void fail(const Done &done, int status, const char *why);

  // Local budgets: whether hits go through them.
  bool local_budget() const { return redis_ && redis_->budget(); }
  // Decides a hit here and now if the backend can: memory and SQLite
  // always, Redis from a local budget's hits in hand. 1 decided, 0 it
  // needs hit_wait(), < 0 an error. Thread: any.
  int hit_local(std::string_view key, const Rate &rate, hp_rate_result *out);
  // A local-budget hit that hit_local() could not decide, on the loop.
  int hit_wait(std::string key, const Rate &rate, Done done);

  // Stops the Redis client (pending calls get HP_ECLOSED). Never fails:
  // from another thread it queues a step allocated with the client.
  // Thread: any.
  void close();

 private:
  Limiter(core::Engine *engine) : engine_(engine) {}
  // Starts a local budget's lease for `e` on the loop.
  void renew(LocalBudget::EntryRef e);

  core::EngineRef engine_;
  int kind_ = 0;
  uint32_t timeout_ms_ = 0;
  bool on_pool_ = false;
  std::unique_ptr<SyncBackend> sync_;
  std::unique_ptr<RedisBackend> redis_;
  std::unique_ptr<core::PreparedStep> close_step_;  // with redis_
  std::shared_ptr<Limiter> closing_self_;           // held until that step ran
  std::atomic<bool> close_asked_{false};
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

}  // namespace hp::limits
