// A limiter's counters: checks and their outcomes, bumped per thread (a
// memory check must not write a shared cache line), and the Redis
// client's figures. Shared with pending asynchronous calls, which may
// complete after the limiter is gone.
#pragma once

#include <memory>

#include "core/thread_counters.h"
#include "hotpath.h"
#include "redis/figures.h"

namespace hp::limits {

class Counts {
 public:
  // An acquire or hit answered `status` (< 0: failed), granted or not.
  void check(int status, bool granted) {
    if (status == HP_EINVAL || status == HP_ECLOSED) return;  // never reached the backend
    n_.add(kChecks);
    if (status < 0)
      call(status);
    else
      n_.add(granted ? kGranted : kDenied);
  }
  // Any call's failure that the backend caused.
  void call(int status) {
    if (status < 0 && status != HP_EINVAL && status != HP_ECLOSED) n_.add(kStoreErrors);
  }
  void fill(hp_limiter_stats *out) const {
    out->checks = n_.sum(kChecks);
    out->granted = n_.sum(kGranted);
    out->denied = n_.sum(kDenied);
    out->store_errors = n_.sum(kStoreErrors);
    redis::Figures::fill(redis.get(), &out->redis);
  }

  std::shared_ptr<redis::Figures> redis;  // Redis limiters only

 private:
  enum { kChecks, kGranted, kDenied, kStoreErrors, kCount };
  core::ThreadCounters<kCount> n_;
};

}  // namespace hp::limits
