#include "blobs/writer.h"

#include <algorithm>

#include "blobs/crc32c.h"
#include "blobs/file_id.h"
#include "core/error.h"
#include "core/pool_job.h"

namespace hp::blobs {

using core::set_error;

Writer::Writer(std::shared_ptr<Store> store, std::string filename, std::string content_type,
               std::string metadata, const Options &options)
    : store_(std::move(store)),
      sha_(options.sha256 ? std::make_unique<Sha256>() : nullptr),
      held_(options.held) {
  const uint32_t chunk_size = options.chunk_size;
  upload_.id = new_file_id();
  upload_.chunk_size = chunk_size;
  info_.id = upload_.id;
  info_.filename = std::move(filename);
  info_.content_type = std::move(content_type);
  info_.metadata = std::move(metadata);
  info_.chunk_size = chunk_size;
}

int Writer::write(const void *buf, size_t len, hp_blob_cb cb, void *data) {
  if (phase_.load() != Open)
    return set_error(HP_EINVAL, "blob_writer_write: the writer was committed or aborted");
  PendingWrite w{static_cast<const char *>(buf), len, 0, cb, data};
  auto self = shared_from_this();
  return store_->on_loop([self, w = std::move(w)](bool closing) mutable {
    if (closing) {
      set_error(HP_ECLOSED, "blobs: the engine closed");
      return w.cb(HP_ECLOSED, w.data);
    }
    if (core::guard("blob_writer_write", [&] {
          self->writes_.push_back(w);
          return 0;
        }) < 0)
      return w.cb(HP_ENOMEM, w.data);
    self->guarded([&] { self->pump(); });
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
    self->guarded([&] { self->pump(); });
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
    self->guarded([&] { self->fail(HP_ECANCELED, "blobs: upload " + self->upload_.id + " was aborted"); });
  });
}

void Writer::close() {
  int open = Open;
  if (!phase_.compare_exchange_strong(open, Aborting)) return;
  auto self = shared_from_this();
  store_->on_loop([self](bool closing) {
    if (closing) return;
    self->abort_requested_ = true;
    self->guarded([&] { self->fail(HP_ECANCELED, "blobs: upload " + self->upload_.id + " was closed before its commit"); });
  });
}

// Work for the pool is handed out before the write callbacks run: in Node
// a callback runs the stream's JavaScript (and the next write) before it
// returns, which would otherwise keep the hashing and storing stages idle.
void Writer::pump() {
  auto self = shared_from_this();  // a callback may close the handle
  dispatch();
  struct Answer {
    hp_blob_cb cb;
    void *data;
  };
  std::vector<Answer> answers;
  // Reserved first: a write taken off the queue always gets its answer.
  answers.reserve(writes_.size());
  const size_t chunk = info_.chunk_size;
  auto room = [&] { return sealed_.size() + in_flight_ < held_; };
  while (!writes_.empty()) {
    PendingWrite &w = writes_.front();
    if (failed_ == 0) {
      while (w.off < w.len) {
        if (filling_.size() == chunk) {
          if (!room()) break;
          sealed_.push_back(std::move(filling_));
          filling_ = fresh();
        }
        if (filling_.capacity() < chunk) filling_.reserve(chunk);
        size_t take = std::min(chunk - filling_.size(), w.len - w.off);
        filling_.append(w.bytes + w.off, take);
        w.off += take;
        info_.length += take;
      }
      if (filling_.size() == chunk && room()) {
        sealed_.push_back(std::move(filling_));
        filling_ = fresh();
      }
      if (w.off < w.len) break;
    }
    answers.push_back({w.cb, w.data});
    writes_.pop_front();
  }
  // The writes taken off the queue are answered whatever happens here.
  bool no_memory = false;
  try {
    dispatch();
  } catch (const std::bad_alloc &) {
    no_memory = true;
    if (!failed_) failed_ = HP_ENOMEM;
  }
  for (const Answer &a : answers) {
    if (failed_) report_failure();
    a.cb(failed_, a.data);
  }
  if (no_memory) return out_of_memory();
  finish();
}

void Writer::dispatch() {
  // While a commit waits, the last chunks go with it (SQLite) instead.
  if (commit_cb_ && writes_.empty() && store_->sqlite()) return;
  hash_next();
  store_next();
}

std::shared_ptr<Writer::Batch> Writer::take_sealed(bool with_filling) {
  auto b = std::make_shared<Batch>();
  b->first = next_chunk_;
  while (!sealed_.empty()) {
    b->chunks.push_back(std::move(sealed_.front()));
    sealed_.pop_front();
  }
  if (with_filling && !filling_.empty()) {
    b->chunks.push_back(std::move(filling_));
    filling_ = std::string();
  }
  next_chunk_ += b->chunks.size();
  return b;
}

void Writer::sha(Batch &b) {
  if (sha_)
    for (size_t i = b.sha_done; i < b.chunks.size(); i++)
      sha_->update(b.chunks[i].data(), b.chunks[i].size());
  b.sha_done = b.chunks.size();
}

std::string Writer::file_sha256() const {
  return sha_ ? sha_->hex() : "";
}

void Writer::crc(Batch &b) {
  for (size_t i = b.crcs.size(); i < b.chunks.size(); i++)
    b.crcs.push_back(crc32c(0, b.chunks[i].data(), b.chunks[i].size()));
}

// Hashing and storing are two stages on the thread pool: the chunks of one
// batch are hashed while the batch before them is being stored. SQLite jobs
// take each chunk's CRC32C themselves, so without a file hash there is no
// hashing stage; Redis chunks are sent from the loop and need theirs first.
void Writer::hash_next() {
  if (hashing_ || sealed_.empty() || failed_) return;
  auto batch = take_sealed(false);
  in_flight_ += batch->chunks.size();
  SqliteBackend *sql = store_->sqlite();
  if (sql && !sha_) {
    hashed_.push_back(batch);
    return;
  }
  hashing_ = true;
  auto self = shared_from_this();
  try {
    store_->engine()->queue_work(
        [self, batch, sql] {
          self->sha(*batch);
          if (!sql) crc(*batch);
        },
        [self, batch](int status) {
          self->hashing_ = false;
          if (status < 0) self->in_flight_ -= batch->chunks.size();
          self->guarded([&] {
            if (status < 0) return self->fail(status, "blobs: the engine closed during the upload");
            self->hashed_.push_back(batch);
            self->pump();
          });
        });
  } catch (...) {  // not queued
    hashing_ = false;
    in_flight_ -= batch->chunks.size();
    throw;
  }
}

// Every hashed batch, as one.
std::shared_ptr<Writer::Batch> Writer::take_hashed() {
  if (hashed_.empty()) return nullptr;
  std::shared_ptr<Batch> b = hashed_.front();
  hashed_.pop_front();
  for (; !hashed_.empty(); hashed_.pop_front()) {
    Batch &next = *hashed_.front();
    // Only the last batch (a commit's rest) can have chunks not yet hashed
    // or checksummed, so the counts still cover a prefix.
    for (auto &c : next.chunks) b->chunks.push_back(std::move(c));
    b->crcs.insert(b->crcs.end(), next.crcs.begin(), next.crcs.end());
    b->sha_done += next.sha_done;
  }
  return b;
}

void Writer::store_next() {
  if (storing_ || hashed_.empty() || failed_) return;
  auto batch = take_hashed();
  auto self = shared_from_this();
  SqliteBackend *sql = store_->sqlite();
  auto stored = [self, batch](int rc, const std::string &why) {
    self->storing_ = false;
    self->in_flight_ -= batch->chunks.size();
    self->guarded([&] {
      self->recycle(batch->chunks);
      self->batch_stored(rc, why);
    });
  };
  if (sql) {
    storing_ = true;
    try {
      core::run_on_pool<int>(
          store_->engine(), "blobs",
          [self, batch, sql](int &) {
            crc(*batch);
            return sql->put_chunks(self->upload_, batch->first, batch->chunks, batch->crcs);
          },
          [batch, stored](int rc, int) {
            if (rc < 0) {
              try {
                batch->why = hp_last_error();
              } catch (const std::bad_alloc &) {  // the code says enough
              }
            }
            stored(rc, batch->why);
          });
    } catch (...) {  // not queued
      storing_ = false;
      in_flight_ -= batch->chunks.size();
      throw;
    }
    return;
  }
  storing_ = true;
  // Redis: pipeline every chunk of the batch, then report once.
  struct Count {
    size_t left = 0;
    int rc = 0;
    std::string why;
  };
  auto count = std::make_shared<Count>();
  count->left = batch->chunks.size();
  for (size_t i = 0; i < batch->chunks.size(); i++) {
    store_->redis()->put_chunk(upload_, batch->first + i, batch->chunks[i], batch->crcs[i],
                               [count, stored](int rc) {
                                 if (rc < 0 && count->rc == 0) {
                                   count->rc = rc;
                                   count->why = hp_last_error();
                                 }
                                 if (--count->left == 0) stored(count->rc, count->why);
                               });
  }
}

std::string Writer::fresh() {
  if (spare_.empty()) return std::string();
  std::string s = std::move(spare_.back());
  spare_.pop_back();
  return s;
}

void Writer::recycle(std::vector<std::string> &chunks) {
  for (auto &c : chunks) {
    if (spare_.size() >= held_ || c.capacity() < info_.chunk_size) break;
    c.clear();
    spare_.push_back(std::move(c));
  }
  chunks.clear();
}

void Writer::batch_stored(int rc, const std::string &why) {
  if (rc < 0) {
    fail(rc, why);
    return;
  }
  pump();
}

void Writer::fail(int rc, std::string why) {
  if (!failed_) {
    failed_ = rc;
    fail_why_ = std::move(why);
  }
  sealed_.clear();
  for (auto &b : hashed_) in_flight_ -= b->chunks.size();
  hashed_.clear();
  filling_ = std::string();
  pump();
}

void Writer::report_failure() const noexcept {
  try {
    if (!fail_why_.empty()) {
      core::set_error_text(failed_, fail_why_);
      return;
    }
  } catch (const std::bad_alloc &) {  // no memory for a copy of the text
  }
  core::set_error(failed_, "blobs: the upload failed (out of memory)");
}

void Writer::out_of_memory() {
  if (!failed_) failed_ = HP_ENOMEM;
  fail_why_.clear();  // report_failure() then names out of memory
  sealed_.clear();
  for (auto &b : hashed_) in_flight_ -= b->chunks.size();
  hashed_.clear();
  filling_ = std::string();
  while (!writes_.empty()) {
    PendingWrite w = writes_.front();
    writes_.pop_front();
    report_failure();
    w.cb(failed_, w.data);
  }
  // A job still in flight comes back through pump() and finish(); a commit
  // or abort asked for later is answered by finish().
  if (finishing_ || storing_ || hashing_ || (!commit_cb_ && !abort_requested_)) return;
  finishing_ = true;
  if (hp_blob_stat_cb cb = commit_cb_) {
    commit_cb_ = nullptr;
    report_failure();
    cb(failed_, nullptr, commit_data_);
  }
  if (hp_blob_cb cb = abort_cb_) {
    abort_cb_ = nullptr;
    cb(0, abort_data_);
  }
}

void Writer::finish() {
  if (finishing_ || storing_ || hashing_) return;
  if (failed_) {
    // Nothing in flight: clean up once, then answer commit and abort.
    if (!writes_.empty()) return;
    bool answer_commit = commit_cb_ != nullptr;
    if (!answer_commit && !abort_requested_) return;
    finishing_ = true;
    auto self = shared_from_this();
    try {
      store_->abort(upload_, [self](int rc) {
        std::string why = rc < 0 ? hp_last_error() : "";
        if (self->commit_cb_) {
          self->report_failure();
          self->commit_cb_(self->failed_, nullptr, self->commit_data_);
          self->commit_cb_ = nullptr;
        }
        if (self->abort_cb_) {
          if (rc < 0) core::set_error_text(rc, why);
          self->abort_cb_(rc < 0 ? rc : 0, self->abort_data_);
          self->abort_cb_ = nullptr;
        }
      });
    } catch (...) {  // abort() throws only before it queued anything
      finishing_ = false;
      throw;
    }
    return;
  }
  if (!commit_cb_ || !writes_.empty()) return;
  finishing_ = true;
  if (store_->sqlite()) {
    // The last chunks and the file row in one transaction: those hashed
    // already, then the rest (hashed in the commit's job).
    try {
      auto rest = take_sealed(true);
      hashed_.push_back(rest);
      publish(take_hashed());
    } catch (...) {  // nothing queued: out_of_memory() answers the commit
      finishing_ = false;
      throw;
    }
    return;
  }
  if (!filling_.empty()) sealed_.push_back(std::move(filling_));
  filling_ = std::string();
  if (!sealed_.empty() || !hashed_.empty()) {
    finishing_ = false;
    hash_next();
    store_next();
    return;
  }
  publish(nullptr);
}

void Writer::publish(std::shared_ptr<Batch> last) {
  auto self = shared_from_this();
  auto answer = [self](int rc, FileInfo info) {
    hp_blob_stat_cb cb = self->commit_cb_;
    self->commit_cb_ = nullptr;
    if (rc < 0) {
      // Failed to publish: its chunks must not stay behind (when memory
      // allows; otherwise they wait for the collector).
      int queued = core::guard("blob_writer_commit", [&] {
        std::string why = hp_last_error();
        self->store_->abort(self->upload_, [self, cb, rc, why](int) {
          core::set_error_text(rc, why);
          cb(rc, nullptr, self->commit_data_);
        });
        return 0;
      });
      if (queued < 0) cb(rc, nullptr, self->commit_data_);
      return;
    }
    hp_blob_stat st = info.stat();
    auto &n = self->store_->counters();
    n.commits.fetch_add(1, std::memory_order_relaxed);
    n.bytes_in.fetch_add(st.length, std::memory_order_relaxed);
    cb(0, &st, self->commit_data_);
  };
  if (!last) {
    info_.sha256 = file_sha256();
    store_->commit(upload_, info_, std::move(answer));
    return;
  }
  // The last chunks are hashed in the job that then queues the commit, so
  // a file of one chunk costs one trip through the pool.
  store_->commit_grouped(
      [self, last](SqliteBackend::Commit &c) {
        self->sha(*last);
        crc(*last);
        *c.info = self->info_;
        c.info->sha256 = self->file_sha256();
        c.upload = &self->upload_;
        c.first = last->first;
        c.chunks = &last->chunks;
        c.crcs = &last->crcs;
        return 0;
      },
      std::move(answer));
}

}  // namespace hp::blobs
