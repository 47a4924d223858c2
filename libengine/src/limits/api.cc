// extern "C" definitions of the limits subsystem.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"
#include "core/handle.h"
#include "limits/lease_list.h"
#include "limits/limiter.h"
#include "limits/local_budget.h"

using hp::core::set_error;
using hp::limits::Counts;
using hp::limits::Done;
using hp::limits::Lease;
using hp::limits::LeaseOutcome;
using hp::limits::Limiter;
using hp::limits::Outcome;
using hp::limits::Rate;
using hp::limits::RedisBackend;
using hp::limits::SyncBackend;

// The handle: a reference to the limiter, which pending calls share.
struct hp_limiter final : hp::core::Handle {
  hp_limiter(hp::core::Engine *e, std::shared_ptr<Limiter> l) : hp::core::Handle(e), impl(std::move(l)) {}
  std::shared_ptr<Limiter> impl;

 private:
  // Asynchronous calls still pending hold the limiter themselves.
  void shutdown(std::function<void(int)> done) override {
    impl->close();
    impl.reset();
    done(0);
  }
};

namespace {

using Call = hp::core::Handle::Call;

int closed() { return set_error(HP_ECLOSED, "limits: limiter closed"); }

constexpr size_t kNameMax = 512;
constexpr uint64_t kTtlMax = 1ull << 40;

int check_name(const char *where, const char *what, const char *s, std::string_view *out) {
  if (!s) return set_error(HP_EINVAL, where, ": ", what, " is NULL");
  size_t n = strnlen(s, kNameMax + 1);
  if (n == 0 || n > kNameMax) return set_error(HP_EINVAL, where, ": ", what, " must be 1..512 bytes");
  *out = std::string_view(s, n);
  return 0;
}

int check_lease_args(const char *where, hp_limiter *l, const char *subject, const char *resource,
                     std::string_view *sub, std::string_view *res) {
  if (!l) return set_error(HP_EINVAL, where, ": limiter is NULL");
  int rc = check_name(where, "subject", subject, sub);
  if (rc == 0 && resource) rc = check_name(where, "resource", resource, res);
  return rc;
}

// An acquire's options into the requirements the backends take.
int check_lease_options(const char *where, const hp_lease_options *opts, hp::limits::Requirements *out) {
  if (!opts) return 0;
  if (opts->version != HP_LEASE_OPTIONS_VERSION)
    return set_error(HP_EINVAL, where, ": unknown hp_lease_options version ", std::to_string(opts->version));
  if (opts->require_count > HP_LEASE_REQUIRE_MAX)
    return set_error(HP_EINVAL, where, ": require_count ", std::to_string(opts->require_count), " is over ",
                     std::to_string(HP_LEASE_REQUIRE_MAX));
  if (opts->require_count && !opts->require) return set_error(HP_EINVAL, where, ": require is NULL");
  out->resize(opts->require_count);
  for (size_t i = 0; i < opts->require_count; i++) {
    std::string_view set, member;
    int rc = check_name(where, "require set", opts->require[i].set, &set);
    if (rc == 0) rc = check_name(where, "require member", opts->require[i].member, &member);
    if (rc != 0) return rc;
    (*out)[i] = hp::limits::Requirement{std::string(set), std::string(member)};
  }
  return 0;
}

int check_ttl(const char *where, uint64_t ttl_ms) {
  if (ttl_ms == 0 || ttl_ms > kTtlMax)
    return set_error(HP_EINVAL, where, ": ttl_ms ", std::to_string(ttl_ms), " is outside 1..2^40");
  return 0;
}

int check_rate(const char *where, const hp_rate_spec *spec, Rate *out) {
  if (!spec) return set_error(HP_EINVAL, where, ": spec is NULL");
  if (spec->version != HP_RATE_SPEC_VERSION)
    return set_error(HP_EINVAL, where, ": unknown hp_rate_spec version ", std::to_string(spec->version));
  if (spec->rate == 0) return set_error(HP_EINVAL, where, ": rate must be >= 1");
  if (spec->period_ms == 0 || spec->period_ms > (1ull << 32))
    return set_error(HP_EINVAL, where, ": period_ms must be 1..2^32");
  uint64_t interval = spec->period_ms * 1000000ull / spec->rate;
  if (interval == 0) return set_error(HP_EINVAL, where, ": rate is over one hit per nanosecond");
  uint32_t burst = spec->burst ? spec->burst : spec->rate;
  if (interval > (1ull << 62) / burst) return set_error(HP_EINVAL, where, ": burst * period / rate is too large");
  if (spec->cost > burst)
    return set_error(HP_EINVAL, where, ": cost ", std::to_string(spec->cost), " is over the burst ",
                     std::to_string(burst), " and could never pass");
  out->interval_ns = interval;
  out->tolerance_ns = interval * burst;
  out->burst = burst;
  out->cost = spec->cost;
  out->rate = spec->rate;
  out->period_ms = spec->period_ms;
  return 0;
}

// The leases of an async outcome, borrowed by the callback: built into
// `infos` (which must outlive it).
const hp_lease_info *to_infos(const std::vector<Lease> &leases, std::vector<hp_lease_info> *infos) {
  infos->resize(leases.size());
  for (size_t i = 0; i < leases.size(); i++)
    (*infos)[i] = hp_lease_info{leases[i].resource.c_str(), leases[i].id, leases[i].expires_in_ms};
  return leases.empty() ? nullptr : infos->data();
}

// An acquire's outcome into its result; the holders of a denial go into a
// new list (HP_ENOMEM without memory for it).
int to_result(const LeaseOutcome &o, hp_lease_result *out) {
  out->status = o.status;
  out->count = o.count;
  out->lease_id = o.id;
  out->missing = o.status == HP_LEASE_NOT_MEMBER ? o.missing : 0;
  out->holders = nullptr;
  if (o.status != HP_LEASE_DENIED) return 0;
  out->holders = hp::limits::make_lease_list(o.holders);
  return out->holders ? 0 : set_error(HP_ENOMEM, "limits: out of memory for the holders");
}

// A synchronous call: `direct` on the calling thread for memory and
// SQLite; for Redis the op `make_op()` returns (it owns copies of the
// arguments: it may run after a wait that timed out), through the loop.
template <class Direct, class MakeOp>
int outcome_of(hp_limiter *l, Direct &&direct, MakeOp &&make_op, Outcome *o) {
  if (SyncBackend *b = l->impl->sync()) return o->status = direct(*b);
  return l->impl->wait(make_op(), o);
}

// Runs `call` with the thread's error text set to the outcome's failure.
template <class Call>
void fail(const Outcome &o, Call &&call) {
  hp::core::set_error_text(o.status, o.error);
  call();
}

using CountsRef = std::shared_ptr<Counts>;

// A synchronous call's result, counted.
int counted(hp_limiter *l, int rc) {
  l->impl->counts()->call(rc);
  return rc;
}

// The completion of an acquire: the lease result, or HP_ENOMEM when its
// holder list cannot be built (the callback comes either way).
Done lease_done(CountsRef counts, hp_lease_cb cb, void *data) {
  return [counts, cb, data](Outcome &&o) {
    counts->check(o.status, o.status >= 0 && o.lease.status < HP_LEASE_DENIED);
    if (o.status < 0) return fail(o, [&] { cb(o.status, nullptr, data); });
    hp_lease_result res = HP_LEASE_RESULT_INIT;
    int rc = hp::core::guard("limiter_acquire_async", [&] { return to_result(o.lease, &res); });
    if (rc < 0) return cb(rc, nullptr, data);
    cb(0, &res, data);
    hp_lease_list_free(res.holders);
  };
}

Done code_done(CountsRef counts, hp_limiter_cb cb, void *data) {
  return [counts, cb, data](Outcome &&o) {
    counts->call(o.status);
    if (o.status < 0) hp::core::set_error_text(o.status, o.error);
    cb(o.status, data);
  };
}

// A local budget counts `rate` hits per window: no other burst.
int check_window(const char *where, const Rate &rate) {
  if (rate.burst != rate.rate)
    return set_error(HP_EINVAL, where, ": with a local budget a key holds `rate` hits per window: burst ",
                     std::to_string(rate.burst), " must be left out or equal the rate ",
                     std::to_string(rate.rate));
  return 0;
}

// The completion of a hit: counted, then handed to the caller.
Done rate_done(CountsRef counts, hp_rate_cb cb, void *data) {
  return [counts, cb, data](Outcome &&o) {
    counts->check(o.status, o.status >= 0 && o.rate.allowed);
    if (o.status < 0) return fail(o, [&] { cb(o.status, nullptr, data); });
    cb(0, &o.rate, data);
  };
}

// hit_async() on a local budget: from the hits in hand, reported on the
// loop's next turn, else once a lease answers.
int hit_from_budget(hp_limiter *l, std::string_view key, const Rate &rate, hp_rate_cb cb, void *data) {
  hp_rate_result r = HP_RATE_RESULT_INIT;
  int rc = l->impl->hit_local(key, rate, &r);
  if (rc < 0) return rc;
  Done done = rate_done(l->impl->counts(), cb, data);
  if (rc == 0) return l->impl->hit_wait(std::string(key), rate, std::move(done));
  rc = l->impl->engine()->post([r, done = std::move(done)](bool closing) {
    Outcome o;
    o.rate = r;
    if (closing) {
      o.status = HP_ECLOSED;
      o.error = "limits: the engine closed before the call ran";
    }
    Limiter::deliver(done, std::move(o));
  });
  return rc < 0 ? set_error(rc, "limiter_hit_async: the engine is closing") : 0;
}

// A synchronous call on two names (subject and resource, or set and
// member) that answers a code: `sync` on memory and SQLite, `redis` through
// the loop.
using PairSync = int (SyncBackend::*)(std::string_view, std::string_view);
using PairRedis = void (RedisBackend::*)(std::string_view, std::string_view, Done);
int pair_call(const char *where, hp_limiter *l, const char *a, const char *b, PairSync sync,
              PairRedis redis) {
  std::string_view av, bv;
  int rc = check_lease_args(where, l, a, b ? b : "", &av, &bv);
  if (rc != 0) return rc;
  Call call(l);
  if (!call) return closed();
  return hp::core::guard(where, [&] {
    Outcome o;
    return counted(l, outcome_of(
                          l, [&](SyncBackend &s) { return (s.*sync)(av, bv); },
                          [&] {
                            return [x = std::string(av), y = std::string(bv), redis](
                                       RedisBackend &rb, Done d) { (rb.*redis)(x, y, std::move(d)); };
                          },
                          &o));
  });
}

}  // namespace

