#include "blobs/sqlite_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "blobs/crc32c.h"
#include "blobs/list_keys.h"
#include "blobs/owner.h"
#include "core/error.h"

namespace hp::blobs {

using core::set_error;

namespace {

constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS hp_blob_files(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  filename TEXT NOT NULL,
  ukey INTEGER NOT NULL,
  length INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL,
  upload_date INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  metadata TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hp_blob_files_name ON hp_blob_files(filename, seq);
CREATE INDEX IF NOT EXISTS hp_blob_files_ukey ON hp_blob_files(ukey);
CREATE TABLE IF NOT EXISTS hp_blob_uploads(
  ukey INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  owner TEXT NOT NULL,
  aborted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS hp_blob_chunks(
  key INTEGER PRIMARY KEY,
  crc INTEGER NOT NULL,
  data BLOB NOT NULL);
)sql";

// Per connection: 512 KiB, 64 pages of 8 KiB.
constexpr const char *kCacheSize = "PRAGMA cache_size=-512;";

// The columns every file query selects, in FileInfo order.
constexpr const char *kCols =
    "f.seq, f.id, f.filename, f.ukey, f.length, f.chunk_size, f.upload_date, f.content_type, f.sha256, "
    "f.metadata, (SELECT count(*) FROM hp_blob_files f2 WHERE f2.filename = f.filename AND f2.seq < f.seq)";

void read_info(sqlite::Stmt *s, FileInfo *out) {
  out->seq = s->int64(0);
  out->id = std::string(s->text(1));
  out->filename = std::string(s->text(2));
  out->ukey = s->int64(3);
  out->length = static_cast<uint64_t>(s->int64(4));
  out->chunk_size = static_cast<uint32_t>(s->int64(5));
  out->upload_date_ms = s->int64(6);
  out->content_type = std::string(s->text(7));
  out->sha256 = std::string(s->text(8));
  out->metadata = std::string(s->text(9));
  out->revision = s->int64(10);
}

// Upload keys are positive; a small file written in its commit uses -seq.
int64_t chunk_key(int64_t ukey, uint64_t n) {
  return static_cast<int64_t>((static_cast<uint64_t>(ukey) << 32) | n);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Spans of chunks up to this many bytes are read with their rows' bytes
// (one query) rather than a blob handle per chunk: a small file's get.
constexpr uint64_t kRowBytesMax = 64 * 1024;

}  // namespace

int SqliteBackend::open(const std::string &path, uint32_t timeout_ms, bool durable,
                        std::unique_ptr<SqliteBackend> *out) {
  std::unique_ptr<SqliteBackend> b(new SqliteBackend());
  b->path_ = path;
  b->options_.busy_timeout_ms = timeout_ms;
  // 8 KiB pages for a new file. Large files keep most bytes in chunk files,
  // so pages serve small files and rows: a 16 KiB file's commit writes a
  // few 8 KiB pages to the WAL (64 KiB pages made it six times slower, and
  // the file twice as big), and reads stay as fast as with 4 KiB.
  b->options_.page_size = 8192;
  int rc = sqlite::Db::open(path, b->options_, &b->writer_);
  if (rc != 0) return rc;
  if ((rc = b->writer_->setup(kSchema)) != 0) return rc;
  // Chunk pages are written or read once: a small page cache is enough
  // (SQLite allocates much of it at once, so it counts in resident memory).
  if ((rc = b->writer_->exec(kCacheSize)) != 0) return rc;
  // Checkpoint from 1024 pages of WAL (8 MiB with 8 KiB pages) in the
  // background; past 4096 the writer waits for one that restarts the log,
  // and a restart trims the file to 16 MiB.
  if ((rc = b->writer_->exec("PRAGMA journal_size_limit=16777216;")) != 0) return rc;
  // Durable: each commit syncs the WAL (NORMAL syncs it only at checkpoints,
  // so the last commits may go with the power, never with the process).
  if (durable && (rc = b->writer_->exec("PRAGMA synchronous=FULL;")) != 0) return rc;
  b->checkpointer_ = std::make_unique<sqlite::Checkpointer>(b->writer_.get(), b->options_, 1024, 4096);
  b->files_ = std::make_unique<ChunkFiles>(path + "-chunks", durable);
  b->owner_ = this_process();
  *out = std::move(b);
  return 0;
}

SqliteBackend::ReaderLease::~ReaderLease() {
  if (!db) return;
  std::lock_guard<std::mutex> lock(owner->readers_mu_);
  // Kept for the next reader; without memory for the list it closes here
  // (a destructor must not throw).
  try {
    owner->idle_readers_.push_back(std::move(db));
  } catch (const std::bad_alloc &) {
  }
}

int SqliteBackend::reader(std::unique_ptr<ReaderLease> *out) {
  auto lease = std::make_unique<ReaderLease>();
  lease->owner = this;
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      lease->db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!lease->db) {
    sqlite::OpenOptions ro = options_;
    ro.page_size = 0;
    int rc = sqlite::Db::open(path_, ro, &lease->db);
    if (rc == 0) rc = lease->db->exec(kCacheSize);
    if (rc != 0) return rc;
  }
  *out = std::move(lease);
  return 0;
}

int SqliteBackend::register_upload(const std::string &id, int64_t *ukey) {
  sqlite::Stmt *s = writer_->prepare("INSERT INTO hp_blob_uploads(id, owner) VALUES(?1, ?2)");
  if (!s) return writer_->prepare_error();
  s->bind(1, id).bind(2, owner_);
  int rc = s->step();
  s->reset();
  if (rc < 0) return rc;
  *ukey = sqlite3_last_insert_rowid(writer_->raw());
  return 0;
}

int SqliteBackend::insert_chunks(int64_t ukey, uint64_t first, const std::vector<std::string> &chunks,
                                 const std::vector<uint32_t> &crcs) {
  sqlite::Stmt *s = writer_->prepare("INSERT INTO hp_blob_chunks(key, crc, data) VALUES(?1, ?2, ?3)");
  if (!s) return writer_->prepare_error();
  for (size_t i = 0; i < chunks.size(); i++) {
    // Bound without a copy: the chunk outlives the step.
    sqlite3_bind_int64(s->raw(), 1, chunk_key(ukey, first + i));
    sqlite3_bind_int64(s->raw(), 2, static_cast<int64_t>(crcs[i]));
    sqlite3_bind_blob64(s->raw(), 3, chunks[i].data(), chunks[i].size(), SQLITE_STATIC);
    int rc = s->step();
    s->reset();
    if (rc < 0) return rc;
  }
  return 0;
}

int SqliteBackend::insert_external(const Upload &u, uint64_t first, const std::vector<std::string> &chunks,
                                   const std::vector<uint32_t> &crcs) {
  int rc = files_->write(u.ukey, first, u.chunk_size, chunks);
  if (rc != 0) return rc;
  sqlite::Stmt *s = writer_->prepare("INSERT INTO hp_blob_chunks(key, crc, data) VALUES(?1, ?2, x'')");
  if (!s) return writer_->prepare_error();
  for (size_t i = 0; i < chunks.size(); i++) {
    s->bind(1, chunk_key(u.ukey, first + i)).bind(2, static_cast<int64_t>(crcs[i]));
    rc = s->step();
    s->reset();
    if (rc < 0) return rc;
  }
  return 0;
}

int SqliteBackend::put_chunks(Upload &u, uint64_t first, const std::vector<std::string> &chunks,
                              const std::vector<uint32_t> &crcs) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite::Txn txn(*writer_);
  int rc = txn.begin();
  if (rc != 0) return rc;
  int64_t ukey = u.ukey;
  if (!ukey && (rc = register_upload(u.id, &ukey)) != 0) return rc;
  // The first batch goes in the rows, with the upload's own row: the chunk
  // file then only ever exists for an upload the database knows.
  rc = u.ukey && u.chunk_size ? insert_external(u, first, chunks, crcs)
                              : insert_chunks(ukey, first, chunks, crcs);
  if (rc != 0) return rc;
  if ((rc = txn.commit()) != 0) return rc;
  u.ukey = ukey;  // only once it is durable: a rolled-back key may be reused
  u.chunks = first + chunks.size();
  return 0;
}

int SqliteBackend::publish(Commit &c) {
  static const std::vector<std::string> kNoChunks;
  static const std::vector<uint32_t> kNoCrcs;
  const std::vector<std::string> &chunks = c.chunks ? *c.chunks : kNoChunks;
  const std::vector<uint32_t> &crcs = c.crcs ? *c.crcs : kNoCrcs;
  const Upload &u = *c.upload;
  FileInfo *info = c.info;
  int64_t ukey = u.ukey;
  int rc;
  // Every chunk comes with the commit (a small file): no upload row is
  // needed, the chunks live under the file's own key, -seq.
  bool direct = ukey == 0 && !chunks.empty();
  sqlite::Stmt *s;
  if (!chunks.empty() && !direct) {
    rc = u.chunk_size ? insert_external(u, c.first, chunks, crcs) : insert_chunks(ukey, c.first, chunks, crcs);
    if (rc != 0) return rc;
  }
  if (ukey) {
    if (!(s = writer_->prepare("DELETE FROM hp_blob_uploads WHERE ukey = ?1 AND aborted = 0"))) return writer_->prepare_error();
    s->bind(1, ukey);
    rc = s->step();
    s->reset();
    if (rc < 0) return rc;
    if (sqlite3_changes(writer_->raw()) != 1)
      return set_error(HP_EIO, "blobs: upload ", u.id, " was reclaimed before its commit");
  }
  info->upload_date_ms = now_ms();
  info->ukey = ukey;
  if (!(s = writer_->prepare("INSERT INTO hp_blob_files(id, filename, ukey, length, chunk_size, upload_date, "
                             "content_type, sha256, "
                             "metadata) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")))
    return writer_->prepare_error();
  s->bind(1, info->id)
      .bind(2, info->filename)
      .bind(3, info->ukey)
      .bind(4, static_cast<int64_t>(info->length))
      .bind(5, static_cast<int64_t>(info->chunk_size))
      .bind(6, info->upload_date_ms)
      .bind(7, info->content_type)
      .bind(8, info->sha256)
      .bind(9, info->metadata);
  rc = s->step();
  s->reset();
  if (rc < 0) return rc;
  info->seq = sqlite3_last_insert_rowid(writer_->raw());
  if (direct) {
    ukey = info->ukey = -info->seq;
    if ((rc = insert_chunks(ukey, c.first, chunks, crcs)) != 0) return rc;
    if (!(s = writer_->prepare("UPDATE hp_blob_files SET ukey = ?1 WHERE seq = ?2"))) return writer_->prepare_error();
    s->bind(1, ukey).bind(2, info->seq);
    rc = s->step();
    s->reset();
    if (rc < 0) return rc;
  }
  if (!(s = writer_->prepare("SELECT count(*) FROM hp_blob_files WHERE filename = ?1 AND seq < ?2")))
    return writer_->prepare_error();
  s->bind(1, info->filename).bind(2, info->seq);
  rc = s->step();
  info->revision = rc == SQLITE_ROW ? s->int64(0) : 0;
  s->reset();
  if (rc < 0) return rc;
  c.ukey = ukey;
  return 0;
}

int SqliteBackend::savepoint(const char *sql) {
  sqlite::Stmt *s = writer_->prepare(sql);
  if (!s) return writer_->prepare_error();
  int rc = s->step();
  s->reset();
  return rc < 0 ? rc : 0;
}

void SqliteBackend::commit_grouped(Commit *c) noexcept {
  {
    std::lock_guard<std::mutex> lock(group_mu_);
    c->next = nullptr;
    (group_tail_ ? group_tail_->next : group_head_) = c;
    group_tail_ = c;
    if (group_running_) return;  // the running thread takes it next
    group_running_ = true;
  }
  for (;;) {
    Commit *batch;
    {
      std::lock_guard<std::mutex> lock(group_mu_);
      batch = group_head_;
      group_head_ = group_tail_ = nullptr;
      if (!batch) {
        group_running_ = false;
        return;
      }
    }
    run_group(batch);
  }
}

namespace {

void keep_failure(SqliteBackend::Commit &c, int rc) noexcept {
  c.rc = rc;
  try {
    c.failure = core::Status::capture(rc);
  } catch (const std::bad_alloc &) {
    c.failure = core::Status();
    c.failure.code = rc;
  }
}

}  // namespace

void SqliteBackend::run_group(Commit *batch) noexcept {
  const bool several = batch->next != nullptr;
  int all = 0;  // a failure of the whole transaction
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    sqlite::Txn txn(*writer_);
    try {
      all = txn.begin();
      for (Commit *c = batch; c && all == 0; c = c->next) {
        // A savepoint each, so that one commit's failure undoes only it.
        if (several && (all = savepoint("SAVEPOINT hp_commit")) != 0) break;
        int rc;
        try {
          rc = publish(*c);
        } catch (const std::bad_alloc &) {
          rc = set_error(HP_ENOMEM, "blobs: out of memory");
        }
        if (rc == 0) {
          any = true;
          if (several) all = savepoint("RELEASE hp_commit");
          continue;
        }
        keep_failure(*c, rc);
        // Some errors (a full disk, I/O) make SQLite roll back the whole
        // transaction: the commits before this one are gone too.
        if (sqlite3_get_autocommit(writer_->raw())) {
          all = rc;
          any = false;
        } else if (several && (all = savepoint("ROLLBACK TO hp_commit")) == 0) {
          all = savepoint("RELEASE hp_commit");
        }
      }
      if (all == 0 && any) all = txn.commit();
    } catch (const std::bad_alloc &) {
      all = set_error(HP_ENOMEM, "blobs: out of memory");
    }
    if (all != 0) {
      txn.rollback();
      // Every commit not failed on its own fails with the transaction.
      Commit failed;
      keep_failure(failed, all);
      for (Commit *c = batch; c; c = c->next) {
        if (c->rc < 0) continue;
        c->rc = all;
        c->failure.code = failed.failure.code;
        try {
          c->failure = failed.failure;
        } catch (const std::bad_alloc &) {  // the code alone says enough
        }
      }
    }
  }
  for (Commit *c = batch; c;) {
    Commit *next = c->next;  // `c` may be gone once it landed
    if (c->rc == 0) {
      c->upload->ukey = c->ukey;
      c->upload->chunks = c->first + (c->chunks ? c->chunks->size() : 0);
    }
    c->landed(c->arg);
    c = next;
  }
}

