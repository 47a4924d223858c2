// What the blob store's backends exchange with the writer, the reader and
// the C API.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hotpath.h"

namespace hp::blobs {

// A committed file's metadata.
struct FileInfo {
  std::string id;
  std::string filename;
  uint64_t length = 0;
  uint32_t chunk_size = 0;
  int64_t upload_date_ms = 0;
  std::string content_type;
  std::string sha256;
  std::string metadata;
  int64_t revision = 0;
  int64_t seq = 0;   // commit order, store-wide
  int64_t ukey = 0;  // SQLite: where the chunks live (0: no chunks)

  uint64_t chunk_count() const { return chunk_size ? (length + chunk_size - 1) / chunk_size : 0; }
  // Bytes of chunk n (the last one may be short).
  uint64_t chunk_length(uint64_t n) const {
    uint64_t start = n * chunk_size;
    return start >= length ? 0 : (length - start < chunk_size ? length - start : chunk_size);
  }
  // Where a read of at most `cap` bytes from `pos` stops (hp_blob_reader_read_into()):
  // at the range's end or the last chunk boundary that fits, or after `cap`
  // bytes when that is less than what is left of pos's chunk.
  uint64_t read_stop(uint64_t pos, uint64_t end, uint64_t cap) const {
    uint64_t stop = end - pos < cap ? end : pos + cap;
    if (stop < end && stop / chunk_size > pos / chunk_size) stop = stop / chunk_size * chunk_size;
    return stop;
  }
  // A view for the C API; valid while this FileInfo lives unchanged.
  hp_blob_stat stat() const {
    hp_blob_stat s;
    s.version = HP_BLOB_STAT_VERSION;
    s.id = id.c_str();
    s.filename = filename.c_str();
    s.length = length;
    s.chunk_size = chunk_size;
    s.upload_date_ms = upload_date_ms;
    s.content_type = content_type.c_str();
    s.sha256 = sha256.c_str();
    s.metadata_json = metadata.c_str();
    s.revision = revision;
    return s;
  }
};

// Which file: by id, or by filename and revision (-1 latest, 0 first).
struct Query {
  std::string id;
  std::string filename;
  int64_t revision = -1;
};

struct ListQuery {
  std::string prefix;
  std::string cursor;  // opaque, from a previous page
  uint32_t limit = 100;
  bool latest_only = false;
};

struct ListPage {
  std::vector<FileInfo> files;
  std::string next_cursor;  // empty on the last page
};

// An upload in progress, as a backend tracks it.
struct Upload {
  std::string id;
  int64_t ukey = 0;         // SQLite: set by the first chunk
  uint64_t chunks = 0;      // chunks stored so far
  uint32_t chunk_size = 0;  // SQLite: where chunk n lies in the upload's chunk file
};

// Completions run on the loop thread; on failure, hp_last_error() on that
// thread holds the detail while they run.
using Done = std::function<void(int status)>;
using InfoDone = std::function<void(int status, FileInfo info)>;
using ChunksDone = std::function<void(int status, std::vector<std::string> chunks)>;
using ListDone = std::function<void(int status, ListPage page)>;

// Names a damaged chunk the same way on every backend.
int corrupt_chunk(const std::string &id, uint64_t n, const char *what);
// HP_ELIMIT for a whole read (hp_blobs_get()) of more than max_bytes.
int range_too_long(const FileInfo &f, uint64_t bytes, uint64_t max_bytes);

}  // namespace hp::blobs
