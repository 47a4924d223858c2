// The memory backend's GCRA keys: a sharded hash table whose lookups take
// no lock. A hit on a known key is one compare-and-swap on the key's TAT
// word; it allocates nothing and never waits for another thread.
//
// Readers enter the shard's read section (core/rcu.h, one counter pair per
// shard). Writers (insert, sweep, growth) hold the shard's mutex; a node or
// bucket array they unlink is freed only after a grace period, so no reader
// can still hold it. A swept node is first marked dead
// with a compare-and-swap on its TAT, so a hit racing the sweep either
// lands before it (and the node stays) or sees the mark and retries under
// the mutex: no hit is ever lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/rcu.h"

#include "limits/types.h"

namespace hp::limits {

class RateTable {
 public:
  RateTable();
  ~RateTable();
  RateTable(const RateTable &) = delete;
  RateTable &operator=(const RateTable &) = delete;

  // One GCRA hit on `key` at `now` (monotonic ns). Thread-safe.
  void hit(std::string_view key, uint64_t now, const Rate &rate, hp_rate_result *out);

 private:
  static constexpr unsigned kShardBits = 6;
  static constexpr size_t kShards = size_t{1} << kShardBits;
  static constexpr size_t kFirstBuckets = 16;
  static constexpr uint32_t kSweepMin = 1024;
  static constexpr uint64_t kDead = ~uint64_t{0};

  struct Node {
    std::atomic<uint64_t> tat{0};
    std::atomic<Node *> next{nullptr};
    uint64_t hash;
    uint32_t len;
    std::string_view key() const { return {reinterpret_cast<const char *>(this + 1), len}; }
  };
  struct Table {
    explicit Table(size_t n) : mask(n - 1), heads(new std::atomic<Node *>[n]) {}
    size_t mask;
    std::unique_ptr<std::atomic<Node *>[]> heads;
    std::atomic<Node *> &head(uint64_t hash) { return heads[(hash >> kShardBits) & mask]; }
  };
  struct alignas(64) Shard {
    // What a hit touches.
    core::BasicRcu<1> rcu;
    std::atomic<Table *> table{nullptr};
    // Writers only.
    alignas(64) std::mutex mu;
    size_t size = 0;
    size_t since_sweep = 0;
  };

  static Node *make_node(uint64_t hash, std::string_view key);
  static void free_node(Node *n);
  // false: the node is being swept; look again under the mutex.
  static bool update(Node &n, uint64_t now, const Rate &rate, hp_rate_result *out);
  static bool try_hit(Shard &s, uint64_t hash, std::string_view key, uint64_t now, const Rate &rate,
                      hp_rate_result *out);
  static void sweep(Shard &s, uint64_t now);
  static void grow(Shard &s);

  Shard shards_[kShards];
};

}  // namespace hp::limits