int SqliteBackend::delete_chunks(int64_t ukey) {
  sqlite::Stmt *s = writer_->prepare("DELETE FROM hp_blob_chunks WHERE key BETWEEN ?1 AND ?2");
  if (!s) return writer_->prepare_error();
  s->bind(1, chunk_key(ukey, 0)).bind(2, chunk_key(ukey, 0xffffffffu));
  int rc = s->step();
  s->reset();
  return rc < 0 ? rc : 0;
}

int SqliteBackend::abort(const Upload &u) {
  if (!u.ukey) return 0;
  std::lock_guard<std::mutex> lock(write_mu_);
  int rc;
  {
    sqlite::Txn txn(*writer_);
    rc = txn.begin();
    if (rc == 0) rc = delete_chunks(u.ukey);
    if (rc == 0) {
      sqlite::Stmt *s = writer_->prepare("DELETE FROM hp_blob_uploads WHERE ukey = ?1");
      if (!s) return writer_->prepare_error();
      s->bind(1, u.ukey);
      rc = s->step();
      s->reset();
      if (rc > 0) rc = 0;
    }
    if (rc == 0 && (rc = txn.commit()) == 0) {
      files_->remove(u.ukey);
      return 0;
    }
  }
  // Leave a mark so that gc() reclaims it even while this process lives.
  std::string why = hp_last_error();
  sqlite::Stmt *s = writer_->prepare("UPDATE hp_blob_uploads SET aborted = 1 WHERE ukey = ?1");
  if (s) {
    s->bind(1, u.ukey);
    s->step();
    s->reset();
  }
  return set_error(rc, why);
}

