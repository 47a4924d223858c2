#include "limits/redis_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "limits/gcra.h"
#include "limits/local_budget.h"
#include "limits/scripts.h"

namespace hp::limits {

namespace {

uint64_t as_u64(const redisReply *r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer > 0 ? static_cast<uint64_t>(r->integer) : 0;
  if (r->type == REDIS_REPLY_STRING) return std::strtoull(std::string(r->str, r->len).c_str(), nullptr, 10);
  return 0;
}

int64_t as_int(const redisReply *r) { return r->type == REDIS_REPLY_INTEGER ? r->integer : 0; }

// {resource, id, ms left}... into leases, oldest grant first.
void parse_leases(const redisReply *r, size_t from, std::vector<Lease> *out) {
  out->clear();
  if (r->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = from; i + 2 < r->elements; i += 3) {
    const redisReply *res = r->element[i];
    out->push_back(Lease{res->type == REDIS_REPLY_STRING ? std::string(res->str, res->len) : std::string(),
                         as_u64(r->element[i + 1]), as_u64(r->element[i + 2])});
  }
  std::sort(out->begin(), out->end(), [](const Lease &a, const Lease &b) { return a.id < b.id; });
}

// An error reply: HP_EUNAVAILABLE for a server that is busy or between
// roles (it will answer again), HP_EIO for anything else.
void error_reply(std::string_view text, Outcome *o) {
  o->status = redis::is_transient_error(text) ? HP_EUNAVAILABLE : HP_EIO;
  o->error = "limits: redis: ";
  o->error.append(text);
}

std::string_view decimal(uint64_t n, char (&buf)[32]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return {buf, static_cast<size_t>(end - buf)};
}

// The one allocation of a call: its completion, until the reply comes.
struct Call {
  Done done;
};

// Runs `parse` on a good reply and hands the outcome on.
template <void (*Parse)(const redisReply *, Outcome *)>
void on_reply(void *ctx, int status, const redisReply *r) {
  std::unique_ptr<Call> call(static_cast<Call *>(ctx));
  Outcome o;
  if (!RedisBackend::failed(status, r, &o)) Parse(r, &o);
  call->done(std::move(o));
}

void parse_acquire(const redisReply *r, Outcome *o) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
    o->status = HP_EIO;
    o->error = "limits: redis: unexpected reply to the acquire script";
    return;
  }
  o->lease.status = static_cast<int>(as_int(r->element[0]));
  o->lease.count = static_cast<uint32_t>(as_int(r->element[1]));
  o->lease.id = as_u64(r->element[2]);
  if (o->lease.status == HP_LEASE_DENIED) parse_leases(r, 3, &o->lease.holders);
  if (o->lease.status == HP_LEASE_NOT_MEMBER && r->elements > 3)
    o->lease.missing = static_cast<uint32_t>(as_int(r->element[3]));
}

void parse_flag(const redisReply *r, Outcome *o) {
  o->status = as_int(r) ? 1 : 0;
}

void parse_holders(const redisReply *r, Outcome *o) {
  parse_leases(r, 0, &o->holders);
  o->status = static_cast<int>(o->holders.size());
}

// One hit's {allowed, us from now to the TAT} into its result, with the
// memory backend's arithmetic (gcra.h) for the rate the call asked for.
void rate_outcome(const redisReply *flag, const redisReply *dist, const Rate &rate, Outcome *o) {
  if (flag->type == REDIS_REPLY_ERROR) return error_reply(std::string_view(flag->str, flag->len), o);
  if (flag->type != REDIS_REPLY_INTEGER || dist->type != REDIS_REPLY_INTEGER) {
    o->status = HP_EIO;
    o->error = "limits: redis: unexpected reply to the rate script";
    return;
  }
  uint64_t ahead = dist->integer > 0 ? static_cast<uint64_t>(dist->integer) * 1000 : 0;
  bool allowed = flag->integer != 0;
  o->rate.allowed = allowed ? 1 : 0;
  o->rate.remaining =
      rate.tolerance_ns > ahead ? static_cast<uint32_t>((rate.tolerance_ns - ahead) / rate.interval_ns) : 0;
  o->rate.reset_after_ms = ceil_ms(ahead);
  uint64_t allow_in = ahead + rate.interval_ns * rate.cost;
  o->rate.retry_after_ms = !allowed && allow_in > rate.tolerance_ns ? ceil_ms(allow_in - rate.tolerance_ns) : 0;
}

}  // namespace

RedisBackend::RedisBackend(core::Engine *engine, const redis::Options &options, std::string prefix,
                           std::shared_ptr<LocalBudget> budget)
    : engine_(engine),
      options_(options),
      prefix_(std::move(prefix)),
      batch_max_(options.address.cluster ? 1 : kBatchMax),
      budget_(std::move(budget)) {}

RedisBackend::~RedisBackend() = default;

void RedisBackend::start() {
  client_ = redis::Client::open(engine_, options_);
  if (budget_) budget_->start(client_);
}

