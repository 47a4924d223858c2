// The in-process backend: sharded maps. A rate limit is one atomic word per
// key updated with compare-and-swap; a hit on a known key takes no lock and
// allocates nothing (see rate_table.h). Leases live under a per-shard mutex.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "limits/rate_table.h"
#include "limits/types.h"

namespace hp::limits {

class MemoryBackend final : public SyncBackend {
 public:
  MemoryBackend() = default;
  ~MemoryBackend() override;

  int acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
              const Requirements &require, LeaseOutcome *out) override;
  int release(std::string_view subject, std::string_view resource) override;
  int renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) override;
  int holders(std::string_view subject, std::vector<Lease> *out) override;
  int hit(std::string_view key, const Rate &rate, hp_rate_result *out) override;
  int set_add(std::string_view set, std::string_view member) override;
  int set_has(std::string_view set, std::string_view member) override;
  int ping() override { return 0; }

 private:
  static constexpr size_t kShards = 64;

  struct LeaseRec {
    std::string resource;
    uint64_t id;
    uint64_t expires_ns;
  };
  struct Subject {
    explicit Subject(std::string_view n) : name(n) {}
    std::string name;
    std::vector<LeaseRec> leases;  // grant order
  };
  // A subject whose last lease went stays in the map (an acquire right
  // after a release reuses it) until the shard has gathered kIdleMax idle
  // ones, then the idle ones go.
  // A subject's name with its hash, worked out once per call.
  struct Named {
    std::string_view name;
    size_t hash;
    bool operator==(const Named &o) const { return hash == o.hash && name == o.name; }
  };
  struct ByHash {
    size_t operator()(const Named &n) const { return n.hash; }
  };
  static Named named(std::string_view name) { return {name, std::hash<std::string_view>{}(name)}; }
  struct alignas(64) LeaseShard {
    std::mutex mu;
    std::unordered_map<Named, Subject *, ByHash> map;  // views into Subject::name
    size_t idle = 0;
  };
  static constexpr size_t kIdleMax = 256;

  struct alignas(64) SetShard {
    std::shared_mutex mu;
    std::unordered_set<std::string> members;  // set + '\0' + member
  };

  // "set\0member", the key of a membership.
  static std::string member_key(std::string_view set, std::string_view member);
  // NOT_MEMBER into `out` unless every requirement holds; the caller holds
  // the shards' locks.
  bool members_missing(const Requirements &require, LeaseOutcome *out);
  static size_t shard_of(std::string_view key) { return std::hash<std::string_view>{}(key) % kShards; }
  LeaseShard &shard(const Named &n) { return leases_[n.hash % kShards]; }
  static void drop_expired(LeaseShard &shard, Subject &s, uint64_t now);
  static void drop_idle(LeaseShard &shard);

  RateTable rates_;
  std::array<LeaseShard, kShards> leases_;
  std::array<SetShard, kShards> sets_;
  std::atomic<uint64_t> next_id_{1};
};

// Monotonic nanoseconds (CLOCK_MONOTONIC).
uint64_t mono_ns();

}  // namespace hp::limits