int SqliteBackend::find(const Query &q, FileInfo *out) {
  std::unique_ptr<ReaderLease> r;
  int rc = reader(&r);
  if (rc != 0) return rc;
  return find_in(*r->db, q, out);
}

int SqliteBackend::find_in(sqlite::Db &db, const Query &q, FileInfo *out, sqlite::Stmt **hold) {
  int rc;
  std::string sql = std::string("SELECT ") + kCols + " FROM hp_blob_files f ";
  if (!q.id.empty())
    sql += "WHERE f.id = ?1";
  else if (q.revision >= 0)
    sql += "WHERE f.filename = ?1 ORDER BY f.seq LIMIT 1 OFFSET ?2";
  else
    sql += "WHERE f.filename = ?1 ORDER BY f.seq DESC LIMIT 1 OFFSET ?2";
  sqlite::Stmt *s = db.prepare(sql);
  if (!s) return db.prepare_error();
  if (!q.id.empty()) {
    s->bind(1, q.id);
  } else {
    s->bind(1, q.filename).bind(2, q.revision >= 0 ? q.revision : -q.revision - 1);
  }
  rc = s->step();
  if (rc == SQLITE_ROW) read_info(s, out);
  if (rc == SQLITE_ROW && hold)
    *hold = s;  // left on its row: the caller's read snapshot lasts until it resets it
  else
    s->reset();
  if (rc < 0) return rc;
  if (rc != SQLITE_ROW) {
    if (!q.id.empty()) return set_error(HP_ENOTFOUND, "blobs: no file with id ", q.id);
    return set_error(HP_ENOTFOUND, "blobs: no revision ", std::to_string(q.revision), " of '", q.filename,
                     "'");
  }
  return 0;
}