extern "C" {

int hp_limiter_open(hp_limiter **out, hp_engine *e, const char *spec, const hp_limiter_options *opts) {
  if (!out) return set_error(HP_EINVAL, "limiter_open: out is NULL");
  *out = nullptr;
  if (!spec) return set_error(HP_EINVAL, "limiter_open: spec is NULL");
  hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
  if (opts) {
    if (opts->version == 1) {
      // Version 1 ends before local_budget.
      o.timeout_ms = opts->timeout_ms;
      o.prefix = opts->prefix;
      o.sqlite_inline = opts->sqlite_inline;
    } else if (opts->version == HP_LIMITER_OPTIONS_VERSION) {
      o = *opts;
    } else {
      return set_error(HP_EINVAL, "limiter_open: unknown hp_limiter_options version ", std::to_string(opts->version));
    }
  }
  if (o.local_budget > (1u << 30)) return set_error(HP_EINVAL, "limiter_open: local_budget is over 2^30");
  if (o.local_hold_ms > 3600000) return set_error(HP_EINVAL, "limiter_open: local_hold_ms is over 3600000");
  if (o.timeout_ms > 600000) return set_error(HP_EINVAL, "limiter_open: timeout_ms is over 600000");
  return hp::core::guard("limiter_open", [&] {
    std::shared_ptr<Limiter> impl;
    int rc = Limiter::open(&impl, e ? hp::core::Engine::from_c(e) : nullptr, spec, o);
    if (rc != 0) return rc;
    *out = new hp_limiter(e ? hp::core::Engine::from_c(e) : nullptr, std::move(impl));
    return 0;
  });
}

int hp_limiter_close(hp_limiter *l, hp_close_cb cb, void *data) { return l ? l->close(cb, data) : 0; }

int hp_limiter_backend(const hp_limiter *l) {
  if (!l) return set_error(HP_EINVAL, "limiter_backend: limiter is NULL");
  Call call(const_cast<hp_limiter *>(l));
  if (!call) return closed();
  return l->impl->kind();
}

void hp_lease_list_free(hp_lease_list *list) {
  std::free(list);
}

int hp_limiter_acquire(hp_lease_result *out, hp_limiter *l, const char *subject, const char *resource,
                       uint32_t limit, uint64_t ttl_ms, const hp_lease_options *opts) {
  std::string_view sub, res;
  int rc = check_lease_args("limiter_acquire", l, subject, resource ? resource : "", &sub, &res);
  if (rc != 0) return rc;
  if (!out || out->version != HP_LEASE_RESULT_VERSION)
    return set_error(HP_EINVAL, "limiter_acquire: out is NULL or of an unknown version");
  out->holders = nullptr;
  if (limit == 0) return set_error(HP_EINVAL, "limiter_acquire: limit must be >= 1");
  if ((rc = check_ttl("limiter_acquire", ttl_ms)) != 0) return rc;
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_acquire", [&] {
    hp::limits::Requirements require;
    int r = check_lease_options("limiter_acquire", opts, &require);
    if (r != 0) return r;
    Outcome o;
    r = outcome_of(
        l, [&](SyncBackend &b) { return b.acquire(sub, res, limit, ttl_ms, require, &o.lease); },
        [&] {
          return [s = std::string(sub), r = std::string(res), limit, ttl_ms, require](
                     RedisBackend &rb, Done d) { rb.acquire(s, r, limit, ttl_ms, require, std::move(d)); };
        },
        &o);
    l->impl->counts()->check(r, r >= 0 && o.lease.status < HP_LEASE_DENIED);
    return r < 0 ? r : to_result(o.lease, out);
  });
}

