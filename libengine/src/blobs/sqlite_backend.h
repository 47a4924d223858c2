// The SQLite backend: blocking calls, safe from any thread, meant for the
// libuv thread pool. One writer connection behind a mutex (writes of one
// process queue here instead of spinning on SQLite's lock) and a pool of
// reader connections (WAL: readers never wait for the writer). Checkpoints
// run on a thread of their own (sqlite/checkpointer.h), so a big upload
// appends to the WAL without stalling every few MiB to copy it.
//
// Tables: hp_blob_files (one row per committed file, seq = commit order),
// hp_blob_uploads (uploads in progress and who writes them) and
// hp_blob_chunks, whose rowid is (upload key << 32 | chunk index), so a
// chunk is one rowid lookup and a file's chunks are one rowid range. A
// file's first batch of chunks (all of a small file) lives in its rows;
// the bytes of later ones in the upload's chunk file (blobs/chunk_files.h),
// their rows holding only the CRC32C.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "blobs/chunk_files.h"
#include "blobs/types.h"
#include "core/error.h"
#include "sqlite/checkpointer.h"
#include "sqlite/db.h"

namespace hp::blobs {

class SqliteBackend {
 public:
  // durable: HP_BLOBS_DURABLE (synced chunk files, synchronous=FULL).
  static int open(const std::string &path, uint32_t timeout_ms, bool durable,
                  std::unique_ptr<SqliteBackend> *out);

  // Stores chunks first.. of `u` in one transaction; the first batch
  // registers the upload (u.ukey is set once that commits).
  int put_chunks(Upload &u, uint64_t first, const std::vector<std::string> &chunks,
                 const std::vector<uint32_t> &crcs);
  // A commit: an upload's last chunks (none when `chunks` is null) and its
  // file row, published together. Commits that queue while a transaction
  // runs share the next one (group commit), each inside a savepoint of its
  // own, so one that fails leaves the others whole.
  struct Commit {
    Upload *upload = nullptr;
    uint64_t first = 0;
    const std::vector<std::string> *chunks = nullptr;
    const std::vector<uint32_t> *crcs = nullptr;
    FileInfo *info = nullptr;  // in: the file; out: seq, upload date, revision, ukey
    int rc = 0;
    core::Status failure;  // the detail of rc < 0 (only the code without memory for it)
    // Called once, when the transaction that holds this commit has ended
    // (committed: the file is as durable as the store makes any commit),
    // on the thread that ran it; the Commit may be gone once it returns.
    void (*landed)(void *arg) = nullptr;
    void *arg = nullptr;

   private:
    friend class SqliteBackend;
    Commit *next = nullptr;
    int64_t ukey = 0;
  };
  // Queues `c` for the next transaction. The calling thread runs it, and
  // every commit queued meanwhile, unless another thread is running one
  // already: that thread then takes `c` into its next transaction, and
  // this call returns at once. Never throws.
  void commit_grouped(Commit *c) noexcept;
  int abort(const Upload &u);
  int find(const Query &q, FileInfo *out);
  // Chunks first..first+count-1 of `f` (one query), each checked against
  // its CRC32C and expected length.
  int get_chunks(const FileInfo &f, uint64_t first, uint64_t count, std::vector<std::string> *out);
  // Bytes pos..f.read_stop(pos, end, cap) of `f` to `dst`, checked chunk
  // by chunk. *filled gets their number; a failure after good bytes
  // returns 0 with those (the next call names it).
  int read_into(const FileInfo &f, uint64_t pos, uint64_t end, char *dst, size_t cap, size_t *filled);
  // Finds a file and reads its bytes start..end (clamped to its length),
  // all of them or a failure (HP_ELIMIT past max_bytes), in one snapshot.
  int get(const Query &q, uint64_t start, uint64_t end, uint64_t max_bytes, FileInfo *info, std::string *out);
  int list(const ListQuery &q, ListPage *out);
  int remove_id(const std::string &id);      // 1 or 0
  int remove_name(const std::string &name);  // files deleted
  int gc();                                  // uploads reclaimed

 private:
  SqliteBackend() = default;
  // A reader connection, returned to the pool when the lease ends.
  struct ReaderLease {
    SqliteBackend *owner;
    std::unique_ptr<sqlite::Db> db;
    ~ReaderLease();
  };
  int reader(std::unique_ptr<ReaderLease> *out);
  // A reader connection inside one read snapshot, for one call. The
  // snapshot is SQLite's own for statements in autocommit mode: it starts
  // with the call's first query and lasts while one of its queries is
  // left on a row (not stepped to its end nor reset), which costs no BEGIN
  // and COMMIT to parse and run. `hold` is a query kept so until end(); a
  // ChunkCursor keeps its rows query so until its done(). The snapshot
  // ends before the connection goes back to the pool.
  struct ReadSnapshot {
    std::unique_ptr<ReaderLease> lease;
    sqlite::Stmt *hold = nullptr;
    sqlite::Db &db() { return *lease->db; }
    void end() {
      if (hold) hold->reset();
      hold = nullptr;
    }
    ~ReadSnapshot() { end(); }
  };
  int read_snapshot(ReadSnapshot *out);
  // The file `q` names. With `hold`, its query is left on the file's row
  // and *hold names it (the caller resets it): the file row holds the
  // caller's read snapshot.
  int find_in(sqlite::Db &db, const Query &q, FileInfo *out, sqlite::Stmt **hold = nullptr);
  class ChunkCursor;
  // Inside a read snapshot: bytes pos..stop of `f` to `dst`, whole chunks
  // read in place; stops at the first failure (*at: its chunk).
  int read_span(ChunkCursor &chunks, const FileInfo &f, uint64_t pos, uint64_t stop, char *dst,
                size_t *filled, uint64_t *at);
  // Ends a read snapshot, then the call's answer: 0 when bytes were
  // delivered, else rc, a damaged or missing chunk n named.
  int end_snapshot(ReadSnapshot &snapshot, ChunkCursor &chunks, int rc, bool delivered, uint64_t n);
  // One transaction for the commits from `batch` on; then each lands.
  void run_group(Commit *batch) noexcept;
  // Inside a write transaction: one commit's chunks and file row.
  int publish(Commit &c);
  int savepoint(const char *sql);
  int delete_file_rows(int64_t seq, int64_t ukey);
  int delete_chunks(int64_t ukey);
  // Inside a write transaction: registers an upload, stores chunks.
  int register_upload(const std::string &id, int64_t *ukey);
  int insert_chunks(int64_t ukey, uint64_t first, const std::vector<std::string> &chunks,
                    const std::vector<uint32_t> &crcs);
  // Chunks after an upload's first batch: bytes to its chunk file, rows
  // with their CRCs (and no data) inside the caller's transaction.
  int insert_external(const Upload &u, uint64_t first, const std::vector<std::string> &chunks,
                      const std::vector<uint32_t> &crcs);

  std::string path_;
  sqlite::OpenOptions options_;
  std::string owner_;
  std::mutex write_mu_;
  // Commits waiting for the next group transaction, and whether a thread
  // is running one.
  std::mutex group_mu_;
  Commit *group_head_ = nullptr;
  Commit *group_tail_ = nullptr;
  bool group_running_ = false;
  std::unique_ptr<ChunkFiles> files_;
  std::unique_ptr<sqlite::Db> writer_;
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;  // before writer_ goes
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> idle_readers_;
};

}  // namespace hp::blobs
