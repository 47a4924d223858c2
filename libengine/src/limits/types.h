// The limiter's internal vocabulary: requests, outcomes, and the interface
// every backend implements.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hotpath.h"

namespace hp::limits {

struct Lease {
  std::string resource;
  uint64_t id = 0;
  uint64_t expires_in_ms = 0;
};

// A membership an acquire requires (hp_lease_require), copied.
struct Requirement {
  std::string set;
  std::string member;
};
using Requirements = std::vector<Requirement>;

struct LeaseOutcome {
  int status = HP_LEASE_GRANTED;
  uint32_t count = 0;
  uint64_t id = 0;
  uint32_t missing = 0;        // NOT_MEMBER: the first requirement missing
  std::vector<Lease> holders;  // filled only when denied
};

// A validated rate limit in nanoseconds: emission interval and tolerance.
struct Rate {
  uint64_t interval_ns = 0;  // period / rate
  uint64_t tolerance_ns = 0; // interval * burst
  uint32_t cost = 1;
  uint32_t burst = 1;
  uint32_t rate = 1;       // hits per period, as given
  uint64_t period_ms = 0;  // as given
};

// Everything one call can produce, carried to a callback on the loop.
struct Outcome {
  int status = 0;  // >= 0 result code, < 0 HP_E*
  std::string error;
  LeaseOutcome lease;
  std::vector<Lease> holders;
  hp_rate_result rate = HP_RATE_RESULT_INIT;
};

// Synchronous backends (memory, SQLite). Every method is thread-safe and
// returns a result code or a negative HP_E* code with the message set.
class SyncBackend {
 public:
  virtual ~SyncBackend() = default;
  // With requirements, NOT_MEMBER unless each member is in its set, in
  // the same atomic step as the acquire.
  virtual int acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
                      const Requirements &require, LeaseOutcome *out) = 0;
  virtual int release(std::string_view subject, std::string_view resource) = 0;
  virtual int renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) = 0;
  virtual int holders(std::string_view subject, std::vector<Lease> *out) = 0;
  virtual int hit(std::string_view key, const Rate &rate, hp_rate_result *out) = 0;
  virtual int set_add(std::string_view set, std::string_view member) = 0;
  virtual int set_has(std::string_view set, std::string_view member) = 0;
  virtual int ping() = 0;
};

}  // namespace hp::limits
