#include "blobs/reader.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/error.h"
#include "core/guard.h"

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
  Pending p;
  p.cb = cb;
  p.data = data;
  return start_read(p);
}

int Reader::read_piece(hp_blob_piece_cb cb, void *data) {
  Pending p;
  p.piece_cb = cb;
  p.data = data;
  return start_read(p);
}

int Reader::read_into(void *buf, size_t cap, hp_blob_cb cb, void *data) {
  Pending p;
  p.into_cb = cb;
  p.buf = static_cast<char *>(buf);
  p.cap = std::min<size_t>(cap, INT_MAX);  // the count is the callback's int status
  p.data = data;
  return start_read(p);
}

int Reader::start_read(const Pending &p) {
  if (closed_.load()) return set_error(HP_EINVAL, "blob_reader_read: the reader is closed");
  if (reading_.exchange(true)) return set_error(HP_EINVAL, "blob_reader_read: a read is already pending");
  auto self = shared_from_this();
  int rc = store_->on_loop([self, p](bool closing) {
    self->pending_ = p;
    if (closing) return self->deliver(set_error(HP_ECLOSED, "blobs: the engine closed"), nullptr, 0);
    self->serve_guarded();
  });
  if (rc != 0) reading_.store(false);
  return rc;
}

void Reader::close() {
  closed_.store(true);
  // Drop buffered chunks on the loop, where they live.
  auto self = shared_from_this();
  store_->on_loop([self](bool) {
    if (!self->pending_) {
      self->ready_.clear();
      self->current_ = std::string();
    }
  });
}

void Reader::serve_guarded() {
  int rc = core::guard("blob_reader_read", [&] {
    serve();
    return 0;
  });
  if (rc < 0 && pending_) deliver(rc, nullptr, 0);  // out of memory: this read fails
}

void Reader::serve() {
  if (!pending_) return;
  if (closed_.load()) return deliver(set_error(HP_ECANCELED, "blobs: the reader was closed"), nullptr, 0);
  if (pos_ >= end_) return deliver(0, nullptr, 0);
  if (pending_.into_cb) return serve_into();
  if (ready_.empty()) {
    if (fetch_rc_ < 0) return deliver_fetch_failure();
    return fetch_ahead();  // serve() runs again when it lands
  }
  uint64_t cs = info_.chunk_size;
  uint64_t off = pos_ % cs;
  const uint64_t size = ready_.front().size();
  uint64_t len = std::min<uint64_t>(size - std::min<uint64_t>(off, size), end_ - pos_);
  if (pending_.piece_cb) {
    // The chunk goes to the caller whole (its bytes are not copied).
    auto piece = std::make_unique<hp_blob_piece>();
    piece->chunk = std::move(ready_.front());
    ready_.pop_front();
    piece->off = static_cast<size_t>(off);
    piece->len = static_cast<size_t>(len);
    pos_ += len;
    deliver(static_cast<int>(len), nullptr, len, piece.release());
    return fetch_ahead();
  }
  current_ = std::move(ready_.front());
  ready_.pop_front();
  pos_ += len;
  deliver(static_cast<int>(len), current_.data() + off, len);
  fetch_ahead();
}

void Reader::deliver_fetch_failure() {
  if (fetch_why_.empty())
    set_error(fetch_rc_, "blobs: out of memory");
  else
    core::set_error_text(fetch_rc_, fetch_why_);
  deliver(fetch_rc_, nullptr, 0);
}

void Reader::serve_into() {
  if (!ready_.empty()) return copy_ready();
  if (fetching_) return;  // serve() runs again when the fetch lands
  if (fetch_rc_ < 0) return deliver_fetch_failure();
  // One fetch for the chunks that fit: on SQLite read straight into the
  // caller's memory on the pool.
  fetching_ = true;
  auto self = shared_from_this();
  store_->read_into(info_, pos_, end_, pending_.buf, pending_.cap, [self](int rc, size_t filled) {
    self->fetching_ = false;
    if (filled == 0) return self->deliver(rc, nullptr, 0);  // a failure (its message set), or the end
    self->pos_ += filled;
    if (self->pos_ < self->end_) self->next_fetch_ = self->pos_ / self->info_.chunk_size;
    self->deliver(static_cast<int>(filled), nullptr, filled);
  });
}

void Reader::copy_ready() {
  const uint64_t cs = info_.chunk_size;
  size_t filled = 0;
  while (!ready_.empty() && filled < pending_.cap && pos_ < end_) {
    const std::string &chunk = ready_.front();
    uint64_t off = std::min<uint64_t>(pos_ % cs, chunk.size());
    uint64_t left = std::min<uint64_t>(chunk.size() - off, end_ - pos_);
    if (filled > 0 && left > pending_.cap - filled) break;  // whole chunks only, after the first
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, pending_.cap - filled));
    std::memcpy(pending_.buf + filled, chunk.data() + off, n);
    filled += n;
    pos_ += n;
    if (n < left) break;  // the caller's memory is full mid-chunk
    ready_.pop_front();
  }
  deliver(static_cast<int>(filled), nullptr, filled);
}

void Reader::fetch_ahead() {
  if (fetching_ || fetch_rc_ < 0 || closed_.load() || pos_ >= end_ || next_fetch_ > last_chunk_) return;
  if (ready_.size() > kBatch / 2) return;
  uint64_t count = std::min(kBatch, last_chunk_ - next_fetch_ + 1);
  fetching_ = true;
  auto self = shared_from_this();
  int queued = core::guard("blob_reader_read", [&] {
    store_->get_chunks(info_, next_fetch_, count, [self](int rc, std::vector<std::string> chunks) {
      self->fetching_ = false;
      if (rc >= 0) {
        rc = core::guard("blob_reader_read", [&] {
          for (auto &c : chunks) self->ready_.push_back(std::move(c));
          self->next_fetch_ += chunks.size();
          return 0;
        });
      }
      if (rc < 0) self->fetch_failed(rc);
      self->serve_guarded();
      if (self->fetch_rc_ == 0) self->fetch_ahead_guarded();
    });
    return 0;
  });
  if (queued < 0) {
    fetching_ = false;
    fetch_failed(queued);
    serve();  // a read waiting for this fetch gets the failure
  }
}

void Reader::fetch_ahead_guarded() {
  int rc = core::guard("blob_reader_read", [&] {
    fetch_ahead();
    return 0;
  });
  if (rc < 0) fetch_failed(rc);
}

void Reader::fetch_failed(int rc) {
  fetch_rc_ = rc;
  try {
    fetch_why_ = hp_last_error();
  } catch (const std::bad_alloc &) {
    fetch_why_.clear();  // serve() names out of memory
  }
}

void Reader::deliver(int status, const char *buf, size_t len, hp_blob_piece *piece) {
  Pending p = pending_;
  pending_ = Pending();
  reading_.store(false);
  auto &n = store_->counters();
  if (status >= 0) n.bytes_out.fetch_add(len, std::memory_order_relaxed);
  if (status == HP_ECORRUPT) n.corrupt_reads.fetch_add(1, std::memory_order_relaxed);
  // A failure's message is set by the caller.
  if (p.piece_cb)
    p.piece_cb(status, piece, p.data);
  else if (p.into_cb)
    p.into_cb(status, p.data);
  else
    p.cb(status, buf, len, p.data);
}

}  // namespace hp::blobs
