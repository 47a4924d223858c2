// The SQLite backend: blocking calls, safe from any thread, meant for the
// libuv thread pool. One writer connection behind a mutex (writes of one
// process queue here instead of spinning on SQLite's lock) and a pool of
// reader connections (WAL: readers never wait for the writer).
//
// Tables: hp_blob_files (one row per committed file, seq = commit order),
// hp_blob_uploads (uploads in progress and who writes them) and
// hp_blob_chunks, whose rowid is (upload key << 32 | chunk index), so a
// chunk is one rowid lookup and a file's chunks are one rowid range.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "blobs/types.h"
#include "sqlite/db.h"

namespace hp::blobs {

class SqliteBackend {
 public:
  static int open(const std::string &path, uint32_t timeout_ms, std::unique_ptr<SqliteBackend> *out);

  // Stores chunk n of `u`; the first chunk registers the upload.
  int put_chunk(Upload &u, uint64_t n, std::string_view data, uint32_t crc);
  // Publishes the file; fills seq, upload date, revision and ukey of `info`.
  int commit(const Upload &u, FileInfo *info);
  int abort(const Upload &u);
  int find(const Query &q, FileInfo *out);
  // Chunk n of `f`, checked against its CRC32C and expected length.
  int get_chunk(const FileInfo &f, uint64_t n, std::string *out);
  int list(const ListQuery &q, ListPage *out);
  int remove_id(const std::string &id);        // 1 or 0
  int remove_name(const std::string &name);    // files deleted
  int gc();                                    // uploads reclaimed

 private:
  SqliteBackend() = default;
  // A reader connection, returned to the pool when the lease ends.
  struct ReaderLease {
    SqliteBackend *owner;
    std::unique_ptr<sqlite::Db> db;
    ~ReaderLease();
  };
  int reader(std::unique_ptr<ReaderLease> *out);
  int delete_file_rows(int64_t seq, int64_t ukey);
  int delete_chunks(int64_t ukey);

  std::string path_;
  sqlite::OpenOptions options_;
  std::string owner_;
  std::mutex write_mu_;
  std::unique_ptr<sqlite::Db> writer_;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> idle_readers_;
};

}  // namespace hp::blobs