void RedisBackend::close() {
  if (!client_) return;
  send_hits();  // gathered hits fail with HP_ECLOSED below
  redis::Client *c = client_;
  client_ = nullptr;
  // The budget gives its unused hits back first, then closes the client.
  if (budget_)
    budget_->close();
  else
    c->close();
}

bool RedisBackend::failed(int status, const redisReply *r, Outcome *o) {
  if (status < 0) {
    o->status = status;
    o->error = hp_last_error();
    return true;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    error_reply(std::string_view(r->str, r->len), o);
    return true;
  }
  return false;
}

bool RedisBackend::failed(int status, const redis::Reply &r, Outcome *o) {
  if (status < 0) {
    o->status = status;
    o->error = hp_last_error();
    return true;
  }
  if (r.is_error()) {
    error_reply(r.str, o);
    return true;
  }
  return false;
}

// "<prefix>:{<name>}:<suffix>" in `buf`, which must outlive the call.
std::string_view RedisBackend::key(std::string_view name, std::string_view suffix, std::string &buf) const {
  buf.clear();
  buf.reserve(prefix_.size() + name.size() + suffix.size() + 4);
  buf.append(prefix_).append(":{").append(name).append("}:").append(suffix);
  return buf;
}

template <void (*Parse)(const redisReply *, Outcome *)>
void RedisBackend::run(const redis::Script &script, const std::string_view *argv, size_t argc, size_t nkeys,
                       Done done) {
  client_->eval(script, nkeys, argv, argc, &on_reply<Parse>, new Call{std::move(done)});
}

void RedisBackend::acquire(std::string_view subject, std::string_view resource, uint32_t limit,
                           uint64_t ttl_ms, const Requirements &require, Done done) {
  std::string zkey, hkey;
  char lim[32], ttl[32];
  if (require.empty()) {
    std::string_view argv[] = {key(subject, "leases", zkey), key(subject, "ids", hkey), resource,
                               decimal(limit, lim), decimal(ttl_ms, ttl)};
    return run<parse_acquire>(acquire_script(), argv, 5, 2, std::move(done));
  }
  // KEYS: the subject's two, then one set key per requirement; ARGV: the
  // acquire's three, then the members.
  size_t n = require.size();
  std::vector<std::string> sets(n);
  std::vector<std::string_view> argv(2 + n + 3 + n);
  argv[0] = key(subject, "leases", zkey);
  argv[1] = key(subject, "ids", hkey);
  bool one_slot = true;
  int slot = options_.address.cluster ? redis::key_slot(zkey) : 0;
  for (size_t i = 0; i < n; i++) {
    argv[2 + i] = key(require[i].set, "set", sets[i]);
    argv[2 + n + 3 + i] = require[i].member;
    if (options_.address.cluster && redis::key_slot(sets[i]) != slot) one_slot = false;
  }
  if (!one_slot) return acquire_after_checks(subject, resource, limit, ttl_ms, require, std::move(done));
  argv[2 + n] = resource;
  argv[2 + n + 1] = decimal(limit, lim);
  argv[2 + n + 2] = decimal(ttl_ms, ttl);
  run<parse_acquire>(acquire_if_script(), argv.data(), argv.size(), 2 + n, std::move(done));
}

// The SISMEMBERs of a conditional acquire across slots, until the last
// answers.
struct RedisBackend::Checks {
  RedisBackend *backend;
  std::string subject, resource;
  uint32_t limit;
  uint64_t ttl_ms;
  size_t left;
  size_t missing;  // the first requirement missing so far; n when none
  Outcome failure;
  Done done;
};

void RedisBackend::acquire_after_checks(std::string_view subject, std::string_view resource, uint32_t limit,
                                        uint64_t ttl_ms, const Requirements &require, Done done) {
  size_t n = require.size();
  auto st = std::make_shared<Checks>(Checks{this, std::string(subject), std::string(resource), limit, ttl_ms,
                                            n, n, Outcome{}, std::move(done)});
  for (size_t i = 0; i < n; i++) {
    set_command("SISMEMBER", require[i].set, require[i].member, [st, i, n](Outcome &&o) {
      if (o.status < 0) {
        if (st->failure.status == 0) st->failure = std::move(o);
      } else if (o.status == 0 && i < st->missing) {
        st->missing = i;
      }
      if (--st->left) return;
      if (st->failure.status < 0) return st->done(std::move(st->failure));
      Outcome out;
      if (st->missing < n) {
        out.lease.status = HP_LEASE_NOT_MEMBER;
        out.lease.missing = static_cast<uint32_t>(st->missing);
        return st->done(std::move(out));
      }
      RedisBackend *b = st->backend;
      if (!b->client_) {  // closed while the checks were out
        out.status = HP_ECLOSED;
        out.error = "limits: limiter closed";
        return st->done(std::move(out));
      }
      b->acquire(st->subject, st->resource, st->limit, st->ttl_ms, Requirements{}, std::move(st->done));
    });
  }
}

