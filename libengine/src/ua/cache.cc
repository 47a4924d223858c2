#include "ua/cache.h"

#include <farmhash.h>

#include <cstring>
#include <new>

namespace hp::ua {

uint64_t hash_ua(const char *ua, uint32_t len) { return util::Hash64(ua, len); }

Cache::Cache(uint32_t capacity) {
  // Shards: a power of two, up to 64, each with at least one 4-way set.
  uint32_t sets_total = (capacity + kWays - 1) / kWays;
  nshards_ = 1;
  while (nshards_ < 64 && nshards_ * 2 <= sets_total) nshards_ *= 2;
  uint32_t sets = (sets_total + nshards_ - 1) / nshards_;
  capacity_ = nshards_ * sets * kWays;
  shards_.reset(new Shard[nshards_]);
  // All-zero bytes are an empty Entry (an implicit-lifetime aggregate), and
  // calloc of this size maps untouched pages instead of writing them.
  entries_.reset(static_cast<Entry *>(std::calloc(capacity_, sizeof(Entry))));
  if (!entries_) throw std::bad_alloc();
  for (uint32_t i = 0; i < nshards_; i++) {
    shards_[i].entries = entries_.get() + static_cast<size_t>(i) * sets * kWays;
    shards_[i].sets = sets;
  }
}

Cache::~Cache() = default;

bool Cache::get(uint64_t hash, const char *ua, uint32_t len, hp_ua_result *out) {
  if (len > HP_UA_CACHE_KEY_MAX) return false;
  Shard &sh = shard_of(hash);
  Entry *set = sh.entries + ((hash >> 32) % sh.sets) * kWays;
  std::lock_guard<std::mutex> lock(sh.mu);
  for (uint32_t w = 0; w < kWays; w++) {
    Entry &e = set[w];
    if (e.stamp && e.hash == hash && e.len == len && std::memcmp(e.key, ua, len) == 0) {
      e.stamp = ++sh.clock ? sh.clock : ++sh.clock;
      unsigned version = out->version;
      *out = e.result;
      out->version = version;
      sh.hits.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  sh.misses.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Cache::put(uint64_t hash, const char *ua, uint32_t len, const hp_ua_result &r) {
  if (len > HP_UA_CACHE_KEY_MAX) return;
  Shard &sh = shard_of(hash);
  Entry *set = sh.entries + ((hash >> 32) % sh.sets) * kWays;
  std::lock_guard<std::mutex> lock(sh.mu);
  Entry *victim = &set[0];
  for (uint32_t w = 0; w < kWays; w++) {
    Entry &e = set[w];
    if (e.stamp && e.hash == hash && e.len == len && std::memcmp(e.key, ua, len) == 0) return;  // raced
    if (e.stamp < victim->stamp) victim = &e;
  }
  victim->hash = hash;
  victim->len = static_cast<uint16_t>(len);
  std::memcpy(victim->key, ua, len);
  victim->result = r;
  victim->stamp = ++sh.clock ? sh.clock : ++sh.clock;
}

uint64_t Cache::hits() const {
  uint64_t n = 0;
  for (uint32_t i = 0; i < nshards_; i++) n += shards_[i].hits.load(std::memory_order_relaxed);
  return n;
}

uint64_t Cache::misses() const {
  uint64_t n = 0;
  for (uint32_t i = 0; i < nshards_; i++) n += shards_[i].misses.load(std::memory_order_relaxed);
  return n;
}

}  // namespace hp::ua