// Reads the chunks of one file inside the caller's read snapshot: their
// rows with one query, then each chunk's bytes (from its row, or from the
// upload's chunk file) straight to the caller's memory, checked there
// against the row's CRC32C and the expected length.
class SqliteBackend::ChunkCursor {
 public:
  ChunkCursor(SqliteBackend &b, sqlite::Db &db, const FileInfo &f) : b_(b), db_(db), f_(f) {}
  ~ChunkCursor() { done(); }
  ChunkCursor(const ChunkCursor &) = delete;
  ChunkCursor &operator=(const ChunkCursor &) = delete;

  // The rows of chunks first..last; the bytes come from read(). With
  // `bytes` (a few small chunks) the rows bring the bytes kept in them,
  // instead of a blob handle per chunk (each compiles a statement). The
  // query is left on its last row when every chunk has one: it holds the
  // read snapshot, if nothing else does, until done().
  int rows(uint64_t first, uint64_t last, bool bytes = false) {
    done();
    static constexpr const char *kRows =
        "SELECT key, crc, length(data) FROM hp_blob_chunks WHERE key BETWEEN ?1 AND ?2";
    static constexpr const char *kRowsWithBytes =
        "SELECT key, crc, length(data), data FROM hp_blob_chunks WHERE key BETWEEN ?1 AND ?2";
    rows_stmt_ = db_.prepare(bytes ? kRowsWithBytes : kRows);
    sqlite::Stmt *s = rows_stmt_;
    if (!s) return db_.prepare_error();
    s->bind(1, chunk_key(f_.ukey, first)).bind(2, chunk_key(f_.ukey, last));
    int rc = SQLITE_ROW;
    rows_.clear();
    while (rows_.size() <= last - first && (rc = s->step()) == SQLITE_ROW) {
      rows_.push_back({s->int64(0), static_cast<uint32_t>(s->int64(1)), s->int64(2), {}});
      if (bytes) rows_.back().bytes = std::string(s->blob(3));
    }
    first_ = first;
    return rc < 0 ? rc : 0;
  }

