#include "limits/limiter.h"

#include "core/error.h"
#include "core/guard.h"
#include "limits/memory.h"
#include "limits/sqlite_store.h"
#include "redis/url.h"

namespace hp::limits {

using core::set_error;

namespace {


}  // namespace

int Limiter::open(std::shared_ptr<Limiter> *out, core::Engine *engine, const std::string &spec,
                  const hp_limiter_options &options) {
  std::shared_ptr<Limiter> l(new Limiter(engine));
  uint32_t timeout = options.timeout_ms ? options.timeout_ms : 200;
  std::string prefix = options.prefix ? options.prefix : "hp:lim";
  if (prefix.empty() || prefix.size() > 128)
    return set_error(HP_EINVAL, "limiter_open: prefix must be 1..128 bytes");
  l->on_pool_ = options.sqlite_inline == 0;
  if (spec == "memory:" || spec == "memory" || spec == "memory://") {
    l->kind_ = HP_LIMITER_MEMORY;
    l->sync_ = std::make_unique<MemoryBackend>();
  } else if (spec.rfind("sqlite:", 0) == 0) {
    std::string path = spec.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
    if (path.empty()) return set_error(HP_EINVAL, "limiter_open: '", spec, "' names no file (sqlite:/path/file.db)");
    std::unique_ptr<SqliteBackend> b;
    int rc = SqliteBackend::open(path, prefix, timeout, &b);
    if (rc != 0) return rc;
    l->kind_ = HP_LIMITER_SQLITE;
    l->sync_ = std::move(b);
  } else if (redis::is_url(spec)) {
    if (!engine) return set_error(HP_EINVAL, "limiter_open: a Redis limiter needs an engine");
    redis::Options ro;
    int rc = redis::parse_url(spec, &ro.address);
    if (rc != 0) return rc;
    ro.connect_timeout_ms = timeout;
    ro.command_timeout_ms = timeout;
    ro.figures = l->counts_->redis = std::make_shared<redis::Figures>();
    ro.owner = HP_HANDLE_LIMITER;
    l->kind_ = HP_LIMITER_REDIS;
    std::shared_ptr<LocalBudget> budget;
    if (options.local_budget)
      budget = std::make_shared<LocalBudget>(engine, prefix, options.local_budget,
                                             options.local_hold_ms ? options.local_hold_ms : 100, l->counts_);
    l->redis_ = std::make_unique<RedisBackend>(engine, ro, prefix, std::move(budget));
    Limiter *raw = l.get();
    l->close_step_ = std::make_unique<core::PreparedStep>([raw](bool closing) {
      std::shared_ptr<Limiter> self = std::move(raw->closing_self_);
      if (!closing) self->redis_->close();
    });
    if (engine->on_loop_thread()) {
      if (engine->closing()) return set_error(HP_ECLOSED, "limiter_open: the engine is closing");
      l->redis_->start();
    } else {
      rc = engine->post([l](bool closing) {
        if (!closing) l->redis_->start();
      });
      if (rc != 0) return rc;
    }
  } else {
    return set_error(HP_EINVAL, "limiter_open: unknown spec '", redis::redact(spec),
                     "' (expected memory:, sqlite:/path/file.db redis://host:port/db, redis+cluster://host:port,... or unix:///path)");
  }
  *out = std::move(l);
  return 0;
}

Limiter::~Limiter() = default;

void Limiter::deliver(const Done &done, Outcome &&o) {
  if (o.status < 0) core::set_error_text(o.status, o.error);
  done(std::move(o));
}

void Limiter::fail(const Done &done, int status, const char *why) {
  core::set_error(status, why);
  Outcome o;
  o.status = status;
  done(std::move(o));
}

RedisBackend *Limiter::redis_now() const {
  if (!redis_) return nullptr;
  core::Engine *e = engine_.get();
  // started() only on the loop thread: start() runs there, maybe right now.
  if (!e || !e->on_loop_thread() || e->closing()) return nullptr;
  return redis_->started() ? redis_.get() : nullptr;
}

void Limiter::close() {
  if (!redis_ || !engine_.get() || close_asked_.exchange(true)) return;
  core::Engine *e = engine_.get();
  if (e->on_loop_thread()) {
    if (!e->closing()) redis_->close();
    return;
  }
  closing_self_ = shared_from_this();
  close_step_->run_soon(e);
}

int Limiter::hit_local(std::string_view key, const Rate &rate, hp_rate_result *out) {
  if (sync_) {
    int rc = sync_->hit(key, rate, out);
    return rc < 0 ? rc : 1;
  }
  LocalBudget *b = redis_->budget();
  if (!b) return 0;
  LocalBudget::EntryRef low;
  int rc = b->decide(key, rate, out, &low);
  if (low) renew(std::move(low));
  return rc;
}

void Limiter::renew(LocalBudget::EntryRef e) {
  core::Engine *eng = engine_.get();
  if (eng->on_loop_thread()) {
    if (!eng->closing() && redis_->started()) return redis_->budget()->lease(e);
    LocalBudget::cancel(*e);
    return;
  }
  auto self = shared_from_this();
  int rc = eng->post([self, e](bool closing) {
    if (closing || !self->redis_->started()) {
      LocalBudget::cancel(*e);
      return;
    }
    self->redis_->budget()->lease(e);
  });
  if (rc != 0) LocalBudget::cancel(*e);
}

int Limiter::hit_wait(std::string key, const Rate &rate, Done done) {
  return async(
      nullptr,
      [key = std::move(key), rate](RedisBackend &r, Done d) { r.budget()->wait(key, rate, std::move(d)); },
      std::move(done));
}

int Limiter::async(SyncOp sync_op, RedisOp redis_op, Done done) {
  core::Engine *e = engine_.get();
  if (!e) return set_error(HP_EINVAL, "limits: this limiter was opened without an engine: asynchronous calls need one");
  if (e->closing()) return set_error(HP_ECLOSED, "limits: the engine is closing");
  auto self = shared_from_this();
  if (redis_) {
    if (e->on_loop_thread()) {
      if (!redis_->started()) {
        // Opened from another thread a moment ago: the client starts on the
        // loop's next turn, so this call goes behind it.
        return e->post([self, redis_op = std::move(redis_op), done = std::move(done)](bool closing) mutable {
          if (closing || !self->redis_->started())
            return fail(done, HP_ECLOSED, "limits: limiter closed");
          redis_op(*self->redis_, [done](Outcome &&o) { deliver(done, std::move(o)); });
        });
      }
      redis_op(*redis_, [done = std::move(done)](Outcome &&o) { deliver(done, std::move(o)); });
      return 0;
    }
    return e->post([self, redis_op = std::move(redis_op), done = std::move(done)](bool closing) mutable {
      if (closing || !self->redis_->started())
        return fail(done, HP_ECLOSED, "limits: limiter closed");
      redis_op(*self->redis_, [done](Outcome &&o) { deliver(done, std::move(o)); });
    });
  }
  if (on_pool_) {
    return e->post([self, sync_op = std::move(sync_op), done = std::move(done)](bool closing) mutable {
      if (closing) return fail(done, HP_ECLOSED, "limits: the engine closed before the call ran");
      // `done` is copied in, so that it is still here if queueing fails.
      int rc = core::guard("limits", [&] {
        auto o = std::make_shared<Outcome>();
        self->engine_->queue_work(
            [self, sync_op = std::move(sync_op), o] {
              o->status = sync_op(*self->sync_, *o);
              if (o->status < 0) o->error = hp_last_error();
            },
            [o, done](int status) {
              if (status == HP_ECLOSED) return fail(done, status, "limits: the engine closed before the call ran");
              if (status < 0) return fail(done, status, "limits: out of memory");
              deliver(done, std::move(*o));
            });
        return 0;
      });
      if (rc < 0) fail(done, rc, "limits: out of memory");
    });
  }
  Outcome o;
  o.status = sync_op(*sync_, o);
  if (o.status < 0) o.error = hp_last_error();
  return e->post([o = std::move(o), done = std::move(done)](bool) mutable { deliver(done, std::move(o)); });
}

}  // namespace hp::limits
