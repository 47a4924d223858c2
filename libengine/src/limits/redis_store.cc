#include "limits/redis_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "limits/gcra.h"
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
  auto is = [text](std::string_view p) { return text.substr(0, p.size()) == p; };
  bool busy = is("LOADING") || is("BUSY") || is("MASTERDOWN") || is("CLUSTERDOWN") || is("TRYAGAIN") || is("READONLY");
  o->status = busy ? HP_EUNAVAILABLE : HP_EIO;
  o->error = "limits: redis: ";
  o->error.append(text);
}

// Microseconds with 3 decimals ("%.3f" of ns / 1000) without printf.
std::string_view micros(uint64_t ns, char (&buf)[32]) {
  auto [end, ec] = std::to_chars(buf, buf + 24, ns / 1000);
  unsigned frac = static_cast<unsigned>(ns % 1000);
  *end++ = '.';
  *end++ = static_cast<char>('0' + frac / 100);
  *end++ = static_cast<char>('0' + frac / 10 % 10);
  *end++ = static_cast<char>('0' + frac % 10);
  return {buf, static_cast<size_t>(end - buf)};
}

std::string_view decimal(uint64_t n, char (&buf)[32]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return {buf, static_cast<size_t>(end - buf)};
}

// The one allocation of a call: its completion, until the reply comes.
struct Call {
  Done done;
  Rate rate;  // hits only
};

// Runs `parse` on a good reply and hands the outcome on.
template <void (*Parse)(const redisReply *, const Rate &, Outcome *)>
void on_reply(void *ctx, int status, const redisReply *r) {
  std::unique_ptr<Call> call(static_cast<Call *>(ctx));
  Outcome o;
  if (!RedisBackend::failed(status, r, &o)) Parse(r, call->rate, &o);
  call->done(std::move(o));
}

void parse_acquire(const redisReply *r, const Rate &, Outcome *o) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
    o->status = HP_EIO;
    o->error = "limits: redis: unexpected reply to the acquire script";
    return;
  }
  o->lease.status = static_cast<int>(as_int(r->element[0]));
  o->lease.count = static_cast<uint32_t>(as_int(r->element[1]));
  o->lease.id = as_u64(r->element[2]);
  if (o->lease.status == HP_LEASE_DENIED) parse_leases(r, 3, &o->lease.holders);
}

void parse_flag(const redisReply *r, const Rate &, Outcome *o) { o->status = as_int(r) ? 1 : 0; }

void parse_holders(const redisReply *r, const Rate &, Outcome *o) {
  parse_leases(r, 0, &o->holders);
  o->status = static_cast<int>(o->holders.size());
}

// {allowed, ns from now to the TAT} into the result, with the memory
// backend's arithmetic (gcra.h) for the rate the call asked for.
void parse_rate(const redisReply *r, const Rate &rate, Outcome *o) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_INTEGER) {
    o->status = HP_EIO;
    o->error = "limits: redis: unexpected reply to the rate script";
    return;
  }
  uint64_t ahead = r->element[1]->integer > 0 ? static_cast<uint64_t>(r->element[1]->integer) : 0;
  bool allowed = as_int(r->element[0]) != 0;
  o->rate.allowed = allowed ? 1 : 0;
  o->rate.remaining =
      rate.tolerance_ns > ahead ? static_cast<uint32_t>((rate.tolerance_ns - ahead) / rate.interval_ns) : 0;
  o->rate.reset_after_ms = ceil_ms(ahead);
  uint64_t allow_in = ahead + rate.interval_ns * rate.cost;
  o->rate.retry_after_ms = !allowed && allow_in > rate.tolerance_ns ? ceil_ms(allow_in - rate.tolerance_ns) : 0;
}

}  // namespace

void RedisBackend::start() { client_ = redis::Client::open(engine_, options_); }

void RedisBackend::close() {
  if (!client_) return;
  redis::Client *c = client_;
  client_ = nullptr;
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

template <void (*Parse)(const redisReply *, const Rate &, Outcome *)>
void RedisBackend::run(const redis::Script &script, const std::string_view *argv, size_t argc, size_t nkeys,
                       Done done, const Rate &rate) {
  client_->eval(script, nkeys, argv, argc, &on_reply<Parse>, new Call{std::move(done), rate});
}

void RedisBackend::acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
                           Done done) {
  std::string zkey, hkey;
  char lim[32], ttl[32];
  std::string_view argv[] = {key(subject, "leases", zkey), key(subject, "ids", hkey), resource, decimal(limit, lim),
                             decimal(ttl_ms, ttl)};
  run<parse_acquire>(acquire_script(), argv, 5, 2, std::move(done));
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
  char interval[32], tolerance[32], cost[32];
  std::string_view argv[] = {key(name, "rate", k), micros(rate.interval_ns, interval),
                             micros(rate.tolerance_ns, tolerance), decimal(rate.cost, cost)};
  run<parse_rate>(gcra_script(), argv, 4, 1, std::move(done), rate);
}

void RedisBackend::set_add(std::string_view set, std::string_view member, Done done) {
  std::string k;
  client_->command({"SADD", std::string(key(set, "set", k)), std::string(member)},
                   [done = std::move(done)](int status, redis::Reply r) {
                     Outcome o;
                     if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
                     done(std::move(o));
                   });
}

void RedisBackend::set_has(std::string_view set, std::string_view member, Done done) {
  std::string k;
  client_->command({"SISMEMBER", std::string(key(set, "set", k)), std::string(member)},
                   [done = std::move(done)](int status, redis::Reply r) {
                     Outcome o;
                     if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
                     done(std::move(o));
                   });
}

void RedisBackend::ping(Done done) {
  client_->command({"PING"}, [done = std::move(done)](int status, redis::Reply r) {
    Outcome o;
    failed(status, r, &o);
    done(std::move(o));
  });
}

}  // namespace hp::limits
