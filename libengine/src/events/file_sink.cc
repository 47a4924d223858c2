#include "events/file_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "events/events.h"

namespace hp::events {

FileSink::FileSink(std::string path, const hp_events_file_options &opts, uint32_t retry_ms)
    : path_(std::move(path)), opts_(opts), retry_ms_(retry_ms) {}

FileSink::~FileSink() { drain_and_close(); }

int FileSink::open_file() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    return core::set_sys_error(HP_EIO, err, "open", path_, "events: cannot open '", path_, "': ", strerror(err));
  }
  struct stat st;
  size_ = (fstat(fd, &st) == 0) ? static_cast<uint64_t>(st.st_size) : 0;
  fd_ = fd;
  return 0;
}

int FileSink::start(Progress *progress) {
  progress_ = progress;
  int rc = open_file();
  if (rc < 0) return rc;
  last_sync_ms_ = now_ms();
  thread_ = std::thread([this] { run(); });
  return 0;
}

void FileSink::submit(Batch &&batch) {
  uint64_t count = batch.count;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(batch));  // strong guarantee: a throw leaves batch
  }
  progress_->queued.fetch_add(count, std::memory_order_relaxed);
  cv_.notify_one();
}

int FileSink::sync_now() {
  if (!dirty_ || fd_ < 0) return 0;
  if (::fsync(fd_) != 0) {
    int err = errno;
    return core::set_sys_error(HP_EIO, err, "fsync", path_, "events: fsync '", path_, "': ", strerror(err));
  }
  dirty_ = false;
  last_sync_ms_ = now_ms();
  return 0;
}

// PATH.(k-1) -> PATH.k for k = keep .. 2, PATH -> PATH.1, then a new PATH.
int FileSink::rotate() {
  int rc = sync_now();
  if (rc < 0) return rc;
  ::close(fd_);
  fd_ = -1;
  uint32_t keep = opts_.keep_files;
  if (keep == 0) {
    ::unlink(path_.c_str());
  } else {
    for (uint32_t k = keep; k >= 2; k--) {
      std::string from = path_ + "." + std::to_string(k - 1);
      std::string to = path_ + "." + std::to_string(k);
      ::rename(from.c_str(), to.c_str());  // a missing one is fine
    }
    if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0 && errno != ENOENT) {
      int err = errno;
      return core::set_sys_error(HP_EIO, err, "rename", path_, "events: rotate '", path_, "': ", strerror(err));
    }
  }
  progress_->rotations.fetch_add(1, std::memory_order_relaxed);
  return open_file();
}

int FileSink::write_batch(const Batch &b) {
  if (fd_ < 0) {
    int rc = open_file();
    if (rc < 0) return rc;
  }
  if (opts_.rotate_bytes && size_ > 0 && size_ + b.data.size() > opts_.rotate_bytes) {
    int rc = rotate();
    if (rc < 0) return rc;
  }
  const char *p = b.data.data();
  size_t left = b.data.size();
  while (left) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      // A partial batch was appended: cut the file back so a retry does not
      // duplicate lines.
      if (left != b.data.size()) (void)!::ftruncate(fd_, static_cast<off_t>(size_));
      return core::set_sys_error(HP_EIO, err, "write", path_, "events: write '", path_, "': ", strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += b.data.size();
  dirty_ = true;
  if (opts_.fsync == HP_EVENTS_FSYNC_BATCH ||
      (opts_.fsync == HP_EVENTS_FSYNC_INTERVAL && now_ms() - last_sync_ms_ >= static_cast<int64_t>(opts_.fsync_ms))) {
    int rc = sync_now();
    if (rc < 0) return rc;
  }
  return 0;
}

void FileSink::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stop_) break;
      // Interval fsync also covers a quiet period after the last batch.
      if (opts_.fsync == HP_EVENTS_FSYNC_INTERVAL && dirty_) {
        cv_.wait_for(lock, std::chrono::milliseconds(opts_.fsync_ms));
        if (queue_.empty() && dirty_ && now_ms() - last_sync_ms_ >= static_cast<int64_t>(opts_.fsync_ms)) {
          lock.unlock();
          sync_now();
          lock.lock();
        }
      } else {
        cv_.wait(lock);
      }
      continue;
    }
    Batch &b = queue_.front();
    bool stopping = stop_;
    lock.unlock();
    int rc = write_batch(b);
    lock.lock();
    if (rc == 0) {
      Batch done = std::move(queue_.front());
      queue_.pop_front();
      progress_->queued.fetch_sub(done.count, std::memory_order_relaxed);
      progress_->written.fetch_add(done.count, std::memory_order_relaxed);
      progress_->batches.fetch_add(1, std::memory_order_relaxed);
      progress_->written_seq.store(done.seq_end, std::memory_order_release);
      progress_->last_status.store(0, std::memory_order_relaxed);
    } else {
      progress_->failed(rc);
      if (stopping) {
        // Closing: one more try was made; what is left is lost, and counted.
        final_status_ = rc;
        for (Batch &left : queue_) {
          progress_->queued.fetch_sub(left.count, std::memory_order_relaxed);
          progress_->dropped.fetch_add(left.count, std::memory_order_relaxed);
          progress_->written_seq.store(left.seq_end, std::memory_order_release);
        }
        queue_.clear();
      } else {
        // Keep the batch and retry after a pause (new batches queue behind).
        lock.unlock();
        if (progress_->notify) progress_->notify();
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(retry_ms_), [&] { return stop_; });
        continue;
      }
    }
    lock.unlock();
    if (progress_->notify) progress_->notify();
    lock.lock();
  }
  lock.unlock();
  int rc = sync_now();
  if (rc < 0 && final_status_ == 0) final_status_ = rc;
}

int FileSink::drain_and_close() {
  std::lock_guard<std::mutex> once(close_mu_);
  if (closed_) return final_status_;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    if (::close(fd_) != 0 && final_status_ == 0) {
      int err = errno;
      final_status_ = core::set_sys_error(HP_EIO, err, "close", path_, "events: close '", path_, "': ", strerror(err));
    }
    fd_ = -1;
  }
  return final_status_;
}

}  // namespace hp::events
