#include "blobs/reader.h"

#include <algorithm>

#include "core/error.h"

namespace hp::blobs {

using core::set_error;

Reader::Reader(std::shared_ptr<Store> store, FileInfo info, uint64_t start, uint64_t end)
    : store_(std::move(store)), info_(std::move(info)) {
  stat_ = info_.stat();
  end_ = std::min(end, info_.length);
  pos_ = std::min(start, end_);
}

int Reader::read(hp_blob_data_cb cb, void *data) {
  if (closed_.load()) return set_error(HP_EINVAL, "blob_reader_read: the reader is closed");
  if (reading_.exchange(true)) return set_error(HP_EINVAL, "blob_reader_read: a read is already pending");
  auto self = shared_from_this();
  int rc = store_->on_loop([self, cb, data](bool closing) {
    self->cb_ = cb;
    self->cb_data_ = data;
    if (closing) return self->deliver(set_error(HP_ECLOSED, "blobs: the engine closed"), nullptr, 0);
    self->serve();
  });
  if (rc != 0) reading_.store(false);
  return rc;
}

void Reader::close() {
  closed_.store(true);
  // Drop buffered chunks on the loop, where they live.
  auto self = shared_from_this();
  store_->on_loop([self](bool) {
    if (!self->cb_) {
      self->current_ = std::string();
    }
  });
}

void Reader::serve() {
  if (!cb_) return;
  if (closed_.load()) return deliver(set_error(HP_ECANCELED, "blobs: the reader was closed"), nullptr, 0);
  if (pos_ >= end_) return deliver(0, nullptr, 0);
  uint64_t cs = info_.chunk_size;
  uint64_t n = pos_ / cs;
  if (!next_) return fetch(n);
  if (!next_->ready) return;  // fetch() calls back here
  std::unique_ptr<Fetch> f = std::move(next_);
  if (f->rc < 0) {
    core::set_error_text(f->rc, f->why);
    return deliver(f->rc, nullptr, 0);
  }
  current_ = std::move(f->bytes);
  uint64_t off = pos_ - n * cs;
  uint64_t len = std::min<uint64_t>(current_.size() - off, end_ - pos_);
  pos_ += len;
  deliver(static_cast<int>(len), current_.data() + off, len);
  // Read ahead while the caller works on this piece.
  if (pos_ < end_ && !next_ && !closed_.load()) fetch(pos_ / cs);
}

void Reader::fetch(uint64_t n) {
  next_ = std::make_unique<Fetch>();
  next_->n = n;
  Fetch *f = next_.get();
  auto self = shared_from_this();
  store_->get_chunk(info_, n, [self, f](int rc, std::string bytes) {
    if (self->next_.get() != f) return;
    f->ready = true;
    f->rc = rc;
    if (rc < 0) f->why = hp_last_error();
    f->bytes = std::move(bytes);
    self->serve();
  });
}

void Reader::deliver(int status, const char *buf, size_t len) {
  hp_blob_data_cb cb = cb_;
  void *data = cb_data_;
  cb_ = nullptr;
  std::string why = status < 0 ? hp_last_error() : "";
  reading_.store(false);
  if (status < 0) core::set_error_text(status, why);
  cb(status, buf, len, data);
}

}  // namespace hp::blobs
