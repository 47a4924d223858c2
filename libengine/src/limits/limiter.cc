#include "limits/limiter.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/backend_spec.h"
#include "core/error.h"
#include "core/guard.h"
#include "core/pool_job.h"
#include "limits/memory.h"
#include "limits/sqlite_store.h"

namespace hp::limits {

using core::set_error;

int Limiter::open(std::shared_ptr<Limiter> *out, core::Engine *engine, const std::string &spec,
                  const hp_limiter_options &options) {
  std::shared_ptr<Limiter> l(new Limiter(engine));
  uint32_t timeout = options.timeout_ms ? options.timeout_ms : 200;
  std::string prefix = options.prefix ? options.prefix : "hp:lim";
  if (prefix.empty() || prefix.size() > 128)
    return set_error(HP_EINVAL, "limiter_open: prefix must be 1..128 bytes");
  l->on_pool_ = options.sqlite_inline == 0;
  l->timeout_ms_ = timeout;
  core::BackendSpec where;
  int rc =
      core::parse_backend_spec(spec,
                               core::backend_bit(HP_BACKEND_MEMORY) | core::backend_bit(HP_BACKEND_SQLITE) |
                                   core::backend_bit(HP_BACKEND_REDIS),
                               "limiter_open", "file.db", &where);
  if (rc != 0) return rc;
  l->kind_ = where.kind;
  if (where.kind == HP_BACKEND_MEMORY) {
    l->sync_ = std::make_unique<MemoryBackend>();
  } else if (where.kind == HP_BACKEND_SQLITE) {
    std::unique_ptr<SqliteBackend> b;
    rc = SqliteBackend::open(where.path, prefix, timeout, &b);
    if (rc != 0) return rc;
    l->sync_ = std::move(b);
  } else {
    if (!engine) return set_error(HP_EINVAL, "limiter_open: a Redis limiter needs an engine");
    redis::Options ro;
    ro.address = std::move(where.address);
    ro.connect_timeout_ms = timeout;
    ro.command_timeout_ms = timeout;
    ro.figures = l->counts_->redis = std::make_shared<redis::Figures>();
    ro.owner = HP_HANDLE_LIMITER;
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

int Limiter::wait(RedisOp redis_op, Outcome *out) {
  core::Engine *e = engine_.get();
  if (e->on_loop_thread())
    return set_error(
        HP_EINVAL,
        "limits: a synchronous call on a Redis limiter would block the engine loop that must answer it: "
        "use the asynchronous call there");
  // Shared with the completion, which may come after this call gave up.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Outcome o;
  };
  auto w = std::make_shared<Waiter>();
  int rc = async(nullptr, std::move(redis_op), [w](Outcome &&o) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->o = std::move(o);
    w->done = true;
    w->cv.notify_one();
  });
  if (rc < 0) return rc;
  std::unique_lock<std::mutex> lock(w->mu);
  auto limit = std::chrono::milliseconds(2 * static_cast<uint64_t>(timeout_ms_));
  if (!w->cv.wait_for(lock, limit, [&] { return w->done; }))
    return set_error(HP_EUNAVAILABLE, "limits: redis: no answer within ", std::to_string(2 * timeout_ms_),
                     " ms (twice timeout_ms)");
  *out = std::move(w->o);
  if (out->status < 0) return core::set_error_text(out->status, out->error);
  return out->status;
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
        core::run_on_pool<Outcome>(
            self->engine_.get(), "limits",
            [self, sync_op = std::move(sync_op)](Outcome &o) { return sync_op(*self->sync_, o); },
            [done](int status, Outcome o) {
              o.status = status;
              try {
                if (status < 0) o.error = hp_last_error();
              } catch (const std::bad_alloc &) {  // the code says enough
              }
              done(std::move(o));
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
