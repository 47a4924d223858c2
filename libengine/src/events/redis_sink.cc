#include "events/redis_sink.h"

#include "core/error.h"

namespace hp::events {

RedisSink::RedisSink(redis::Options options, std::string key, uint32_t max_inflight)
    : options_(std::move(options)), core_(std::make_shared<Core>()) {
  core_->key = std::move(key);
  core_->max_inflight = max_inflight ? max_inflight : 1;
}

RedisSink::~RedisSink() { core_->progress = nullptr; }

int RedisSink::start(Progress *progress) {
  progress_ = progress;
  core_->progress = progress;
  return 0;
}

void RedisSink::attach(core::Engine *engine) { core_->client = redis::Client::open(engine, options_); }

void RedisSink::submit(Batch &&batch) {
  auto core = core_;
  auto holder = std::make_shared<Batch>(std::move(batch));
  progress_->queued.fetch_add(holder->count, std::memory_order_relaxed);
  progress_->on_loop([core, holder](bool closing) {
    if (!core->progress) return;
    if (closing || !core->client) {
      // The engine is closing (this may run on the caller's thread): the
      // batch cannot be sent; count it as dropped.
      core->progress->queued.fetch_sub(holder->count, std::memory_order_relaxed);
      core->progress->dropped.fetch_add(holder->count, std::memory_order_relaxed);
      return;
    }
    core->entries.push_back(Core::Entry{std::move(*holder)});
    core->pump(core);
  });
}

void RedisSink::Core::pump(const std::shared_ptr<Core> &self) {
  if (!client || !progress) return;
  for (Entry &e : entries) {
    if (inflight >= max_inflight) break;
    if (e.inflight || e.done) continue;
    std::vector<std::string> args;
    args.reserve(e.batch.count + 2);
    args.emplace_back("RPUSH");
    args.push_back(key);
    const std::string &d = e.batch.data;
    size_t at = 0;
    while (at < d.size()) {
      size_t nl = d.find('\n', at);
      if (nl == std::string::npos) nl = d.size();
      args.emplace_back(d, at, nl - at);
      at = nl + 1;
    }
    e.inflight = true;
    inflight++;
    uint64_t seq_end = e.batch.seq_end;
    client->command(std::move(args), [self, seq_end](int status, redis::Reply reply) {
      if (!self->progress) return;  // the sink is gone
      Entry *entry = nullptr;
      for (Entry &x : self->entries)
        if (x.batch.seq_end == seq_end && x.inflight) entry = &x;
      if (!entry) return;
      entry->inflight = false;
      self->inflight--;
      bool ok = status == 0 && !reply.is_error();
      if (ok) {
        self->complete(*entry, true);
      } else {
        int code = status < 0 ? status : HP_EIO;
        if (code == HP_ECLOSED) code = HP_EUNAVAILABLE;
        self->progress->failed(code);
        if (self->closing) {
          // Closing: one attempt was made; the batch is lost, and counted.
          self->close_status = code;
          self->complete(*entry, false);
        }
        // Otherwise the batch stays and the next tick sends it again.
      }
      self->advance();
      if (self->progress->notify) self->progress->notify();
      if (ok) self->pump(self);
      self->maybe_closed();
    });
  }
}

void RedisSink::Core::complete(Entry &e, bool written) {
  e.done = true;
  progress->queued.fetch_sub(e.batch.count, std::memory_order_relaxed);
  if (written) {
    progress->written.fetch_add(e.batch.count, std::memory_order_relaxed);
    progress->batches.fetch_add(1, std::memory_order_relaxed);
    progress->last_status.store(0, std::memory_order_relaxed);
  } else {
    progress->dropped.fetch_add(e.batch.count, std::memory_order_relaxed);
  }
}

// Batches may complete out of order (a retried one after later ones); the
// written mark moves over the completed prefix.
void RedisSink::Core::advance() {
  while (!entries.empty() && entries.front().done) {
    progress->written_seq.store(entries.front().batch.seq_end, std::memory_order_release);
    entries.pop_front();
  }
}

void RedisSink::Core::maybe_closed() {
  if (!closing || !close_done || !entries.empty()) return;
  auto done = std::move(close_done);
  close_done = nullptr;
  int status = close_status;
  redis::Client *c = client;
  client = nullptr;
  if (c)
    c->close([done, status] { done(status); });
  else
    done(status);
}

void RedisSink::tick() {
  auto core = core_;
  core->pump(core);
}

void RedisSink::close(core::Engine *, std::function<void(int status)> done) {
  core_->closing = true;
  core_->close_done = std::move(done);
  core_->pump(core_);
  core_->maybe_closed();
}

int RedisSink::drain_and_close() {
  // The engine is closing: the client is being closed with it and nothing
  // more can be sent. What is unwritten is counted as dropped.
  int status = 0;
  if (core_->progress) {
    for (auto &e : core_->entries)
      if (!e.done) {
        core_->complete(e, false);
        status = HP_EUNAVAILABLE;
      }
    core_->advance();
  }
  core_->closing = true;
  core_->close_done = nullptr;
  core_->client = nullptr;  // closed by the engine (it is a Closable)
  return status;
}

}  // namespace hp::events
