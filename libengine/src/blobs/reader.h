// A range read: one chunk per read, checked against its CRC32C, with the
// next chunk fetched while the caller handles this one (two chunks held).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "blobs/store.h"

namespace hp::blobs {

class Reader : public std::enable_shared_from_this<Reader> {
 public:
  Reader(std::shared_ptr<Store> store, FileInfo info, uint64_t start, uint64_t end);

  const hp_blob_stat *stat() const { return &stat_; }

  // Any thread; 0 (cb will run) or an error code with no callback.
  int read(hp_blob_data_cb cb, void *data);
  void close();

 private:
  struct Fetch {
    uint64_t n = 0;
    bool ready = false;
    int rc = 0;
    std::string why;
    std::string bytes;
  };
  // Loop thread only.
  void serve();
  void fetch(uint64_t n);
  void deliver(int status, const char *buf, size_t len);

  std::shared_ptr<Store> store_;
  FileInfo info_;
  hp_blob_stat stat_;
  uint64_t pos_, end_;
  std::atomic<bool> reading_{false};
  std::atomic<bool> closed_{false};
  hp_blob_data_cb cb_ = nullptr;
  void *cb_data_ = nullptr;
  std::unique_ptr<Fetch> next_;  // in flight or ready
  std::string current_;          // what the last callback borrowed
};

}  // namespace hp::blobs
