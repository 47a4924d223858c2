#include "limits/sqlite_store.h"

#include <time.h>

#include "core/error.h"
#include "limits/gcra.h"

namespace hp::limits {

namespace {

int64_t wall_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000ll + ts.tv_nsec;
}

const char *kSchema =
    "CREATE TABLE IF NOT EXISTS hp_leases(ns TEXT NOT NULL, subject TEXT NOT NULL, resource TEXT NOT NULL,"
    " id INTEGER NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY(ns, subject, resource)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hp_rates(ns TEXT NOT NULL, key TEXT NOT NULL, tat INTEGER NOT NULL,"
    " PRIMARY KEY(ns, key)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hp_sets(ns TEXT NOT NULL, name TEXT NOT NULL, member TEXT NOT NULL,"
    " PRIMARY KEY(ns, name, member)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hp_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO hp_meta(name, value) VALUES('lease_seq', 0);";

}  // namespace

int SqliteBackend::open(const std::string &path, const std::string &ns, uint32_t timeout_ms,
                        std::unique_ptr<SqliteBackend> *out) {
  std::unique_ptr<SqliteBackend> b(new SqliteBackend());
  sqlite::OpenOptions o;
  o.busy_timeout_ms = timeout_ms;
  int rc = sqlite::Db::open(path, o, &b->db_);
  if (rc != 0) return rc;
  // Several processes may create the schema at once: one of them wins the
  // write lock, the others find the tables there.
  {
    sqlite::Txn txn(*b->db_);
    if ((rc = txn.begin()) != 0) return rc;
    if ((rc = b->db_->setup(kSchema)) != 0) return rc;
    if ((rc = txn.commit()) != 0) return rc;
  }
  b->ns_ = ns;
  *out = std::move(b);
  return 0;
}

int SqliteBackend::purge(std::string_view subject, int64_t now_ms) {
  sqlite::Stmt *st = db_->prepare("DELETE FROM hp_leases WHERE ns=?1 AND subject=?2 AND expires_ms<=?3");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, static_cast<int64_t>(now_ms));
  int rc = st->step();
  st->reset();
  return rc < 0 ? rc : 0;
}

int SqliteBackend::list(std::string_view subject, int64_t now_ms, std::vector<Lease> *out) {
  out->clear();
  sqlite::Stmt *st = db_->prepare(
      "SELECT resource, id, expires_ms FROM hp_leases WHERE ns=?1 AND subject=?2 AND expires_ms>?3 ORDER BY id");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, static_cast<int64_t>(now_ms));
  int rc;
  while ((rc = st->step()) == SQLITE_ROW)
    out->push_back(Lease{std::string(st->text(0)), static_cast<uint64_t>(st->int64(1)),
                         static_cast<uint64_t>(st->int64(2) - now_ms)});
  st->reset();
  return rc < 0 ? rc : static_cast<int>(out->size());
}

int SqliteBackend::missing(const Requirements &require, LeaseOutcome *out) {
  for (size_t i = 0; i < require.size(); i++) {
    int rc = has(require[i].set, require[i].member);
    if (rc < 0) return rc;
    if (rc == 1) continue;
    out->status = HP_LEASE_NOT_MEMBER;
    out->count = 0;
    out->id = 0;
    out->missing = static_cast<uint32_t>(i);
    out->holders.clear();
    return 1;
  }
  return 0;
}

int SqliteBackend::acquire(std::string_view subject, std::string_view resource, uint32_t limit,
                           uint64_t ttl_ms, const Requirements &require, LeaseOutcome *out) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = wall_ns() / 1000000;
  int64_t expires = now + static_cast<int64_t>(ttl_ms);
  sqlite::Txn txn(*db_);
  int rc = txn.begin();
  if (rc != 0) return rc;
  // The memberships are read in the acquire's write transaction.
  if ((rc = missing(require, out)) != 0) return rc < 0 ? rc : txn.commit();
  if ((rc = purge(subject, now)) != 0) return rc;

  sqlite::Stmt *held = db_->prepare("UPDATE hp_leases SET expires_ms=?4 WHERE ns=?1 AND subject=?2 AND resource=?3"
                                    " RETURNING id");
  if (!held) return db_->prepare_error();
  held->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, resource).bind(4, static_cast<int64_t>(expires));
  rc = held->step();
  int64_t held_id = rc == SQLITE_ROW ? held->int64(0) : 0;
  if (rc == SQLITE_ROW) rc = held->step();
  held->reset();
  if (rc < 0) return rc;

  sqlite::Stmt *count = db_->prepare("SELECT count(*) FROM hp_leases WHERE ns=?1 AND subject=?2");
  if (!count) return db_->prepare_error();
  count->bind(1, std::string_view(ns_)).bind(2, subject);
  rc = count->step();
  int64_t n = rc == SQLITE_ROW ? count->int64(0) : 0;
  count->reset();
  if (rc < 0) return rc;

  out->holders.clear();
  if (held_id) {
    out->status = HP_LEASE_ALREADY_HELD;
    out->count = static_cast<uint32_t>(n);
    out->id = static_cast<uint64_t>(held_id);
  } else if (n >= limit) {
    out->status = HP_LEASE_DENIED;
    out->count = static_cast<uint32_t>(n);
    out->id = 0;
    if ((rc = list(subject, now, &out->holders)) < 0) return rc;
  } else {
    sqlite::Stmt *seq = db_->prepare("UPDATE hp_meta SET value=value+1 WHERE name='lease_seq' RETURNING value");
    if (!seq) return db_->prepare_error();
    rc = seq->step();
    int64_t id = rc == SQLITE_ROW ? seq->int64(0) : 0;
    if (rc == SQLITE_ROW) rc = seq->step();
    seq->reset();
    if (rc < 0) return rc;
    sqlite::Stmt *ins = db_->prepare("INSERT INTO hp_leases(ns, subject, resource, id, expires_ms) VALUES(?1,?2,?3,?4,?5)");
    if (!ins) return db_->prepare_error();
    ins->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, resource).bind(4, id).bind(5, static_cast<int64_t>(expires));
    rc = ins->step();
    ins->reset();
    if (rc < 0) return rc;
    out->status = HP_LEASE_GRANTED;
    out->count = static_cast<uint32_t>(n + 1);
    out->id = static_cast<uint64_t>(id);
  }
  return txn.commit();
}

