// A blob store: the backend a spec names, and the glue that runs any
// backend's calls with completions on the engine's loop (SQLite on the
// libuv thread pool, Redis on the loop itself).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "blobs/redis_backend.h"
#include "blobs/sqlite_backend.h"
#include "blobs/types.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "core/pool_job.h"
#include "redis/figures.h"

namespace hp::blobs {

class Store : public std::enable_shared_from_this<Store> {
 public:
  static int open(std::shared_ptr<Store> *out, core::Engine *engine, const std::string &spec,
                  const hp_blobs_options &options);
  ~Store();

  int kind() const { return sqlite_ ? HP_BACKEND_SQLITE : HP_BACKEND_REDIS; }
  uint32_t chunk_size() const { return chunk_size_; }
  core::Engine *engine() const { return engine_.get(); }
  // The blocking backend (SQLite), for work that is already on the pool.
  SqliteBackend *sqlite() const { return sqlite_.get(); }
  RedisBackend *redis() const { return redis_.get(); }

  // What hp_blobs_stats_get() reports; bumped by writers and readers on
  // the loop thread, read from any.
  struct Counters {
    std::atomic<uint64_t> bytes_in{0}, bytes_out{0}, commits{0}, corrupt_reads{0};
    std::shared_ptr<redis::Figures> redis;  // Redis stores only
    void fill(hp_blobs_stats *out) const;
  };
  Counters &counters() { return counters_; }

  // Runs fn on the loop thread on a later turn (never inside the caller's
  // call), or fn(true) when the engine closes first. Returns HP_ECLOSED
  // (fn dropped) when the engine is already closing. Any thread.
  int on_loop(std::function<void(bool closing)> fn);

  // Backend calls, loop thread only; `done` runs once on the loop thread.
  void commit(Upload &u, FileInfo info, InfoDone done);
  // SQLite: runs `prepare` on the thread pool (hashing the last chunks,
  // filling in the commit), then publishes the commit in a transaction it
  // shares with the commits queued beside it (SqliteBackend::Commit), with
  // no second trip through the pool; `done` runs once that transaction
  // has ended.
  void commit_grouped(std::function<int(SqliteBackend::Commit &)> prepare, InfoDone done);
  void abort(Upload &u, Done done);
  void find(const Query &q, InfoDone done);
  // Chunks first.. of `f`, at most `count` and at least one unless failing.
  void get_chunks(const FileInfo &f, uint64_t first, uint64_t count, ChunksDone done);
  // Bytes pos..f.read_stop(pos, end, cap) of `f` to `dst`: on the pool
  // (SQLite), or fetched with one MGET and copied (Redis); done(status,
  // bytes filled), the good bytes before a failure first.
  void read_into(const FileInfo &f, uint64_t pos, uint64_t end, char *dst, size_t cap,
                 std::function<void(int, size_t)> done);
  // Finds a file and reads start..end whole (SqliteBackend::get; on Redis
  // a find, then the chunks with as few MGETs as the file takes).
  using GetDone = std::function<void(int status, FileInfo info, std::string bytes)>;
  void get(const Query &q, uint64_t start, uint64_t end, uint64_t max_bytes, GetDone done);
  void list(const ListQuery &q, ListDone done);
  void remove(const std::string &id, const std::string &name, Done done);
  void gc(Done done);

  // Runs `work` on the thread pool, then `done(status, value)` on the loop,
  // with the pool thread's error text carried over. Loop thread only.
  template <class T>
  void pool(std::function<int(T &)> work, std::function<void(int, T)> done);

 private:
  explicit Store(core::Engine *engine) : engine_(engine) {}
  core::EngineRef engine_;
  uint32_t chunk_size_ = HP_BLOBS_DEFAULT_CHUNK_SIZE;
  std::unique_ptr<SqliteBackend> sqlite_;
  std::unique_ptr<RedisBackend> redis_;
  Counters counters_;
};

template <class T>
void Store::pool(std::function<int(T &)> work, std::function<void(int, T)> done) {
  // The store stays alive until the answer.
  core::run_on_pool<T>(
      engine_.get(), "blobs", std::move(work),
      [self = shared_from_this(), done = std::move(done)](int rc, T v) { done(rc, std::move(v)); });
}

}  // namespace hp::blobs
