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
  if (closed_.load()) return set_error(HP_EINVAL, "blob_reader_read_into: the reader is closed");
  auto e = std::make_shared<Into>();  // before taking a slot: out of memory here takes none
  int cur = busy_.load();
  do {
    if (cur == kExclusive) return set_error(HP_EINVAL, "blob_reader_read_into: a chunk read is pending");
    if (cur >= kIntoDepth)
      return set_error(HP_EINVAL, "blob_reader_read_into: ", std::to_string(kIntoDepth), " reads are pending");
  } while (!busy_.compare_exchange_weak(cur, cur + 1));
  e->buf = static_cast<char *>(buf);
  e->cap = std::min<size_t>(cap, INT_MAX);  // the count is the callback's int status
  e->cb = cb;
  e->data = data;
  auto self = shared_from_this();
  int rc = store_->on_loop([self, e](bool closing) {
    if (closing) {
      set_error(HP_ECLOSED, "blobs: the engine closed");
      return self->deliver_into(*e, HP_ECLOSED);
    }
    int grc = core::guard("blob_reader_read_into", [&] {
      self->into_.push_back(e);
      return 0;
    });
    if (grc < 0) return self->deliver_into(*e, grc);  // out of memory: this read fails
    self->chunk_reads_ = false;  // no fetching ahead for chunk reads meanwhile
    grc = core::guard("blob_reader_read_into", [&] {
      self->pump_into();
      return 0;
    });
    if (grc < 0) self->fail_queued(grc);  // out of memory: the reads not started fail
  });
  if (rc != 0) busy_.fetch_sub(1);
  return rc;
}

int Reader::start_read(const Pending &p) {
  if (closed_.load()) return set_error(HP_EINVAL, "blob_reader_read: the reader is closed");
  int idle = 0;
  if (!busy_.compare_exchange_strong(idle, kExclusive))
    return set_error(HP_EINVAL, "blob_reader_read: a read is already pending");
  auto self = shared_from_this();
  int rc = store_->on_loop([self, p](bool closing) {
    self->pending_ = p;
    self->chunk_reads_ = true;
    if (closing) return self->deliver(set_error(HP_ECLOSED, "blobs: the engine closed"), nullptr, 0);
    self->serve_guarded();
  });
  if (rc != 0) busy_.store(0);
  return rc;
}

