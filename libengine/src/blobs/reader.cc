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
  if (info_.chunk_size && end_ > pos_) {
    next_fetch_ = pos_ / info_.chunk_size;
    last_chunk_ = (end_ - 1) / info_.chunk_size;
  }
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
      self->ready_.clear();
      self->current_ = std::string();
    }
  });
}

void Reader::serve() {
  if (!cb_) return;
  if (closed_.load()) return deliver(set_error(HP_ECANCELED, "blobs: the reader was closed"), nullptr, 0);
  if (pos_ >= end_) return deliver(0, nullptr, 0);
  if (ready_.empty()) {
    if (fetch_rc_ < 0) {
      core::set_error_text(fetch_rc_, fetch_why_);
      return deliver(fetch_rc_, nullptr, 0);
    }
    return fetch_ahead();  // serve() runs again when it lands
  }
  uint64_t cs = info_.chunk_size;
  current_ = std::move(ready_.front());
  ready_.pop_front();
  uint64_t off = pos_ % cs;
  uint64_t len = std::min<uint64_t>(current_.size() - std::min<uint64_t>(off, current_.size()), end_ - pos_);
  pos_ += len;
  deliver(static_cast<int>(len), current_.data() + off, len);
  fetch_ahead();
}

void Reader::fetch_ahead() {
  if (fetching_ || fetch_rc_ < 0 || closed_.load() || pos_ >= end_ || next_fetch_ > last_chunk_) return;
  if (ready_.size() >= 2) return;
  uint64_t count = std::min(kBatch, last_chunk_ - next_fetch_ + 1);
  fetching_ = true;
  auto self = shared_from_this();
  store_->get_chunks(info_, next_fetch_, count, [self](int rc, std::vector<std::string> chunks) {
    self->fetching_ = false;
    if (rc < 0) {
      self->fetch_rc_ = rc;
      self->fetch_why_ = hp_last_error();
    } else {
      self->next_fetch_ += chunks.size();
      for (auto &c : chunks) self->ready_.push_back(std::move(c));
    }
    self->serve();
    self->fetch_ahead();
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