  // Chunk n (within the rows fetched) whole, f.chunk_length(n) bytes, to
  // `dst`. 0; HP_ECORRUPT with the damage in damage() (a hole, a short
  // chunk file, a wrong length or CRC32C: not yet named, see name()); or
  // another failure with its message set.
  int read(uint64_t n, char *dst) {
    damage_ = nullptr;
    uint64_t i = n - first_;
    if (i >= rows_.size() || rows_[i].key != chunk_key(f_.ukey, n)) return hole(n);
    const Row &row = rows_[i];
    uint64_t length = f_.chunk_length(n);
    if (row.size == 0 && length > 0) {
      // In the upload's chunk file.
      if (!file_.is_open()) {
        int rc = b_.files_->open(f_.ukey, &file_);
        if (rc == HP_ENOTFOUND) return hole(n);  // lost, or the file was deleted: told apart by name()
        if (rc != 0) return rc;
      }
      int rc = file_.read(n, f_.chunk_size, static_cast<size_t>(length), dst);
      if (rc == HP_ECORRUPT) return damaged("cut short");
      if (rc != 0) return rc;
    } else {
      if (static_cast<uint64_t>(row.size) != length) return damaged("wrong length");
      if (row.bytes.size() == length) {
        std::memcpy(dst, row.bytes.data(), static_cast<size_t>(length));
        return crc32c(0, dst, static_cast<size_t>(length)) == row.crc ? 0 : damaged("CRC32C mismatch");
      }
      int brc = SQLITE_OK;
      if (blob_) {
        brc = sqlite3_blob_reopen(blob_.get(), row.key);
      } else {
        sqlite3_blob *opened = nullptr;
        brc = sqlite3_blob_open(db_.raw(), "main", "hp_blob_chunks", "data", row.key, 0, &opened);
        blob_.reset(opened);
      }
      if (brc == SQLITE_OK) brc = sqlite3_blob_read(blob_.get(), dst, static_cast<int>(row.size), 0);
      if (brc != SQLITE_OK) return sqlite::fail(db_.raw(), brc, "blobs: read chunk");
    }
    if (crc32c(0, dst, static_cast<size_t>(length)) != row.crc) return damaged("CRC32C mismatch");
    return 0;
  }