void RedisBackend::release(std::string_view subject, std::string_view resource, Done done) {
  std::string zkey, hkey;
  std::string_view argv[] = {key(subject, "leases", zkey), key(subject, "ids", hkey), resource};
  run<parse_flag>(release_script(), argv, 3, 2, std::move(done));
}

void RedisBackend::renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms, Done done) {
  std::string zkey, hkey;
  char ttl[32];
  std::string_view argv[] = {key(subject, "leases", zkey), key(subject, "ids", hkey), resource, decimal(ttl_ms, ttl)};
  run<parse_flag>(renew_script(), argv, 4, 2, std::move(done));
}

void RedisBackend::holders(std::string_view subject, Done done) {
  std::string zkey, hkey;
  std::string_view argv[] = {key(subject, "leases", zkey), key(subject, "ids", hkey)};
  run<parse_holders>(holders_script(), argv, 2, 2, std::move(done));
}

void RedisBackend::hit(std::string_view name, const Rate &rate, Done done) {
  std::string k;
  key(name, "rate", k);
  hits_.push_back(PendingHit{std::move(k), rate, std::move(done)});
  if (hits_.size() >= batch_max_) return send_hits();
  if (hits_.size() == 1 && !client_->before_flush([this] { send_hits(); })) send_hits();
}

// What one EVALSHA of gathered hits carries until its reply.
struct RedisBackend::HitBatch {
  RedisBackend *backend;
  std::vector<PendingHit> hits;
};

void RedisBackend::send_hits() {
  if (hits_.empty()) return;
  auto *batch = new HitBatch{this, {}};
  batch->hits.swap(hits_);
  size_t n = batch->hits.size();
  // Keys, then per hit: increment and tolerance in whole microseconds, and
  // how long the key must live. Hits of one rate share their numbers.
  std::vector<std::string_view> argv(4 * n);
  std::vector<std::array<char, 32>> digits;
  digits.reserve(3 * n);
  const Rate *last = nullptr;
  for (size_t i = 0; i < n; i++) {
    const PendingHit &h = batch->hits[i];
    argv[i] = h.key;
    std::string_view *args = &argv[n + 3 * i];
    if (last && last->interval_ns == h.rate.interval_ns && last->tolerance_ns == h.rate.tolerance_ns &&
        last->cost == h.rate.cost) {
      std::copy(args - 3, args, args);
      continue;
    }
    last = &h.rate;
    uint64_t inc = (h.rate.interval_ns * h.rate.cost + 500) / 1000;
    if (h.rate.cost && !inc) inc = 1;  // a hit always costs something
    uint64_t tau = h.rate.tolerance_ns / 1000;
    for (uint64_t v : {inc, tau, tau / 1000 + 2}) {
      auto &d = digits.emplace_back();
      auto [end, ec] = std::to_chars(d.data(), d.data() + d.size(), v);
      *args++ = std::string_view(d.data(), static_cast<size_t>(end - d.data()));
    }
  }
  client_->eval(gcra_script(), n, argv.data(), argv.size(), &RedisBackend::on_hits, batch);
}

void RedisBackend::on_hits(void *ctx, int status, const redisReply *r) {
  std::unique_ptr<HitBatch> batch(static_cast<HitBatch *>(ctx));
  RedisBackend *self = batch->backend;
  auto &hits = batch->hits;
  // Redis Cluster refuses keys of several slots in one script: from now on
  // every hit goes alone.
  if (status == 0 && hits.size() > 1 && redis::is_error(r, "CROSSSLOT") && self->client_) {
    self->batch_max_ = 1;
    for (auto &h : hits) {
      self->hits_.push_back(std::move(h));
      self->send_hits();
    }
    return;
  }
  // One failure for all, copied before any callback can touch hp_last_error().
  Outcome failure;
  if (!failed(status, r, &failure) && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * hits.size())) {
    failure.status = HP_EIO;
    failure.error = "limits: redis: unexpected reply to the rate script";
  }
  for (size_t i = 0; i < hits.size(); i++) {
    Outcome o;
    if (failure.status < 0)
      o = failure;
    else
      rate_outcome(r->element[2 * i], r->element[2 * i + 1], hits[i].rate, &o);
    hits[i].done(std::move(o));
  }
}

void RedisBackend::set_command(const char *command, std::string_view set, std::string_view member, Done done) {
  std::string k;
  client_->command({command, std::string(key(set, "set", k)), std::string(member)},
                   [done = std::move(done)](int status, redis::Reply r) {
                     Outcome o;
                     if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
                     done(std::move(o));
                   });
}

void RedisBackend::set_add(std::string_view set, std::string_view member, Done done) {
  set_command("SADD", set, member, std::move(done));
}

void RedisBackend::set_has(std::string_view set, std::string_view member, Done done) {
  set_command("SISMEMBER", set, member, std::move(done));
}

void RedisBackend::ping(Done done) {
  client_->command({"PING"}, [done = std::move(done)](int status, redis::Reply r) {
    Outcome o;
    failed(status, r, &o);
    done(std::move(o));
  });
}

}  // namespace hp::limits