int hp_limiter_release(hp_limiter *l, const char *subject, const char *resource) {
  return pair_call("limiter_release", l, subject, resource, &SyncBackend::release, &RedisBackend::release);
}

int hp_limiter_renew(hp_limiter *l, const char *subject, const char *resource, uint64_t ttl_ms) {
  std::string_view sub, res;
  int rc = check_lease_args("limiter_renew", l, subject, resource ? resource : "", &sub, &res);
  if (rc == 0) rc = check_ttl("limiter_renew", ttl_ms);
  if (rc != 0) return rc;
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_renew", [&] {
    Outcome o;
    return counted(l, outcome_of(
                          l, [&](SyncBackend &b) { return b.renew(sub, res, ttl_ms); },
                          [&] {
                            return [s = std::string(sub), r = std::string(res), ttl_ms](
                                       RedisBackend &rb, Done d) { rb.renew(s, r, ttl_ms, std::move(d)); };
                          },
                          &o));
  });
}

int hp_limiter_holders(hp_lease_list **out, hp_limiter *l, const char *subject) {
  if (!out) return set_error(HP_EINVAL, "limiter_holders: out is NULL");
  *out = nullptr;
  std::string_view sub, res;
  int rc = check_lease_args("limiter_holders", l, subject, nullptr, &sub, &res);
  if (rc != 0) return rc;
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_holders", [&] {
    Outcome o;
    int n = counted(
        l,
        outcome_of(
            l, [&](SyncBackend &b) { return b.holders(sub, &o.holders); },
            [&] { return [s = std::string(sub)](RedisBackend &rb, Done d) { rb.holders(s, std::move(d)); }; },
            &o));
    if (n < 0) return n;
    if (!(*out = hp::limits::make_lease_list(o.holders)))
      return set_error(HP_ENOMEM, "limiter_holders: out of memory for the list");
    return n;
  });
}