  // Ends the blob handle and the rows query (before the snapshot ends).
  void done() {
    blob_.reset();
    if (rows_stmt_) rows_stmt_->reset();
    rows_stmt_ = nullptr;
  }

  // The failure of a read() that returned HP_ECORRUPT for chunk n, named
  // once the snapshot has ended: a damaged chunk, a missing one, or a file
  // deleted since the reader opened it.
  int name(uint64_t n) {
    if (damage_ && damage_ != kHole) return corrupt_chunk(f_.id, n, damage_);
    Query q;
    q.id = f_.id;
    FileInfo still;
    if (b_.find_in(db_, q, &still) == 0) return corrupt_chunk(f_.id, n, "missing");
    return set_error(HP_ENOTFOUND, "blobs: file ", f_.id, " was deleted");
  }

 private:
  static constexpr const char *kHole = "missing";
  struct Row {
    int64_t key;
    uint32_t crc;
    int64_t size;
    std::string bytes;  // rows(..., bytes = true)
  };
  struct BlobClose {
    void operator()(sqlite3_blob *b) const { sqlite3_blob_close(b); }
  };
  int hole(uint64_t) {
    damage_ = kHole;
    return HP_ECORRUPT;
  }
  int damaged(const char *what) {
    damage_ = what;
    return HP_ECORRUPT;
  }

  SqliteBackend &b_;
  sqlite::Db &db_;
  const FileInfo &f_;
  std::vector<Row> rows_;
  sqlite::Stmt *rows_stmt_ = nullptr;  // active until done()
  uint64_t first_ = 0;
  std::unique_ptr<sqlite3_blob, BlobClose> blob_;
  ChunkFiles::Reader file_;
  const char *damage_ = nullptr;
};

int SqliteBackend::read_snapshot(ReadSnapshot *out) {
  return reader(&out->lease);
}

int SqliteBackend::get_chunks(const FileInfo &f, uint64_t first, uint64_t count,
                              std::vector<std::string> *out) {
  // One snapshot for the batch. It ends, and the blob handle closes,
  // however this returns: the connection goes back to the pool.
  ReadSnapshot snap;
  int rc = read_snapshot(&snap);
  if (rc != 0) return rc;
  ChunkCursor chunks(*this, snap.db(), f);
  rc = chunks.rows(first, first + count - 1);
  out->clear();
  uint64_t n = first;
  for (; rc == 0 && n < first + count; n++) {
    std::string data(static_cast<size_t>(f.chunk_length(n)), '\0');
    if ((rc = chunks.read(n, data.data())) != 0) break;
    out->push_back(std::move(data));
  }
  return end_snapshot(snap, chunks, rc, !out->empty(), n);
}

int SqliteBackend::end_snapshot(ReadSnapshot &snapshot, ChunkCursor &chunks, int rc, bool delivered,
                                uint64_t n) {
  chunks.done();
  snapshot.end();
  std::string why = rc < 0 && rc != HP_ECORRUPT ? hp_last_error() : "";
  if (delivered) return 0;  // the good bytes first; the next read names the failure
  if (rc == HP_ECORRUPT) return chunks.name(n);
  if (rc < 0) return core::set_error_text(rc, why);
  return 0;
}

