#include "blobs/store.h"

#include <algorithm>
#include <cstring>

#include "core/backend_spec.h"
#include "core/error.h"

namespace hp::blobs {

using core::set_error;

int Store::open(std::shared_ptr<Store> *out, core::Engine *engine, const std::string &spec,
                const hp_blobs_options &options) {
  std::shared_ptr<Store> s(new Store(engine));
  if (options.chunk_size > HP_BLOBS_MAX_CHUNK_SIZE)
    return set_error(HP_EINVAL, "blobs_open: chunk_size ", std::to_string(options.chunk_size),
                     " is over the 16 MiB limit");
  if (options.chunk_size) s->chunk_size_ = options.chunk_size;
  uint32_t timeout = options.timeout_ms ? options.timeout_ms : 2000;
  std::string prefix = options.prefix ? options.prefix : "hp:blobs";
  if (prefix.empty() || prefix.size() > 128 || prefix.find_first_of("{}") != std::string::npos)
    return set_error(HP_EINVAL, "blobs_open: prefix must be 1..128 bytes without braces");
  core::BackendSpec where;
  int rc = core::parse_backend_spec(
      spec, core::backend_bit(HP_BACKEND_SQLITE) | core::backend_bit(HP_BACKEND_REDIS), "blobs_open",
      "store.db", &where);
  if (rc != 0) return rc;
  if (where.kind == HP_BACKEND_SQLITE) {
    rc = SqliteBackend::open(where.path, timeout, (options.flags & HP_BLOBS_DURABLE) != 0, &s->sqlite_);
    if (rc != 0) return rc;
  } else {
    if (options.flags & HP_BLOBS_DURABLE)
      return set_error(
          HP_EINVAL,
          "blobs_open: HP_BLOBS_DURABLE applies to a SQLite store (a Redis server's durability is its "
          "appendfsync setting)");
    redis::Options ro;
    ro.address = std::move(where.address);
    ro.connect_timeout_ms = timeout;
    ro.command_timeout_ms = timeout;
    ro.figures = s->counters_.redis = std::make_shared<redis::Figures>();
    ro.owner = HP_HANDLE_BLOBS;
    s->redis_ =
        std::make_unique<RedisBackend>(engine, ro, prefix, options.lease_ms ? options.lease_ms : 600000);
    rc = s->on_loop([s](bool closing) {
      if (!closing) s->redis_->start();
    });
    if (rc != 0) return rc;
  }
  // Reclaim what crashed uploads left behind; failures show up on use.
  s->on_loop([s](bool closing) {
    if (!closing) s->gc([](int) {});
  });
  *out = std::move(s);
  return 0;
}

Store::~Store() {
  if (!redis_) return;
  core::Engine *e = engine_.get();
  // Always on a later loop turn: the last reference may drop inside one of
  // the client's own reply callbacks.
  auto *backend = redis_.release();
  int rc = e->post([backend](bool closing) {
    // A closing engine has closed the client itself.
    if (!closing) backend->close();
    delete backend;
  });
  if (rc != 0) delete backend;
}

int Store::on_loop(std::function<void(bool)> fn) {
  core::Engine *e = engine_.get();
  int rc = e->post(std::move(fn));
  return rc == 0 ? 0 : set_error(rc, "blobs: the engine is closing");
}

void Store::commit(Upload &u, FileInfo info, InfoDone done) {
  if (redis_) return redis_->commit(u, std::move(info), std::move(done));
  auto copy = std::make_shared<Upload>(u);
  commit_grouped(
      [copy, info = std::move(info)](SqliteBackend::Commit &c) {
        *c.info = info;
        c.upload = copy.get();
        c.first = copy->chunks;
        return 0;
      },
      std::move(done));
}

void Store::commit_grouped(std::function<int(SqliteBackend::Commit &)> prepare, InfoDone done) {
  struct State {
    SqliteBackend::Commit commit;
    FileInfo info;
    std::function<int(SqliteBackend::Commit &)> prepare;  // and what its commit points into
    InfoDone done;
    core::Engine *engine = nullptr;
    // Allocated here, so that the thread that ran the transaction hands
    // the answer to the loop without allocating (Engine::run_soon).
    std::unique_ptr<core::Engine::Task> answer;
    bool queued = false;  // handed to the backend: `answer` reports it
    void finish() {
      int rc = core::guard("blobs", [&] {
        SqliteBackend::Commit &c = commit;
        if (c.rc < 0 && c.failure.message.empty())
          core::set_error(c.rc, "blobs: the commit failed (out of memory)");
        else if (c.rc < 0)
          c.failure.raise();
        done(c.rc, std::move(info));
        return 0;
      });
      if (rc < 0) done(rc, FileInfo{});  // `done` allocates only before it calls back
    }
  };
  auto st = std::make_shared<State>();
  st->commit.info = &st->info;
  st->prepare = std::move(prepare);
  st->done = std::move(done);
  st->engine = engine_.get();
  st->answer = std::make_unique<core::Engine::Task>();
  // The task holds the state until it has run (a cycle that its run, or
  // the reset below when nothing was queued, breaks).
  st->answer->fn = [st](bool) { st->finish(); };
  st->commit.arg = st.get();
  st->commit.landed = [](void *arg) {
    auto *s = static_cast<State *>(arg);
    // After this the state may be gone: it is not touched again.
    s->engine->run_soon(std::move(s->answer));
  };
  SqliteBackend *sql = sqlite_.get();
  try {
    engine_->queue_work(
        [st, sql] {
          SqliteBackend::Commit &c = st->commit;
          int rc = st->prepare(c);
          if (rc < 0) {
            c.rc = rc;
            c.failure = core::Status::capture(rc);
            return;
          }
          st->queued = true;
          sql->commit_grouped(&c);
        },
        [st](int status) {
          if (st->queued) return;  // answered by the task
          st->answer.reset();
          if (status < 0) {
            st->commit.rc = status;
            st->commit.failure = core::Status();
            core::set_error(status, status == HP_ECLOSED ? "blobs: the engine closed before the call ran"
                                                         : "blobs: out of memory");
            st->commit.failure.code = status;
            return st->done(status, FileInfo{});
          }
          st->finish();
        });
  } catch (...) {  // not queued
    st->answer.reset();
    throw;
  }
}

void Store::abort(Upload &u, Done done) {
  if (redis_) return redis_->abort(u, std::move(done));
  Upload copy = u;
  pool<int>([self = shared_from_this(), copy](int &) { return self->sqlite_->abort(copy); },
            [done = std::move(done)](int rc, int) { done(rc); });
}

void Store::find(const Query &q, InfoDone done) {
  if (redis_) return redis_->find(q, std::move(done));
  pool<FileInfo>([self = shared_from_this(), q](FileInfo &out) { return self->sqlite_->find(q, &out); },
                 std::move(done));
}

void Store::get_chunks(const FileInfo &f, uint64_t first, uint64_t count, ChunksDone done) {
  if (redis_) return redis_->get_chunks(f, first, count, std::move(done));
  pool<std::vector<std::string>>(
      [self = shared_from_this(), f, first, count](std::vector<std::string> &out) {
        return self->sqlite_->get_chunks(f, first, count, &out);
      },
      std::move(done));
}

namespace {

// The parts of `chunks` (chunk `first` on) that fall in [pos, stop), copied
// to `dst`; returns their length.
size_t copy_span(const FileInfo &f, uint64_t first, const std::vector<std::string> &chunks, uint64_t pos,
                 uint64_t stop, char *dst) {
  size_t filled = 0;
  uint64_t n = first;
  for (const auto &c : chunks) {
    uint64_t chunk_start = n++ * f.chunk_size;
    uint64_t from = std::max(pos, chunk_start), to = std::min<uint64_t>(stop, chunk_start + c.size());
    if (to <= from) break;
    std::memcpy(dst + filled, c.data() + (from - chunk_start), static_cast<size_t>(to - from));
    filled += static_cast<size_t>(to - from);
  }
  return filled;
}

}  // namespace

void Store::read_into(const FileInfo &f, uint64_t pos, uint64_t end, char *dst, size_t cap,
                      std::function<void(int, size_t)> done) {
  if (redis_) {
    end = std::min(end, f.length);
    if (pos >= end) return done(0, 0);
    uint64_t stop = f.read_stop(pos, end, cap), first = pos / f.chunk_size;
    return redis_->get_chunks(f, first, (stop - 1) / f.chunk_size - first + 1,
                              [f, first, pos, stop, dst, done](int rc, std::vector<std::string> chunks) {
                                if (rc < 0) return done(rc, 0);
                                done(0, copy_span(f, first, chunks, pos, stop, dst));
                              });
  }
  pool<size_t>([self = shared_from_this(), f, pos, end, dst,
                cap](size_t &filled) { return self->sqlite_->read_into(f, pos, end, dst, cap, &filled); },
               std::move(done));
}

namespace {

// A whole range gathered from a Redis store, fetch after fetch.
struct Gather {
  std::shared_ptr<Store> store;
  FileInfo info;
  uint64_t start = 0, end = 0;
  std::string bytes;
  Store::GetDone done;