int hp_limiter_hit(hp_rate_result *out, hp_limiter *l, const char *key, const hp_rate_spec *spec) {
  if (!l) return set_error(HP_EINVAL, "limiter_hit: limiter is NULL");
  std::string_view k;
  int rc = check_name("limiter_hit", "key", key, &k);
  if (rc != 0) return rc;
  Rate rate;
  if ((rc = check_rate("limiter_hit", spec, &rate)) != 0) return rc;
  if (!out || out->version != HP_RATE_RESULT_VERSION)
    return set_error(HP_EINVAL, "limiter_hit: out is NULL or of an unknown version");
  Call call(l);
  if (!call) return closed();
  if (SyncBackend *b = l->impl->sync()) {
    // The hot path: no std::function, no allocation on a known key.
    return hp::core::guard("limiter_hit", [&] {
      int r = b->hit(k, rate, out);
      l->impl->counts()->check(r, r >= 0 && out->allowed);
      return r;
    });
  }
  bool budget = l->impl->local_budget();
  if (budget && (rc = check_window("limiter_hit", rate)) != 0) return rc;
  return hp::core::guard("limiter_hit", [&] {
    // A local budget decides from the hits in hand first.
    int r = budget ? l->impl->hit_local(k, rate, out) : 0;
    if (r != 0) {
      l->impl->counts()->check(r, r > 0 && out->allowed);
      return r < 0 ? r : 0;
    }
    Outcome o;
    if (budget)
      r = l->impl->wait([key = std::string(k), rate](RedisBackend &rb,
                                                     Done d) { rb.budget()->wait(key, rate, std::move(d)); },
                        &o);
    else
      r = l->impl->wait(
          [key = std::string(k), rate](RedisBackend &rb, Done d) { rb.hit(key, rate, std::move(d)); }, &o);
    l->impl->counts()->check(r, r >= 0 && o.rate.allowed);
    if (r >= 0) *out = o.rate;
    return r < 0 ? r : 0;
  });
}

