#include "limits/redis_store.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "limits/scripts.h"

namespace hp::limits {

namespace {

uint64_t as_u64(const redis::Reply &r) {
  if (r.type == redis::Reply::Integer) return r.integer > 0 ? static_cast<uint64_t>(r.integer) : 0;
  if (r.type == redis::Reply::String) return std::strtoull(r.str.c_str(), nullptr, 10);
  return 0;
}

// {resource, id, ms left}... into leases, oldest grant first.
void parse_leases(const std::vector<redis::Reply> &e, size_t from, std::vector<Lease> *out) {
  out->clear();
  for (size_t i = from; i + 2 < e.size(); i += 3)
    out->push_back(Lease{e[i].str, as_u64(e[i + 1]), as_u64(e[i + 2])});
  std::sort(out->begin(), out->end(), [](const Lease &a, const Lease &b) { return a.id < b.id; });
}

bool starts_with(const std::string &s, const char *p) { return s.rfind(p, 0) == 0; }

}  // namespace

void RedisBackend::start() {
  client_ = redis::Client::open(engine_, options_);
}

void RedisBackend::close() {
  if (!client_) return;
  redis::Client *c = client_;
  client_ = nullptr;
  c->close();
}

bool RedisBackend::failed(int status, const redis::Reply &r, Outcome *o) {
  if (status < 0) {
    o->status = status;
    o->error = hp_last_error();
    return true;
  }
  if (r.is_error()) {
    bool busy = starts_with(r.str, "LOADING") || starts_with(r.str, "BUSY") || starts_with(r.str, "MASTERDOWN") ||
                starts_with(r.str, "CLUSTERDOWN") || starts_with(r.str, "TRYAGAIN") || starts_with(r.str, "READONLY");
    o->status = busy ? HP_EUNAVAILABLE : HP_EIO;
    o->error = "limits: redis: " + r.str;
    return true;
  }
  return false;
}

std::vector<std::string> RedisBackend::lease_keys(const std::string &subject) const {
  std::string base = prefix_ + ":{" + subject + "}:";
  return {base + "leases", base + "ids"};
}

void RedisBackend::acquire(const std::string &subject, const std::string &resource, uint32_t limit, uint64_t ttl_ms,
                           Done done) {
  client_->eval(acquire_script(), lease_keys(subject),
                {resource, std::to_string(limit), std::to_string(ttl_ms)},
                [done = std::move(done)](int status, redis::Reply r) {
                  Outcome o;
                  if (!failed(status, r, &o)) {
                    if (r.type != redis::Reply::Array || r.elements.size() < 3) {
                      o.status = HP_EIO;
                      o.error = "limits: redis: unexpected reply to the acquire script";
                    } else {
                      o.lease.status = static_cast<int>(r.elements[0].integer);
                      o.lease.count = static_cast<uint32_t>(r.elements[1].integer);
                      o.lease.id = as_u64(r.elements[2]);
                      if (o.lease.status == HP_LEASE_DENIED) parse_leases(r.elements, 3, &o.lease.holders);
                    }
                  }
                  done(std::move(o));
                });
}

void RedisBackend::release(const std::string &subject, const std::string &resource, Done done) {
  client_->eval(release_script(), lease_keys(subject), {resource}, [done = std::move(done)](int status, redis::Reply r) {
    Outcome o;
    if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
    done(std::move(o));
  });
}

void RedisBackend::renew(const std::string &subject, const std::string &resource, uint64_t ttl_ms, Done done) {
  client_->eval(renew_script(), lease_keys(subject), {resource, std::to_string(ttl_ms)},
                [done = std::move(done)](int status, redis::Reply r) {
                  Outcome o;
                  if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
                  done(std::move(o));
                });
}

void RedisBackend::holders(const std::string &subject, Done done) {
  client_->eval(holders_script(), lease_keys(subject), {}, [done = std::move(done)](int status, redis::Reply r) {
    Outcome o;
    if (!failed(status, r, &o)) {
      parse_leases(r.elements, 0, &o.holders);
      o.status = static_cast<int>(o.holders.size());
    }
    done(std::move(o));
  });
}

void RedisBackend::hit(const std::string &key, const Rate &rate, Done done) {
  char interval[48], tolerance[48];
  std::snprintf(interval, sizeof interval, "%.3f", static_cast<double>(rate.interval_ns) / 1000.0);
  std::snprintf(tolerance, sizeof tolerance, "%.3f", static_cast<double>(rate.tolerance_ns) / 1000.0);
  client_->eval(gcra_script(), {prefix_ + ":{" + key + "}:rate"}, {interval, tolerance, std::to_string(rate.cost)},
                [done = std::move(done)](int status, redis::Reply r) {
                  Outcome o;
                  if (!failed(status, r, &o)) {
                    if (r.type != redis::Reply::Array || r.elements.size() != 4) {
                      o.status = HP_EIO;
                      o.error = "limits: redis: unexpected reply to the rate script";
                    } else {
                      o.rate.allowed = r.elements[0].integer ? 1 : 0;
                      o.rate.remaining = static_cast<uint32_t>(as_u64(r.elements[1]));
                      o.rate.retry_after_ms = as_u64(r.elements[2]);
                      o.rate.reset_after_ms = as_u64(r.elements[3]);
                    }
                  }
                  done(std::move(o));
                });
}

void RedisBackend::set_add(const std::string &set, const std::string &member, Done done) {
  client_->command({"SADD", prefix_ + ":{" + set + "}:set", member}, [done = std::move(done)](int status, redis::Reply r) {
    Outcome o;
    if (!failed(status, r, &o)) o.status = r.integer ? 1 : 0;
    done(std::move(o));
  });
}

void RedisBackend::set_has(const std::string &set, const std::string &member, Done done) {
  client_->command({"SISMEMBER", prefix_ + ":{" + set + "}:set", member},
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
