// A bounded cache of parse results keyed by the full UA string. Split into
// shards by hash, each with its own lock and a small set-associative table
// (4 ways, least recently used way replaced), allocated once up front as
// zeroed pages, so a cache costs resident memory only as it fills.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>

#include "hotpath/ua.h"

namespace hp::ua {

class Cache {
 public:
  // capacity >= 1.
  explicit Cache(uint32_t capacity);
  ~Cache();
  Cache(const Cache &) = delete;
  Cache &operator=(const Cache &) = delete;

  // Copies the cached result for the string into *out; false on a miss or
  // for strings longer than HP_UA_CACHE_KEY_MAX.
  bool get(uint64_t hash, const char *ua, uint32_t len, hp_ua_result *out);
  void put(uint64_t hash, const char *ua, uint32_t len, const hp_ua_result &r);

  uint64_t hits() const;
  uint64_t misses() const;
  uint32_t capacity() const { return capacity_; }

 private:
  static constexpr uint32_t kWays = 4;
  struct Entry {
    uint64_t hash = 0;
    uint32_t stamp = 0;  // 0: empty
    uint16_t len = 0;
    char key[HP_UA_CACHE_KEY_MAX];
    hp_ua_result result;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    Entry *entries = nullptr;  // sets * kWays
    uint32_t sets = 0;
    uint32_t clock = 0;
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
  };

  Shard &shard_of(uint64_t hash) { return shards_[hash & (nshards_ - 1)]; }

  uint32_t capacity_;
  uint32_t nshards_;
  std::unique_ptr<Shard[]> shards_;
  struct Free {
    void operator()(Entry *p) const { std::free(p); }
  };
  std::unique_ptr<Entry, Free> entries_;
};

// The hash the cache is keyed by.
uint64_t hash_ua(const char *ua, uint32_t len);

}  // namespace hp::ua