int hp_limiter_hit_local(hp_rate_result *out, hp_limiter *l, const char *key, const hp_rate_spec *spec) {
  if (!l) return set_error(HP_EINVAL, "limiter_hit_local: limiter is NULL");
  std::string_view k;
  int rc = check_name("limiter_hit_local", "key", key, &k);
  if (rc != 0) return rc;
  Rate rate;
  if ((rc = check_rate("limiter_hit_local", spec, &rate)) != 0) return rc;
  if (!out || out->version != HP_RATE_RESULT_VERSION)
    return set_error(HP_EINVAL, "limiter_hit_local: out is NULL or of an unknown version");
  Call call(l);
  if (!call) return closed();
  if (l->impl->local_budget() && (rc = check_window("limiter_hit_local", rate)) != 0) return rc;
  return hp::core::guard("limiter_hit_local", [&] {
    int r = l->impl->hit_local(k, rate, out);
    if (r != 0) l->impl->counts()->check(r, r > 0 && out->allowed);
    return r;
  });
}

int hp_limiter_set_add(hp_limiter *l, const char *set, const char *member) {
  return pair_call("limiter_set_add", l, set, member, &SyncBackend::set_add, &RedisBackend::set_add);
}

int hp_limiter_set_has(hp_limiter *l, const char *set, const char *member) {
  return pair_call("limiter_set_has", l, set, member, &SyncBackend::set_has, &RedisBackend::set_has);
}