int SqliteBackend::release(std::string_view subject, std::string_view resource) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = wall_ns() / 1000000;
  sqlite::Stmt *st = db_->prepare("DELETE FROM hp_leases WHERE ns=?1 AND subject=?2 AND resource=?3 RETURNING expires_ms");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, resource);
  int rc = st->step();
  int released = rc == SQLITE_ROW && st->int64(0) > now ? 1 : 0;
  if (rc == SQLITE_ROW) rc = st->step();
  st->reset();
  return rc < 0 ? rc : released;
}

int SqliteBackend::renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = wall_ns() / 1000000;
  sqlite::Stmt *st = db_->prepare(
      "UPDATE hp_leases SET expires_ms=?5 WHERE ns=?1 AND subject=?2 AND resource=?3 AND expires_ms>?4 RETURNING id");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, subject).bind(3, resource).bind(4, static_cast<int64_t>(now));
  st->bind(5, static_cast<int64_t>(now + static_cast<int64_t>(ttl_ms)));
  int rc = st->step();
  int renewed = rc == SQLITE_ROW ? 1 : 0;
  if (rc == SQLITE_ROW) rc = st->step();
  st->reset();
  return rc < 0 ? rc : renewed;
}

int SqliteBackend::holders(std::string_view subject, std::vector<Lease> *out) {
  std::lock_guard<std::mutex> lock(mu_);
  return list(subject, wall_ns() / 1000000, out);
}

int SqliteBackend::hit(std::string_view key, const Rate &rate, hp_rate_result *out) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite::Txn txn(*db_);
  int rc = txn.begin();
  if (rc != 0) return rc;
  uint64_t now = static_cast<uint64_t>(wall_ns());
  sqlite::Stmt *get = db_->prepare("SELECT tat FROM hp_rates WHERE ns=?1 AND key=?2");
  if (!get) return db_->prepare_error();
  get->bind(1, std::string_view(ns_)).bind(2, key);
  rc = get->step();
  uint64_t stored = rc == SQLITE_ROW ? static_cast<uint64_t>(get->int64(0)) : 0;
  get->reset();
  if (rc < 0) return rc;
  uint64_t next = gcra(now, stored, rate, out);
  if (next != stored) {
    sqlite::Stmt *put = db_->prepare("INSERT OR REPLACE INTO hp_rates(ns, key, tat) VALUES(?1,?2,?3)");
    if (!put) return db_->prepare_error();
    put->bind(1, std::string_view(ns_)).bind(2, key).bind(3, static_cast<int64_t>(next));
    rc = put->step();
    put->reset();
    if (rc < 0) return rc;
  }
  return txn.commit();
}

int SqliteBackend::set_add(std::string_view set, std::string_view member) {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite::Stmt *st = db_->prepare("INSERT OR IGNORE INTO hp_sets(ns, name, member) VALUES(?1,?2,?3)");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, set).bind(3, member);
  int rc = st->step();
  st->reset();
  if (rc < 0) return rc;
  return sqlite3_changes(db_->raw()) > 0 ? 1 : 0;
}

int SqliteBackend::set_has(std::string_view set, std::string_view member) {
  std::lock_guard<std::mutex> lock(mu_);
  return has(set, member);
}

int SqliteBackend::has(std::string_view set, std::string_view member) {
  sqlite::Stmt *st = db_->prepare("SELECT 1 FROM hp_sets WHERE ns=?1 AND name=?2 AND member=?3");
  if (!st) return db_->prepare_error();
  st->bind(1, std::string_view(ns_)).bind(2, set).bind(3, member);
  int rc = st->step();
  st->reset();
  return rc < 0 ? rc : (rc == SQLITE_ROW ? 1 : 0);
}

int SqliteBackend::ping() {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite::Stmt *st = db_->prepare("SELECT value FROM hp_meta WHERE name='lease_seq'");
  if (!st) return db_->prepare_error();
  int rc = st->step();
  st->reset();
  return rc < 0 ? rc : 0;
}

}  // namespace hp::limits