  void next(std::shared_ptr<Gather> self, uint64_t n) {
    uint64_t cs = info.chunk_size;
    if (bytes.size() == end - start) return done(0, std::move(info), std::move(bytes));
    uint64_t last = (end - 1) / cs;
    store->get_chunks(info, n, last - n + 1, [self, n](int rc, std::vector<std::string> chunks) {
      if (rc < 0) return self->done(rc, FileInfo{}, std::string());
      uint64_t pos = self->start + self->bytes.size();
      size_t had = self->bytes.size();
      self->bytes.resize(static_cast<size_t>(self->end - self->start));
      size_t got = copy_span(self->info, n, chunks, pos, self->end, self->bytes.data() + had);
      self->bytes.resize(had + got);
      self->next(self, n + chunks.size());
    });
  }
};

}  // namespace

void Store::get(const Query &q, uint64_t start, uint64_t end, uint64_t max_bytes, GetDone done) {
  if (sqlite_) {
    struct Whole {
      FileInfo info;
      std::string bytes;
    };
    return pool<Whole>(
        [self = shared_from_this(), q, start, end, max_bytes](Whole &out) {
          return self->sqlite_->get(q, start, end, max_bytes, &out.info, &out.bytes);
        },
        [done = std::move(done)](int rc, Whole w) { done(rc, std::move(w.info), std::move(w.bytes)); });
  }
  auto self = shared_from_this();
  redis_->find(q, [self, start, end, max_bytes, done = std::move(done)](int rc, FileInfo info) {
    if (rc < 0) return done(rc, FileInfo{}, std::string());
    auto g = std::make_shared<Gather>();
    g->end = std::min(end, info.length);
    g->start = std::min(start, g->end);
    if (g->end - g->start > max_bytes)
      return done(range_too_long(info, g->end - g->start, max_bytes), FileInfo{}, std::string());
    g->store = self;
    g->info = std::move(info);
    g->done = done;
    g->bytes.reserve(static_cast<size_t>(g->end - g->start));
    g->next(g, g->end > g->start ? g->start / g->info.chunk_size : 0);
  });
}

void Store::list(const ListQuery &q, ListDone done) {
  if (redis_) return redis_->list(q, std::move(done));
  pool<ListPage>([self = shared_from_this(), q](ListPage &out) { return self->sqlite_->list(q, &out); },
                 std::move(done));
}

void Store::remove(const std::string &id, const std::string &name, Done done) {
  if (redis_) return redis_->remove(id, name, std::move(done));
  pool<int>(
      [self = shared_from_this(), id, name](int &) {
        return id.empty() ? self->sqlite_->remove_name(name) : self->sqlite_->remove_id(id);
      },
      [done = std::move(done)](int rc, int) { done(rc); });
}

void Store::gc(Done done) {
  if (redis_) return redis_->gc(std::move(done));
  pool<int>([self = shared_from_this()](int &) { return self->sqlite_->gc(); },
            [done = std::move(done)](int rc, int) { done(rc); });
}

void Store::Counters::fill(hp_blobs_stats *out) const {
  out->bytes_in = bytes_in.load(std::memory_order_relaxed);
  out->bytes_out = bytes_out.load(std::memory_order_relaxed);
  out->commits = commits.load(std::memory_order_relaxed);
  out->corrupt_reads = corrupt_reads.load(std::memory_order_relaxed);
  redis::Figures::fill(redis.get(), &out->redis);
}

}  // namespace hp::blobs
