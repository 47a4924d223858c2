// The Redis backend: one EVALSHA per check through the shared client, keys
// hash-tagged per subject ("<prefix>:{<subject>}:leases") so every key of
// one check lives in one Redis Cluster slot. Loop thread only.
#pragma once

#include <functional>
#include <string>

#include "limits/types.h"
#include "redis/client.h"

namespace hp::limits {

using Done = std::function<void(Outcome &&)>;

class RedisBackend {
 public:
  RedisBackend(core::Engine *engine, const redis::Options &options, std::string prefix)
      : engine_(engine), options_(options), prefix_(std::move(prefix)) {}

  void start();  // opens the client
  void close();  // closes it; pending calls finish with HP_ECLOSED
  bool started() const { return client_ != nullptr; }

  void acquire(const std::string &subject, const std::string &resource, uint32_t limit, uint64_t ttl_ms, Done done);
  void release(const std::string &subject, const std::string &resource, Done done);
  void renew(const std::string &subject, const std::string &resource, uint64_t ttl_ms, Done done);
  void holders(const std::string &subject, Done done);
  void hit(const std::string &key, const Rate &rate, Done done);
  void set_add(const std::string &set, const std::string &member, Done done);
  void set_has(const std::string &set, const std::string &member, Done done);
  void ping(Done done);

 private:
  std::vector<std::string> lease_keys(const std::string &subject) const;
  // Turns a transport failure or an error reply into a failed Outcome.
  static bool failed(int status, const redis::Reply &r, Outcome *o);

  core::Engine *engine_;
  redis::Options options_;
  std::string prefix_;
  redis::Client *client_ = nullptr;
};

}  // namespace hp::limits
