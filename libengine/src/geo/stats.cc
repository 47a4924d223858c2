// The counters of a geo handle: lookups and cache use counted per thread,
// reloads and the latest reload's outcome.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

#include "core/error.h"
#include "geo/handle.h"

namespace hp::geo {

void Handle::note_reload(int status) {
  (status == 0 ? reloads_ : reload_failures_).fetch_add(1, std::memory_order_relaxed);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::lock_guard<std::mutex> lock(stats_mu_);
  last_reload_at_ms_ = now;
  last_reload_error_ = status;
  try {
    last_reload_message_ = status == 0 ? "" : core::last_error_text();
  } catch (const std::bad_alloc &) {
    last_reload_message_.clear();  // the code alone still says what failed
  }
}

void Handle::stats(hp_geo_stats *out) {
  out->lookups = counters_.sum(kLookups);
  out->cache_hits = counters_.sum(kCacheHits);
  out->cache_misses = counters_.sum(kCacheMisses);
  out->reloads = reloads_.load(std::memory_order_relaxed);
  out->reload_failures = reload_failures_.load(std::memory_order_relaxed);
  out->generation = generation();
  std::lock_guard<std::mutex> lock(stats_mu_);
  out->last_reload_at_ms = last_reload_at_ms_;
  out->last_reload_error = last_reload_error_;
  size_t n = std::min(last_reload_message_.size(), sizeof out->last_reload_message - 1);
  std::memcpy(out->last_reload_message, last_reload_message_.data(), n);
  out->last_reload_message[n] = '\0';
}

}  // namespace hp::geo
