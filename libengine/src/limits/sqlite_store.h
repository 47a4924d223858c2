// The SQLite backend: every process of one host shares one WAL file. Each
// check is one short BEGIN IMMEDIATE transaction, so a read-then-write is
// atomic across threads and processes; a lock held past the timeout answers
// HP_EUNAVAILABLE. Times are wall-clock (shared by the host's processes).
#pragma once

#include <memory>
#include <mutex>

#include "limits/types.h"
#include "sqlite/db.h"

namespace hp::limits {

class SqliteBackend final : public SyncBackend {
 public:
  static int open(const std::string &path, const std::string &ns, uint32_t timeout_ms,
                  std::unique_ptr<SqliteBackend> *out);

  int acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
              const Requirements &require, LeaseOutcome *out) override;
  int release(std::string_view subject, std::string_view resource) override;
  int renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) override;
  int holders(std::string_view subject, std::vector<Lease> *out) override;
  int hit(std::string_view key, const Rate &rate, hp_rate_result *out) override;
  int set_add(std::string_view set, std::string_view member) override;
  int set_has(std::string_view set, std::string_view member) override;
  int ping() override;

 private:
  SqliteBackend() = default;
  int purge(std::string_view subject, int64_t now_ms);
  // 1 member, 0 not; mu_ held.
  int has(std::string_view set, std::string_view member);
  // 1 (NOT_MEMBER in out) when a requirement is missing, 0 none; mu_ held.
  int missing(const Requirements &require, LeaseOutcome *out);
  int list(std::string_view subject, int64_t now_ms, std::vector<Lease> *out);

  std::mutex mu_;  // one connection, one thread at a time
  std::unique_ptr<sqlite::Db> db_;
  std::string ns_;
};

}  // namespace hp::limits
