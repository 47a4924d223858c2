// Helpers shared by the fuzz targets: inputs as files, one engine per
// process (its own loop thread), waiting for a callback, and a reader that
// takes fields off the front of an input.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "hotpath.h"

namespace hp_fuzz {

// An anonymous file holding `bytes`; path() names it for open(2).
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = memfd_create("hp_fuzz", 0);
    if (fd_ >= 0 && !bytes.empty() && write(fd_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      close(fd_);
      fd_ = -1;
    }
    std::snprintf(path_, sizeof path_, "/proc/self/fd/%d", fd_);
  }
  ~MemFile() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const char *path() const { return path_; }

 private:
  int fd_ = -1;
  char path_[64];
};

// One engine with its own loop thread for the whole run (an engine per
// input would spend the run starting threads).
inline hp_engine *engine() {
  static hp_engine *e = [] {
    hp_engine *out = nullptr;
    return hp_engine_new(&out, nullptr) == 0 ? out : nullptr;
  }();
  return e;
}

// A completion the fuzzing thread waits for.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int status = 0;
  void finish(int s) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    done = true;
    cv.notify_all();
  }
  int wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  }
};

// Takes length-prefixed fields and single bytes off the front of an input.
class Reader {
 public:
  Reader(const uint8_t *data, size_t size) : p_(reinterpret_cast<const char *>(data)), left_(size) {}
  uint8_t byte() {
    if (!left_) return 0;
    left_--;
    return static_cast<uint8_t>(*p_++);
  }
  uint16_t u16() { return static_cast<uint16_t>(byte() << 8 | byte()); }
  // A field of up to 255 bytes (its length is the next byte).
  std::string_view field() {
    size_t n = byte();
    if (n > left_) n = left_;
    std::string_view out(p_, n);
    p_ += n;
    left_ -= n;
    return out;
  }
  std::string_view rest() {
    std::string_view out(p_, left_);
    p_ += left_;
    left_ = 0;
    return out;
  }
  size_t left() const { return left_; }

 private:
  const char *p_;
  size_t left_;
};

}  // namespace hp_fuzz
