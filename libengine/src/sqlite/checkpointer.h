// Moves a WAL database's checkpoints off its writer: after a commit leaves
// `soft_pages` or more in the WAL, a thread of its own copies them into the
// database (a PASSIVE checkpoint on its own connection) while the writer
// goes on appending. Past `hard_pages` the writer waits for a RESTART round
// (everything copied, the log starts over), so the WAL stays bounded when
// the copy falls behind. For bulk writers (blob chunks), where SQLite's
// inline autocheckpoint would stall every 1000 pages to copy and fsync.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sqlite/db.h"

namespace hp::sqlite {

class Checkpointer {
 public:
  // Installs itself as `writer`'s WAL hook (which replaces autocheckpoint);
  // `options` open its own connection to the same file, on first use.
  Checkpointer(Db *writer, OpenOptions options, int soft_pages, int hard_pages);
  // Waits for a checkpoint in progress; the writer must still be open.
  ~Checkpointer();

  uint64_t checkpoints() const;  // background ones run so far

 private:
  static int on_commit(void *self, sqlite3 *, const char *, int pages);
  void run();

  Db *writer_;
  OpenOptions options_;
  int soft_pages_, hard_pages_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t requested_ = 0;  // rounds asked for by commits
  uint64_t finished_ = 0;   // the last one done
  bool restart_ = false;    // the next round restarts the log
  bool stopping_ = false;
  uint64_t done_ = 0;
  std::thread thread_;
};

}  // namespace hp::sqlite