int SqliteBackend::read_span(ChunkCursor &chunks, const FileInfo &f, uint64_t pos, uint64_t stop, char *dst,
                             size_t *filled, uint64_t *at) {
  *filled = 0;
  const uint64_t cs = f.chunk_size;
  const uint64_t first = pos / cs, last = (stop - 1) / cs;
  int rc = chunks.rows(first, last, (last - first + 1) * cs <= kRowBytesMax);
  std::string edge;  // a chunk only part of which is wanted: read whole, checked, then copied
  uint64_t n = first;
  for (; rc == 0 && n <= last; n++) {
    uint64_t chunk_start = n * cs, length = f.chunk_length(n);
    uint64_t from = std::max(pos, chunk_start), to = std::min(stop, chunk_start + length);
    char *out = dst + *filled;
    if (from == chunk_start && to == chunk_start + length) {
      rc = chunks.read(n, out);
    } else {
      edge.resize(static_cast<size_t>(length));
      rc = chunks.read(n, edge.data());
      if (rc == 0) std::memcpy(out, edge.data() + (from - chunk_start), static_cast<size_t>(to - from));
    }
    if (rc != 0) break;
    *filled += static_cast<size_t>(to - from);
  }
  *at = n;
  return rc;
}

int SqliteBackend::read_into(const FileInfo &f, uint64_t pos, uint64_t end, char *dst, size_t cap,
                             size_t *filled) {
  *filled = 0;
  end = std::min(end, f.length);
  if (pos >= end || cap == 0) return 0;
  const uint64_t stop = f.read_stop(pos, end, cap);
  ReadSnapshot snap;
  int rc = read_snapshot(&snap);
  if (rc != 0) return rc;
  ChunkCursor chunks(*this, snap.db(), f);
  uint64_t at = 0;
  rc = read_span(chunks, f, pos, stop, dst, filled, &at);
  return end_snapshot(snap, chunks, rc, *filled > 0, at);
}

int SqliteBackend::get(const Query &q, uint64_t start, uint64_t end, uint64_t max_bytes, FileInfo *info,
                       std::string *out) {
  // The file row and its chunks from one snapshot: the file cannot be
  // deleted between the two.
  ReadSnapshot snap;
  int rc = read_snapshot(&snap);
  if (rc != 0) return rc;
  sqlite::Db &db = snap.db();
  if ((rc = find_in(db, q, info, &snap.hold)) != 0) return rc;
  end = std::min(end, info->length);
  start = std::min(start, end);
  if (end - start > max_bytes) return range_too_long(*info, end - start, max_bytes);
  out->resize(static_cast<size_t>(end - start));
  ChunkCursor chunks(*this, db, *info);
  size_t filled = 0;
  uint64_t at = 0;
  if (end > start) rc = read_span(chunks, *info, start, end, out->data(), &filled, &at);
  return end_snapshot(snap, chunks, rc, false, at);
}

int SqliteBackend::list(const ListQuery &q, ListPage *out) {
  std::string after_name;
  int64_t after_seq = -1;
  if (!q.cursor.empty()) {
    size_t dash = q.cursor.find('-');
    char *end = nullptr;
    if (dash == std::string::npos || !from_hex(std::string_view(q.cursor).substr(0, dash), &after_name) ||
        (after_seq = std::strtoll(q.cursor.c_str() + dash + 1, &end, 10)) < 0 || *end != '\0' ||
        dash + 1 == q.cursor.size())
      return set_error(HP_EINVAL, "blobs: list: cursor '", q.cursor, "' is not one this store gave out");
  }
  std::unique_ptr<ReaderLease> r;
  int rc = reader(&r);
  if (rc != 0) return rc;
  std::string upper = prefix_end(q.prefix);
  std::string sql =
      std::string("SELECT ") + kCols +
      " FROM hp_blob_files f WHERE f.filename >= ?1 AND (?2 = '' OR f.filename < ?2) AND (f.filename > "
      "?3 OR (f.filename = ?3 AND f.seq > ?4))";
  if (q.latest_only)
    sql += " AND f.seq = (SELECT max(f3.seq) FROM hp_blob_files f3 WHERE f3.filename = f.filename)";
  sql += " ORDER BY f.filename, f.seq LIMIT ?5";
  sqlite::Stmt *s = r->db->prepare(sql);
  if (!s) return r->db->prepare_error();
  s->bind(1, q.prefix).bind(2, upper).bind(3, after_name).bind(4, after_seq).bind(5, int64_t{q.limit} + 1);
  out->files.clear();
  out->next_cursor.clear();
  bool more = false;
  while ((rc = s->step()) == SQLITE_ROW) {
    if (out->files.size() == q.limit) {
      more = true;
      break;
    }
    FileInfo f;
    read_info(s, &f);
    out->files.push_back(std::move(f));
  }
  s->reset();
  if (rc < 0) return rc;
  if (more && !out->files.empty())
    out->next_cursor = to_hex(out->files.back().filename) + "-" + std::to_string(out->files.back().seq);
  return static_cast<int>(out->files.size());
}

