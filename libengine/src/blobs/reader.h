// A range read: one chunk per read, each checked against its CRC32C. The
// reader fetches chunks ahead in batches (one query or MGET per batch) while
// the caller handles the current one, so at most kBatch * 3 / 2 chunks are
// held (and what the caller holds of them: a piece read hands a chunk over).
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>

#include "blobs/store.h"

// A piece of a file handed to the caller (hp_blob_reader_read_piece()):
// the chunk it lies in, owned until hp_blob_piece_free().
struct hp_blob_piece {
  std::string chunk;
  size_t off = 0;
  size_t len = 0;
};

namespace hp::blobs {

class Reader : public std::enable_shared_from_this<Reader> {
 public:
  // Chunks per fetch (one query or MGET); the next fetch starts once no
  // more than kBatch / 2 fetched chunks are left.
  static constexpr uint64_t kBatch = 8;
  // Reads into the caller's memory pending at once: each fetches its own
  // span as soon as it is asked for, and they answer in order.
  static constexpr int kIntoDepth = 4;

  Reader(std::shared_ptr<Store> store, FileInfo info, uint64_t start, uint64_t end);

  const hp_blob_stat *stat() const { return &stat_; }

  // Any thread; 0 (cb will run) or an error code with no callback.
  int read(hp_blob_data_cb cb, void *data);
  int read_piece(hp_blob_piece_cb cb, void *data);
  int read_into(void *buf, size_t cap, hp_blob_cb cb, void *data);
  void close();

 private:
  // Loop thread only.
  void serve();
  void serve_guarded();        // serve(); out of memory fails the pending read
  void fetch_ahead_guarded();  // fetch_ahead(); out of memory fails later reads
  void fetch_failed(int rc);   // keeps rc and the thread's message for serve()
  void deliver_fetch_failure();
  void fetch_ahead();
  // The pending chunk read, one kind of callback set.
  struct Pending {
    hp_blob_data_cb cb = nullptr;
    hp_blob_piece_cb piece_cb = nullptr;
    void *data = nullptr;
    explicit operator bool() const { return cb || piece_cb; }
  };
  int start_read(const Pending &p);
  // A read into the caller's memory, and the span [from, stop) it fetches.
  struct Into {
    char *buf;
    size_t cap;
    hp_blob_cb cb;
    void *data;
    enum State { kQueued, kFetching, kStale, kDone } state = kQueued;  // kStale: fetching a span now wrong
    uint64_t from = 0, stop = 0;
    int rc = 0;
    size_t filled = 0;
    std::string why;  // the failure's message, kept until its turn
  };
  // Loop thread: copies chunks a chunk read fetched ahead to the first
  // read, starts the fetch of every read queued (in order), answers those
  // done from the front.
  void pump_into();
  void pump_once();
  void landed_into(const std::shared_ptr<Into> &e, int rc, size_t filled);
  void flush_into();
  void copy_ready(Into &e);
  void restart_into();  // the spans after pos_ were wrong: fetch them again
  void fail_queued(int rc);  // out of memory: the reads not fetching fail
  void deliver_into(Into &e, int status);
  // Answers the pending read: a failure, the end (0), or (status > 0) the
  // bytes at `buf` or, for a piece read, `piece`.
  void deliver(int status, const char *buf, size_t len, hp_blob_piece *piece = nullptr);

  std::shared_ptr<Store> store_;
  FileInfo info_;
  hp_blob_stat stat_;
  uint64_t pos_, end_;
  uint64_t last_chunk_ = 0;  // the range's last chunk
  // 0 idle, kExclusive a chunk read pending, else reads into memory pending.
  static constexpr int kExclusive = 1 << 20;
  std::atomic<int> busy_{0};
  std::atomic<bool> closed_{false};
  Pending pending_;
  std::deque<std::shared_ptr<Into>> into_;
  uint64_t into_pos_ = 0;  // where the next read into memory's span starts
  bool pumping_ = false, pump_again_ = false;
  bool chunk_reads_ = false;  // the last read was a chunk read: fetch ahead for the next
  std::deque<std::string> ready_;  // fetched chunks, in order, from pos_'s chunk
  uint64_t next_fetch_ = 0;        // the first chunk not fetched yet
  bool fetching_ = false;
  int fetch_rc_ = 0;  // a failed fetch, reported when the reader gets there
  std::string fetch_why_;
  std::string current_;  // what the last callback borrowed
};

}  // namespace hp::blobs
