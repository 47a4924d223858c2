#include "sqlite/db.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/guard.h"

namespace hp::sqlite {

int fail(sqlite3 *db, int rc, std::string_view what) {
  int code;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = HP_EUNAVAILABLE;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = HP_ECORRUPT;
      break;
    case SQLITE_NOMEM:
      code = HP_ENOMEM;
      break;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
      code = HP_EINTERNAL;
      break;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      code = HP_EINVAL;
      break;
    default:
      code = HP_EIO;
  }
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return core::set_error(code, what, ": ", msg ? msg : sqlite3_errstr(rc));
}

int Stmt::step() {
  if (bind_rc_ != SQLITE_OK) {
    int code = fail(nullptr, bind_rc_, "sqlite: bind");
    reset();
    return code;
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return rc;
  int code = fail(db_, rc, "sqlite");
  sqlite3_reset(stmt_);
  return code;
}

int Db::open(const std::string &path, const OpenOptions &options, std::unique_ptr<Db> *out) {
  std::unique_ptr<Db> db(new Db());
  db->path_ = path;
  int flags = SQLITE_OPEN_NOMUTEX | (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    int code = fail(db->db_, rc, "sqlite: open " + path);
    // The system error behind SQLITE_CANTOPEN (a missing directory, no
    // permission) for hp_last_errno().
    int sys = db->db_ ? sqlite3_system_errno(db->db_) : 0;
    if (code == HP_EIO && sys) return core::set_sys_error_text(code, sys, "open", path, hp_last_error());
    return code;
  }
  sqlite3_extended_result_codes(db->db_, 1);
  sqlite3_busy_timeout(db->db_, static_cast<int>(options.busy_timeout_ms));
  db->busy_timeout_ms_ = options.busy_timeout_ms;
  if (options.page_size) {
    std::string pragma = "PRAGMA page_size=" + std::to_string(options.page_size) + ";";
    if ((rc = db->setup(pragma.c_str())) != 0) return rc;
  }
  if (!options.read_only) {
    // WAL: readers never block the writer; NORMAL sync is durable across
    // process crashes (the WAL is fsynced at checkpoints).
    if ((rc = db->setup("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")) != 0) return rc;
  }
  // A file that is not a database fails here rather than at first use.
  if ((rc = db->setup("SELECT count(*) FROM sqlite_master;")) != 0) return rc;
  *out = std::move(db);
  return 0;
}

Db::~Db() {
  cache_.clear();  // finalize statements before closing
  if (db_) sqlite3_close_v2(db_);
}

int Db::exec(const char *sql) {
  char *err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return 0;
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  int code = fail(db_, rc, "sqlite: " + path_);
  return core::set_error(code, "sqlite: ", path_, ": ", msg);
}

int Db::setup(const char *sql) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  for (int wait_ms = 1;; wait_ms = std::min(wait_ms * 2, 50)) {
    int rc = exec(sql);
    if (rc != HP_EUNAVAILABLE || std::chrono::steady_clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

Stmt *Db::prepare(const std::string &sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->reset();
    return it->second.get();
  }
  sqlite3_stmt *stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    prepare_error_ = fail(db_, rc, "sqlite: prepare");
    return nullptr;
  }
  // Out of memory for the cache entry: the statement is finalized, and the
  // caller gets HP_ENOMEM from prepare_error().
  Stmt *raw = nullptr;
  int code = core::guard("sqlite: prepare", [&] {
    std::unique_ptr<Stmt> owned(new (std::nothrow) Stmt(db_, stmt));
    if (!owned) {
      sqlite3_finalize(stmt);
      throw std::bad_alloc();
    }
    raw = owned.get();
    cache_.emplace(sql, std::move(owned));
    return 0;
  });
  if (code < 0) {
    prepare_error_ = code;
    return nullptr;
  }
  return raw;
}

int Db::begin() { return exec("BEGIN IMMEDIATE;"); }
int Db::begin_read() { return exec("BEGIN;"); }
int Db::commit() { return exec("COMMIT;"); }
void Db::rollback() { sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr); }

}  // namespace hp::sqlite