int hp_limiter_acquire_async(hp_limiter *l, const char *subject, const char *resource, uint32_t limit,
                             uint64_t ttl_ms, const hp_lease_options *opts, hp_lease_cb cb, void *data) {
  std::string_view sv, rv;
  int rc = check_lease_args("limiter_acquire_async", l, subject, resource ? resource : "", &sv, &rv);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_acquire_async: cb is NULL");
  if (limit == 0) return set_error(HP_EINVAL, "limiter_acquire_async: limit must be >= 1");
  if ((rc = check_ttl("limiter_acquire_async", ttl_ms)) != 0) return rc;
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_acquire_async", [&] {
    hp::limits::Requirements require;
    int r = check_lease_options("limiter_acquire_async", opts, &require);
    if (r != 0) return r;
    if (RedisBackend *rb = l->impl->redis_now()) {
      rb->acquire(sv, rv, limit, ttl_ms, require, lease_done(l->impl->counts(), cb, data));
      return 0;
    }
    std::string sub(sv), res(rv);
    return l->impl->async(
        [sub, res, limit, ttl_ms, require](SyncBackend &b, Outcome &o) {
          return b.acquire(sub, res, limit, ttl_ms, require, &o.lease);
        },
        [sub, res, limit, ttl_ms, require](RedisBackend &rb, Done d) {
          rb.acquire(sub, res, limit, ttl_ms, require, std::move(d));
        },
        lease_done(l->impl->counts(), cb, data));
  });
}

int hp_limiter_release_async(hp_limiter *l, const char *subject, const char *resource, hp_limiter_cb cb, void *data) {
  std::string_view sv, rv;
  int rc = check_lease_args("limiter_release_async", l, subject, resource ? resource : "", &sv, &rv);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_release_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_release_async", [&] {
    if (RedisBackend *r = l->impl->redis_now()) {
      r->release(sv, rv, code_done(l->impl->counts(), cb, data));
      return 0;
    }
    std::string sub(sv), res(rv);
    return l->impl->async([sub, res](SyncBackend &b, Outcome &) { return b.release(sub, res); },
                          [sub, res](RedisBackend &r, Done d) { r.release(sub, res, std::move(d)); },
                          code_done(l->impl->counts(), cb, data));
  });
}

int hp_limiter_renew_async(hp_limiter *l, const char *subject, const char *resource, uint64_t ttl_ms,
                           hp_limiter_cb cb, void *data) {
  std::string_view sv, rv;
  int rc = check_lease_args("limiter_renew_async", l, subject, resource ? resource : "", &sv, &rv);
  if (rc == 0) rc = check_ttl("limiter_renew_async", ttl_ms);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_renew_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_renew_async", [&] {
    std::string sub(sv), res(rv);
    return l->impl->async([sub, res, ttl_ms](SyncBackend &b, Outcome &) { return b.renew(sub, res, ttl_ms); },
                          [sub, res, ttl_ms](RedisBackend &r, Done d) { r.renew(sub, res, ttl_ms, std::move(d)); },
                          code_done(l->impl->counts(), cb, data));
  });
}

int hp_limiter_holders_async(hp_limiter *l, const char *subject, hp_holders_cb cb, void *data) {
  std::string_view sv, rv;
  int rc = check_lease_args("limiter_holders_async", l, subject, nullptr, &sv, &rv);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_holders_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_holders_async", [&] {
    std::string sub(sv);
    return l->impl->async([sub](SyncBackend &b, Outcome &o) { return b.holders(sub, &o.holders); },
                          [sub](RedisBackend &r, Done d) { r.holders(sub, std::move(d)); },
                          [counts = l->impl->counts(), cb, data](Outcome &&o) {
                            counts->call(o.status);
                            if (o.status < 0) return cb(o.status, nullptr, data);
                            std::vector<hp_lease_info> infos;
                            const hp_lease_info *list = nullptr;
                            int rc = hp::core::guard("limiter_holders_async", [&] {
                              list = to_infos(o.holders, &infos);
                              return 0;
                            });
                            if (rc < 0) return cb(rc, nullptr, data);
                            cb(o.status, list, data);
                          });
  });
}

