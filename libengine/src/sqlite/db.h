// The one SQLite helper every subsystem shares: open in WAL mode with a busy
// timeout, a statement cache, immediate transactions, and SQLite result
// codes turned into HP_E* codes with the database's message.
//
// A Db is used by one thread at a time (the caller serialises); open one per
// thread or guard it with a mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hotpath.h"

namespace hp::sqlite {

struct OpenOptions {
  uint32_t busy_timeout_ms = 5000;
  uint32_t page_size = 0;  // 0: SQLite's default; set before the first table exists
  bool read_only = false;
};

// Maps a SQLite result code to an HP_E* code and sets the message
// "<what>: <sqlite message>". Returns the HP_E* code.
int fail(sqlite3 *db, int rc, std::string_view what);

class Stmt {
 public:
  Stmt(sqlite3 *db, sqlite3_stmt *stmt) : db_(db), stmt_(stmt) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt &) = delete;
  Stmt &operator=(const Stmt &) = delete;

  Stmt &bind(int i, int64_t v) {
    note(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Stmt &bind(int i, double v) {
    note(sqlite3_bind_double(stmt_, i, v));
    return *this;
  }
  Stmt &bind(int i, std::string_view text) {
    note(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt &bind_blob(int i, const void *data, size_t len) {
    note(sqlite3_bind_blob64(stmt_, i, data, len, SQLITE_TRANSIENT));
    return *this;
  }
  Stmt &bind_null(int i) {
    note(sqlite3_bind_null(stmt_, i));
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE, or a negative HP_E* code (message set); a
  // bind that failed (out of memory copying a value) fails the step, which
  // would otherwise run with NULL in its place.
  int step();
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
  }

  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view text(int col) const {
    auto *p = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, col)) : std::string_view();
  }
  std::string_view blob(int col) const {
    auto *p = static_cast<const char *>(sqlite3_column_blob(stmt_, col));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, col)) : std::string_view();
  }
  sqlite3_stmt *raw() { return stmt_; }

 private:
  void note(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3 *db_;
  sqlite3_stmt *stmt_;
  int bind_rc_ = SQLITE_OK;  // the first failed bind since the last reset
};

class Db {
 public:
  // Opens (creating if needed) `path` in WAL mode. Returns 0 or an HP_E* code.
  static int open(const std::string &path, const OpenOptions &options, std::unique_ptr<Db> *out);
  ~Db();

  sqlite3 *raw() { return db_; }
  const std::string &path() const { return path_; }

  // Runs one or more statements without results. 0 or an HP_E* code.
  int exec(const char *sql);
  // exec() for setting a file up (pragmas, CREATE ... IF NOT EXISTS),
  // retried while another connection holds the lock, up to the busy
  // timeout: when several processes create one file together, SQLite
  // answers some of them SQLITE_BUSY at once, without its busy handler,
  // because waiting could deadlock.
  int setup(const char *sql);
  // A cached prepared statement, reset and ready to bind; nullptr on error
  // (message set). The cache is keyed by the SQL text.
  Stmt *prepare(const std::string &sql);
  // The code of the last failed prepare() (HP_ENOMEM, HP_EIO, ...), its
  // message set then.
  int prepare_error() const { return prepare_error_; }

  // BEGIN IMMEDIATE: takes the write lock at once, so a read-then-write
  // inside is atomic across processes. Waits up to the busy timeout.
  int begin();
  // BEGIN (deferred): one read snapshot from the first read to the end.
  int begin_read();
  int commit();
  void rollback();

 private:
  Db() = default;
  sqlite3 *db_ = nullptr;
  std::string path_;
  uint32_t busy_timeout_ms_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;
  int prepare_error_ = HP_EIO;
};

// Rolls back on scope exit unless committed.
class Txn {
 public:
  explicit Txn(Db &db) : db_(db) {}
  ~Txn() { rollback(); }
  int begin() { return opened(db_.begin()); }
  int begin_read() { return opened(db_.begin_read()); }
  int commit() {
    int rc = db_.commit();
    if (rc == 0) open_ = false;
    return rc;
  }
  void rollback() {
    if (open_) db_.rollback();
    open_ = false;
  }

 private:
  int opened(int rc) {
    open_ = rc == 0;
    return rc;
  }
  Db &db_;
  bool open_ = false;
};

}  // namespace hp::sqlite
