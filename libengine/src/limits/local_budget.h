// Local budgets for Redis rate limits: a key's limit counts hits per fixed
// window of the server's clock, and each process leases a block of the
// window's hits with one script call, then decides hits from that block
// itself. Redis never leases past the limit, so whatever the processes do
// with their blocks, the hits granted in a window stay within it.
//
// A hit from any thread: its key's shard under a shared lock, then one
// compare-and-swap on the key's word (window generation, exhausted flag,
// hits in hand). Only the loop thread changes a key otherwise: it installs
// leases, gives back what a block did not use once it is held longer than
// `hold` (or on close), and settles hits that waited for a lease.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "limits/counts.h"
#include "limits/types.h"
#include "redis/client.h"

namespace hp::limits {

using Done = std::function<void(Outcome &&)>;

class LocalBudget : public std::enable_shared_from_this<LocalBudget> {
 public:
  struct Entry;
  using EntryRef = std::shared_ptr<Entry>;

  LocalBudget(core::Engine *engine, std::string prefix, uint32_t block, uint32_t hold_ms,
              std::shared_ptr<Counts> counts);
  ~LocalBudget();

  // Decides a hit from the hits in hand. 1: decided (`out` filled), 0: it
  // needs Redis (no lease for the current window, or the block ran out);
  // HP_EINVAL for a spec the key was not leased with. `renew` is set to
  // the key when its block runs low and nobody asked for more yet: the
  // caller starts lease() on the loop thread. Thread: any.
  int decide(std::string_view key, const Rate &rate, hp_rate_result *out, EntryRef *renew);

  // Forgets the renewal decide() asked for (it cannot be started).
  static void cancel(Entry &e);

  // Loop thread only, from here on.
  void start(redis::Client *client);
  // A hit that decide() could not settle: it waits for a lease (started
  // here unless one is in flight), or is settled on the next loop turn.
  void wait(std::string_view key, const Rate &rate, Done done);
  // Asks Redis for a block of `e`'s window (the caller set e->asking).
  void lease(const EntryRef &e);
  // Gives every unused hit back, fails waiting hits with HP_ECLOSED and
  // closes `client_` once the last reply came.
  void close();

 private:
  struct Ticker;
  struct Reply;
  static constexpr size_t kShards = 64;
  // Finds keys by std::string_view, so a hit allocates nothing.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct alignas(64) Shard {
    std::shared_mutex mu;
    std::unordered_map<std::string, EntryRef, NameHash, std::equal_to<>> map;
  };

  Shard &shard(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }
  EntryRef find_or_add(std::string_view key, const Rate &rate);
  int decide_entry(Entry &e, const Rate &rate, uint64_t now, hp_rate_result *out, bool *low);
  static void on_lease(void *ctx, int status, const redisReply *r);
  void install(const EntryRef &e, const redisReply *r, uint64_t sent_at);
  void settle_waiters(const EntryRef &e, const Outcome *failure);
  // Takes the hits in hand of `e`; returns them to Redis while the window
  // still runs.
  void give_back(Entry &e, uint64_t now);
  static void on_returned(void *ctx, int status, const redisReply *r);
  void finished_one();
  void tick();

  core::Engine *engine_;
  std::string prefix_;
  uint32_t block_;
  uint64_t hold_ns_;
  std::shared_ptr<Counts> counts_;
  std::array<Shard, kShards> shards_;
  // Loop thread only.
  redis::Client *client_ = nullptr;
  Ticker *ticker_ = nullptr;
  std::vector<EntryRef> entries_;  // every key in the shards, for the ticks
  size_t in_flight_ = 0;           // leases and returns not yet answered
  bool closing_ = false;
};

}  // namespace hp::limits