int SqliteBackend::delete_file_rows(int64_t seq, int64_t ukey) {
  sqlite::Stmt *s = writer_->prepare("DELETE FROM hp_blob_files WHERE seq = ?1");
  if (!s) return writer_->prepare_error();
  s->bind(1, seq);
  int rc = s->step();
  s->reset();
  if (rc < 0) return rc;
  return ukey ? delete_chunks(ukey) : 0;
}

int SqliteBackend::remove_id(const std::string &id) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite::Txn txn(*writer_);
  int rc = txn.begin();
  if (rc != 0) return rc;
  sqlite::Stmt *s = writer_->prepare("SELECT seq, ukey FROM hp_blob_files WHERE id = ?1");
  if (!s) return writer_->prepare_error();
  s->bind(1, id);
  rc = s->step();
  int64_t seq = rc == SQLITE_ROW ? s->int64(0) : 0, ukey = rc == SQLITE_ROW ? s->int64(1) : 0;
  s->reset();
  if (rc < 0) return rc;
  if (rc != SQLITE_ROW) return 0;
  if ((rc = delete_file_rows(seq, ukey)) != 0) return rc;
  if ((rc = txn.commit()) < 0) return rc;
  if (ukey > 0) files_->remove(ukey);
  return 1;
}

int SqliteBackend::remove_name(const std::string &name) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite::Txn txn(*writer_);
  int rc = txn.begin();
  if (rc != 0) return rc;
  sqlite::Stmt *s = writer_->prepare("SELECT seq, ukey FROM hp_blob_files WHERE filename = ?1");
  if (!s) return writer_->prepare_error();
  s->bind(1, name);
  std::vector<std::pair<int64_t, int64_t>> rows;
  while ((rc = s->step()) == SQLITE_ROW) rows.emplace_back(s->int64(0), s->int64(1));
  s->reset();
  if (rc < 0) return rc;
  for (auto &[seq, ukey] : rows)
    if ((rc = delete_file_rows(seq, ukey)) != 0) return rc;
  if ((rc = txn.commit()) < 0) return rc;
  for (auto &[seq, ukey] : rows)
    if (ukey > 0) files_->remove(ukey);
  return static_cast<int>(rows.size());
}

int SqliteBackend::gc() {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite::Stmt *s = writer_->prepare("SELECT ukey, owner, aborted FROM hp_blob_uploads");
  if (!s) return writer_->prepare_error();
  std::vector<int64_t> dead;
  int rc;
  while ((rc = s->step()) == SQLITE_ROW)
    if (s->int64(2) || !process_alive(std::string(s->text(1)))) dead.push_back(s->int64(0));
  s->reset();
  if (rc < 0) return rc;
  int reclaimed = 0;
  for (int64_t ukey : dead) {
    sqlite::Txn txn(*writer_);
    if ((rc = txn.begin()) != 0) return rc;
    if ((rc = delete_chunks(ukey)) != 0) return rc;
    if (!(s = writer_->prepare("DELETE FROM hp_blob_uploads WHERE ukey = ?1"))) return writer_->prepare_error();
    s->bind(1, ukey);
    rc = s->step();
    s->reset();
    if (rc < 0) return rc;
    if ((rc = txn.commit()) != 0) return rc;
    files_->remove(ukey);
    reclaimed++;
  }
  // Chunk files that no row names: a delete or an abort that stopped
  // between its commit and the unlink.
  for (int64_t ukey : files_->list()) {
    if (!(s = writer_->prepare("SELECT (SELECT count(*) FROM hp_blob_files WHERE ukey = ?1) + "
                               "(SELECT count(*) FROM hp_blob_uploads WHERE ukey = ?1)")))
      return writer_->prepare_error();
    s->bind(1, ukey);
    rc = s->step();
    bool named = rc == SQLITE_ROW && s->int64(0) > 0;
    s->reset();
    if (rc < 0) return rc;
    if (!named) files_->remove(ukey);
  }
  return reclaimed;
}

}  // namespace hp::blobs
