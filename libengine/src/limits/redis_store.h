// The Redis backend: one EVALSHA per check through the shared client, keys
// hash-tagged per subject ("<prefix>:{<subject>}:leases") so every key of
// one check lives in one Redis Cluster slot. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "limits/types.h"
#include "redis/client.h"

namespace hp::limits {

using Done = std::function<void(Outcome &&)>;

class LocalBudget;

class RedisBackend {
 public:
  // `budget`: set for a limiter with local budgets (hits then go through
  // it); the backend starts and closes it with the client.
  RedisBackend(core::Engine *engine, const redis::Options &options, std::string prefix,
               std::shared_ptr<LocalBudget> budget = nullptr);
  ~RedisBackend();

  void start();  // opens the client
  void close();  // closes it; pending calls finish with HP_ECLOSED
  bool started() const { return client_ != nullptr; }  // loop thread only, like start()

  // Each call is one EVALSHA (set_* and ping: one command), except hits:
  // the hits of one loop turn share one EVALSHA (up to kBatchMax; one each
  // on Redis Cluster, which refuses keys of several slots in one script).
  // A call that fails with HP_EUNAVAILABLE after it was sent has an unknown
  // outcome: the script may still have run. Acquire is idempotent for a
  // subject and resource, so the caller retries the same acquire (it
  // answers ALREADY_HELD with the first grant's lease id if that landed).
  // `done` runs once on the loop. The arguments are read during the call
  // only.
  // With requirements: one script that reads the memberships first, or,
  // on a cluster where the set keys hash to other slots than the
  // subject's, SISMEMBERs first and then the acquire script (members are
  // never removed, so the outcome is the same).
  void acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
               const Requirements &require, Done done);
  void release(std::string_view subject, std::string_view resource, Done done);
  void renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms, Done done);
  void holders(std::string_view subject, Done done);
  void hit(std::string_view key, const Rate &rate, Done done);
  void set_add(std::string_view set, std::string_view member, Done done);
  void set_has(std::string_view set, std::string_view member, Done done);
  void ping(Done done);
  // The local budget, or nullptr. Its decide() may be called from any
  // thread; the rest from the loop thread.
  LocalBudget *budget() const { return budget_.get(); }

  // Turns a transport failure or an error reply into a failed Outcome.
  static bool failed(int status, const redisReply *r, Outcome *o);
  static bool failed(int status, const redis::Reply &r, Outcome *o);

 private:
  struct PendingHit {
    std::string key;
    Rate rate;
    Done done;
  };
  struct HitBatch;
  static constexpr size_t kBatchMax = 128;

  std::string_view key(std::string_view name, std::string_view suffix, std::string &buf) const;
  template <void (*Parse)(const redisReply *, Outcome *)>
  void run(const redis::Script &script, const std::string_view *argv, size_t argc, size_t nkeys, Done done);
  struct Checks;
  // The memberships of `require` asked one by one, then the acquire.
  void acquire_after_checks(std::string_view subject, std::string_view resource, uint32_t limit,
                            uint64_t ttl_ms, const Requirements &require, Done done);
  // SADD or SISMEMBER: status 1 or 0.
  void set_command(const char *command, std::string_view set, std::string_view member, Done done);
  void send_hits();
  static void on_hits(void *ctx, int status, const redisReply *r);

  core::Engine *engine_;
  redis::Options options_;
  std::string prefix_;
  redis::Client *client_ = nullptr;
  std::vector<PendingHit> hits_;  // gathered this loop turn
  size_t batch_max_;  // 1 on a cluster: the keys of a batch span slots
  std::shared_ptr<LocalBudget> budget_;
};

}  // namespace hp::limits