void Reader::close() {
  closed_.store(true);
  // Drop buffered chunks on the loop, where they live.
  auto self = shared_from_this();
  store_->on_loop([self](bool) {
    if (!self->pending_ && self->into_.empty()) {
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
  if (!into_.empty()) return pump_into();  // a fetch for chunk reads landed
  if (!pending_) return;
  if (closed_.load()) return deliver(set_error(HP_ECANCELED, "blobs: the reader was closed"), nullptr, 0);
  if (pos_ >= end_) return deliver(0, nullptr, 0);
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

void Reader::pump_into() {
  // A fetch that answers inside read_into() (an engine closing, a Redis
  // store that is down) lands here again: the outer call goes on.
  if (pumping_) {
    pump_again_ = true;
    return;
  }
  pumping_ = true;
  struct Done {
    bool &flag;
    ~Done() { flag = false; }
  } done{pumping_};
  do {
    pump_again_ = false;
    pump_once();
  } while (pump_again_);
}

void Reader::pump_once() {
  // Chunks fetched ahead for chunk reads come first, copied.
  while (!into_.empty() && into_.front()->state == Into::kQueued && !ready_.empty()) {
    auto e = into_.front();
    into_.pop_front();
    copy_ready(*e);
  }
  if (!ready_.empty() || fetching_) return;  // runs again when the fetch lands
  bool busy = false;
  for (auto &e : into_) busy = busy || e->state != Into::kQueued;
  if (!busy) into_pos_ = pos_;
  auto self = shared_from_this();
  for (auto &e : into_) {
    if (e->state == Into::kStale) break;  // its new span comes first
    if (e->state != Into::kQueued) continue;
    if (closed_.load() || into_pos_ >= end_) {
      e->state = Into::kDone;
      e->rc = closed_.load() ? HP_ECANCELED : 0;
      if (e->rc < 0) e->why = "blobs: the reader was closed";
      continue;
    }
    e->from = into_pos_;
    e->stop = info_.read_stop(e->from, end_, e->cap);
    into_pos_ = e->stop;
    e->state = Into::kFetching;
    store_->read_into(info_, e->from, end_, e->buf, e->cap,
                      [self, e](int rc, size_t filled) { self->landed_into(e, rc, filled); });
  }
  flush_into();
}

void Reader::landed_into(const std::shared_ptr<Into> &e, int rc, size_t filled) {
  if (e->state == Into::kStale) {
    e->state = Into::kQueued;  // fetched for a span now wrong: again, from where the reader is
  } else {
    e->state = Into::kDone;
    e->rc = rc;
    e->filled = filled;
    if (rc < 0 && filled == 0) {
      try {
        e->why = hp_last_error();
      } catch (const std::bad_alloc &) {
      }
    }
  }
  int grc = core::guard("blob_reader_read_into", [&] {
    pump_into();
    return 0;
  });
  if (grc < 0 && !pumping_) fail_queued(grc);
}

void Reader::restart_into() {
  for (auto &q : into_) {
    if (q->state == Into::kFetching) q->state = Into::kStale;
    if (q->state == Into::kDone) q->state = Into::kQueued;
  }
  into_pos_ = pos_;
  pump_again_ = true;  // the reads sent back start again
}

void Reader::fail_queued(int rc) {
  bool queued = true;
  while (queued) {
    for (auto &q : into_)
      if (q->state == Into::kQueued) {
        q->state = Into::kDone;
        q->rc = rc;
      }
    flush_into();  // may send reads after a failure back to the queue
    queued = false;
    for (auto &q : into_) queued = queued || q->state == Into::kQueued;
  }
}

void Reader::flush_into() {
  while (!into_.empty() && into_.front()->state == Into::kDone) {
    auto e = into_.front();
    into_.pop_front();
    if (e->filled > 0) {
      pos_ += e->filled;
      if (pos_ < end_) next_fetch_ = pos_ / info_.chunk_size;
      if (e->from + e->filled != e->stop) restart_into();  // cut short by a failure: the next read names it
      deliver_into(*e, static_cast<int>(e->filled));
      continue;
    }
    if (e->rc < 0) {
      restart_into();
      if (e->why.empty())
        set_error(e->rc, "blobs: out of memory");
      else
        core::set_error_text(e->rc, e->why);
    }
    deliver_into(*e, e->rc);
  }
}

void Reader::copy_ready(Into &e) {
  const uint64_t cs = info_.chunk_size;
  size_t filled = 0;
  while (!ready_.empty() && filled < e.cap && pos_ < end_) {
    const std::string &chunk = ready_.front();
    uint64_t off = std::min<uint64_t>(pos_ % cs, chunk.size());
    uint64_t left = std::min<uint64_t>(chunk.size() - off, end_ - pos_);
    if (filled > 0 && left > e.cap - filled) break;  // whole chunks only, after the first
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, e.cap - filled));
    std::memcpy(e.buf + filled, chunk.data() + off, n);
    filled += n;
    pos_ += n;
    if (n < left) break;  // the caller's memory is full mid-chunk
    ready_.pop_front();
  }
  deliver_into(e, static_cast<int>(filled));
}

void Reader::deliver_into(Into &e, int status) {
  busy_.fetch_sub(1);
  auto &n = store_->counters();
  if (status > 0) n.bytes_out.fetch_add(static_cast<uint64_t>(status), std::memory_order_relaxed);
  if (status == HP_ECORRUPT) n.corrupt_reads.fetch_add(1, std::memory_order_relaxed);
  e.cb(status, e.data);
}

void Reader::fetch_ahead() {
  if (!chunk_reads_ || fetching_ || fetch_rc_ < 0 || closed_.load() || pos_ >= end_ || next_fetch_ > last_chunk_) return;
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
  busy_.store(0);
  auto &n = store_->counters();
  if (status >= 0) n.bytes_out.fetch_add(len, std::memory_order_relaxed);
  if (status == HP_ECORRUPT) n.corrupt_reads.fetch_add(1, std::memory_order_relaxed);
  // A failure's message is set by the caller.
  if (p.piece_cb)
    p.piece_cb(status, piece, p.data);
  else
    p.cb(status, buf, len, p.data);
}

}  // namespace hp::blobs