int hp_limiter_hit_async(hp_limiter *l, const char *key, const hp_rate_spec *spec, hp_rate_cb cb, void *data) {
  if (!l) return set_error(HP_EINVAL, "limiter_hit_async: limiter is NULL");
  std::string_view kv;
  int rc = check_name("limiter_hit_async", "key", key, &kv);
  if (rc != 0) return rc;
  Rate rate;
  if ((rc = check_rate("limiter_hit_async", spec, &rate)) != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_hit_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  if (l->impl->local_budget()) {
    if ((rc = check_window("limiter_hit_async", rate)) != 0) return rc;
    return hp::core::guard("limiter_hit_async", [&] { return hit_from_budget(l, kv, rate, cb, data); });
  }
  return hp::core::guard("limiter_hit_async", [&] {
    if (RedisBackend *r = l->impl->redis_now()) {
      r->hit(kv, rate, [counts = l->impl->counts(), cb, data](Outcome &&o) {
        counts->check(o.status, o.status >= 0 && o.rate.allowed);
        if (o.status < 0) return fail(o, [&] { cb(o.status, nullptr, data); });
        cb(0, &o.rate, data);
      });
      return 0;
    }
    std::string k(kv);
    return l->impl->async([k, rate](SyncBackend &b, Outcome &o) { return b.hit(k, rate, &o.rate); },
                          [k, rate](RedisBackend &r, Done d) { r.hit(k, rate, std::move(d)); },
                          [counts = l->impl->counts(), cb, data](Outcome &&o) {
                            counts->check(o.status, o.status >= 0 && o.rate.allowed);
                            cb(o.status, o.status < 0 ? nullptr : &o.rate, data);
                          });
  });
}

int hp_limiter_set_add_async(hp_limiter *l, const char *set, const char *member, hp_limiter_cb cb, void *data) {
  std::string_view sv, mv;
  int rc = check_lease_args("limiter_set_add_async", l, set, member ? member : "", &sv, &mv);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_set_add_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_set_add_async", [&] {
    std::string s(sv), m(mv);
    return l->impl->async([s, m](SyncBackend &b, Outcome &) { return b.set_add(s, m); },
                          [s, m](RedisBackend &r, Done d) { r.set_add(s, m, std::move(d)); }, code_done(l->impl->counts(), cb, data));
  });
}

int hp_limiter_set_has_async(hp_limiter *l, const char *set, const char *member, hp_limiter_cb cb, void *data) {
  std::string_view sv, mv;
  int rc = check_lease_args("limiter_set_has_async", l, set, member ? member : "", &sv, &mv);
  if (rc != 0) return rc;
  if (!cb) return set_error(HP_EINVAL, "limiter_set_has_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_set_has_async", [&] {
    std::string s(sv), m(mv);
    return l->impl->async([s, m](SyncBackend &b, Outcome &) { return b.set_has(s, m); },
                          [s, m](RedisBackend &r, Done d) { r.set_has(s, m, std::move(d)); }, code_done(l->impl->counts(), cb, data));
  });
}

int hp_limiter_stats_get(hp_limiter_stats *out, const hp_limiter *l) {
  if (!out || !l) return set_error(HP_EINVAL, "limiter_stats_get: out or limiter is NULL");
  if (out->version < 1 || out->version > HP_LIMITER_STATS_VERSION)
    return set_error(HP_EINVAL, "limiter_stats_get: unknown hp_limiter_stats version ", std::to_string(out->version));
  Call call(const_cast<hp_limiter *>(l));
  if (!call) return closed();
  l->impl->counts()->fill(out);
  return 0;
}

int hp_limiter_ping_async(hp_limiter *l, hp_limiter_cb cb, void *data) {
  if (!l) return set_error(HP_EINVAL, "limiter_ping_async: limiter is NULL");
  if (!cb) return set_error(HP_EINVAL, "limiter_ping_async: cb is NULL");
  Call call(l);
  if (!call) return closed();
  return hp::core::guard("limiter_ping_async", [&] {
    return l->impl->async([](SyncBackend &b, Outcome &) { return b.ping(); },
                          [](RedisBackend &r, Done d) { r.ping(std::move(d)); }, code_done(l->impl->counts(), cb, data));
  });
}

}  // extern "C"
