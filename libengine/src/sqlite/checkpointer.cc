#include "sqlite/checkpointer.h"

namespace hp::sqlite {

Checkpointer::Checkpointer(Db *writer, OpenOptions options, int soft_pages, int hard_pages)
    : writer_(writer), options_(std::move(options)), soft_pages_(soft_pages), hard_pages_(hard_pages) {
  options_.page_size = 0;
  thread_ = std::thread([this] { run(); });
  sqlite3_wal_hook(writer_->raw(), &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_->raw(), nullptr, nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t Checkpointer::checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

// The writer's thread, right after each commit (no lock held), with the
// WAL's page count.
int Checkpointer::on_commit(void *arg, sqlite3 *, const char *, int pages) {
  auto *self = static_cast<Checkpointer *>(arg);
  if (pages < self->soft_pages_) return SQLITE_OK;
  std::unique_lock<std::mutex> lock(self->mu_);
  uint64_t round = ++self->requested_;
  if (pages >= self->hard_pages_) self->restart_ = true;
  self->cv_.notify_all();
  // Past the hard limit the copy fell behind, or a checkpoint running at
  // every commit kept the log from starting over: the writer waits for a
  // round that copies everything and restarts the log.
  if (pages >= self->hard_pages_)
    self->cv_.wait(lock, [&] { return self->finished_ >= round || self->stopping_; });
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_ptr<Db> db;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return requested_ > finished_ || stopping_; });
    if (stopping_) return;
    uint64_t round = requested_;
    int mode = restart_ ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
    restart_ = false;
    lock.unlock();
    // A connection that fails to open leaves the WAL to grow until the
    // writer closes. Checkpoints copy frames without the page cache.
    if (!db && (Db::open(writer_->path(), options_, &db) != 0 || db->exec("PRAGMA cache_size=2;") != 0))
      db.reset();
    if (db) sqlite3_wal_checkpoint_v2(db->raw(), "main", mode, nullptr, nullptr);
    lock.lock();
    finished_ = round;
    done_++;
    cv_.notify_all();
  }
}

}  // namespace hp::sqlite
