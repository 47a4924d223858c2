#include "blobs/writer.h"

#include <algorithm>

#include "blobs/crc32c.h"
#include "blobs/file_id.h"
#include "core/error.h"

namespace hp::blobs {

using core::set_error;

Writer::Writer(std::shared_ptr<Store> store, std::string filename, std::string content_type, std::string metadata,
               uint32_t chunk_size)
    : store_(std::move(store)), sha_(std::make_unique<Sha256>()) {
  upload_.id = new_file_id();
  info_.id = upload_.id;
  info_.filename = std::move(filename);
  info_.content_type = std::move(content_type);
  info_.metadata = std::move(metadata);
  info_.chunk_size = chunk_size;
}

int Writer::write(const void *buf, size_t len, hp_blob_cb cb, void *data) {
  if (phase_.load() != Open) return set_error(HP_EINVAL, "blob_writer_write: the writer was committed or aborted");
  PendingWrite w{std::string(static_cast<const char *>(buf ? buf : ""), len), 0, cb, data};
  auto self = shared_from_this();
  return store_->on_loop([self, w = std::move(w)](bool closing) mutable {
    if (closing) {
      set_error(HP_ECLOSED, "blobs: the engine closed");
      return w.cb(HP_ECLOSED, w.data);
    }
    self->writes_.push_back(std::move(w));
    self->pump();
  });
}

int Writer::commit(hp_blob_stat_cb cb, void *data) {
  int open = Open;
  if (!phase_.compare_exchange_strong(open, Committing))
    return set_error(HP_EINVAL, "blob_writer_commit: commit or abort was already called");
  auto self = shared_from_this();
  return store_->on_loop([self, cb, data](bool closing) {
    if (closing) {
      set_error(HP_ECLOSED, "blobs: the engine closed");
      return cb(HP_ECLOSED, nullptr, data);
    }
    self->commit_cb_ = cb;
    self->commit_data_ = data;
    self->pump();
  });
}

int Writer::abort(hp_blob_cb cb, void *data) {
  int open = Open;
  if (!phase_.compare_exchange_strong(open, Aborting))
    return set_error(HP_EINVAL, "blob_writer_abort: commit or abort was already called");
  auto self = shared_from_this();
  return store_->on_loop([self, cb, data](bool closing) {
    if (closing) {
      set_error(HP_ECLOSED, "blobs: the engine closed");
      if (cb) cb(HP_ECLOSED, data);
      return;
    }
    self->abort_cb_ = cb;
    self->abort_data_ = data;
    self->abort_requested_ = true;
    self->fail(HP_ECANCELED, "blobs: upload " + self->upload_.id + " was aborted");
  });
}

void Writer::close() {
  int open = Open;
  if (!phase_.compare_exchange_strong(open, Aborting)) return;
  auto self = shared_from_this();
  store_->on_loop([self](bool closing) {
    if (closing) return;
    self->abort_requested_ = true;
    self->fail(HP_ECANCELED, "blobs: upload " + self->upload_.id + " was closed before its commit");
  });
}

void Writer::pump() {
  auto self = shared_from_this();  // a callback may close the handle
  const size_t chunk = info_.chunk_size;
  while (!writes_.empty()) {
    PendingWrite &w = writes_.front();
    if (failed_ == 0) {
      while (w.off < w.bytes.size()) {
        if (filling_.size() == chunk) {
          if (sealed_.size() >= 2) break;
          sealed_.push_back(std::move(filling_));
          filling_ = std::string();
        }
        if (filling_.capacity() < chunk) filling_.reserve(chunk);
        size_t take = std::min(chunk - filling_.size(), w.bytes.size() - w.off);
        filling_.append(w.bytes, w.off, take);
        w.off += take;
        info_.length += take;
      }
      if (filling_.size() == chunk && sealed_.size() < 2) {
        sealed_.push_back(std::move(filling_));
        filling_ = std::string();
      }
      if (w.off < w.bytes.size()) break;
    }
    hp_blob_cb cb = w.cb;
    void *data = w.data;
    writes_.pop_front();
    if (failed_) core::set_error_text(failed_, fail_why_);
    cb(failed_, data);
  }
  store_next();
  finish();
}

void Writer::store_next() {
  if (storing_ || sealed_.empty() || failed_) return;
  storing_ = true;
  uint64_t n = next_chunk_++;
  struct Result {
    int rc = 0;
    std::string why;
    uint32_t crc = 0;
  };
  auto r = std::make_shared<Result>();
  auto self = shared_from_this();
  SqliteBackend *sql = store_->sqlite();
  // The deque keeps the front element in place while others are added.
  const std::string *bytes = &sealed_.front();
  store_->engine()->queue_work(
      [self, r, n, sql, bytes] {
        self->sha_->update(bytes->data(), bytes->size());
        r->crc = crc32c(0, bytes->data(), bytes->size());
        if (sql) {
          r->rc = sql->put_chunk(self->upload_, n, *bytes, r->crc);
          if (r->rc < 0) r->why = hp_last_error();
        }
      },
      [self, r, n, sql, bytes](int status) {
        if (status < 0) return self->chunk_stored(status, "blobs: the engine closed during the upload");
        if (sql || self->failed_) return self->chunk_stored(r->rc, r->why);
        self->store_->redis()->put_chunk(self->upload_, n, *bytes, r->crc, [self](int rc) {
          self->chunk_stored(rc, rc < 0 ? hp_last_error() : "");
        });
      });
}

void Writer::chunk_stored(int rc, const std::string &why) {
  storing_ = false;
  if (rc < 0) {
    fail(rc, why);
    return;
  }
  if (!sealed_.empty()) sealed_.pop_front();
  pump();
}

void Writer::fail(int rc, std::string why) {
  if (!failed_) {
    failed_ = rc;
    fail_why_ = std::move(why);
  }
  // Keep the chunk being stored, if any: the pool may still read it.
  while (sealed_.size() > (storing_ ? 1u : 0u)) sealed_.pop_back();
  filling_ = std::string();
  pump();
}

void Writer::finish() {
  if (finishing_ || storing_) return;
  if (failed_) {
    // Nothing in flight: clean up once, then answer commit and abort.
    if (!writes_.empty()) return;
    bool answer_commit = commit_cb_ != nullptr;
    if (!answer_commit && !abort_requested_) return;
    finishing_ = true;
    auto self = shared_from_this();
    store_->abort(upload_, [self](int rc) {
      std::string why = rc < 0 ? hp_last_error() : "";
      if (self->commit_cb_) {
        core::set_error_text(self->failed_, self->fail_why_);
        self->commit_cb_(self->failed_, nullptr, self->commit_data_);
        self->commit_cb_ = nullptr;
      }
      if (self->abort_cb_) {
        if (rc < 0) core::set_error_text(rc, why);
        self->abort_cb_(rc < 0 ? rc : 0, self->abort_data_);
        self->abort_cb_ = nullptr;
      }
    });
    return;
  }
  if (!commit_cb_ || !writes_.empty()) return;
  if (!filling_.empty()) {
    sealed_.push_back(std::move(filling_));
    filling_ = std::string();
    store_next();
    return;
  }
  if (!sealed_.empty()) {
    store_next();
    return;
  }
  finishing_ = true;
  info_.sha256 = sha_->hex();
  auto self = shared_from_this();
  store_->commit(upload_, info_, [self](int rc, FileInfo info) {
    hp_blob_stat_cb cb = self->commit_cb_;
    self->commit_cb_ = nullptr;
    if (rc < 0) {
      std::string why = hp_last_error();
      // Failed to publish: its chunks must not stay behind.
      self->store_->abort(self->upload_, [self, cb, rc, why](int) {
        core::set_error_text(rc, why);
        cb(rc, nullptr, self->commit_data_);
      });
      return;
    }
    hp_blob_stat st = info.stat();
    cb(0, &st, self->commit_data_);
  });
}

}  // namespace hp::blobs
