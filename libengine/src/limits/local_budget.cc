#include "limits/local_budget.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <mutex>

#include "core/error.h"
#include "limits/fast_clock.h"
#include "limits/gcra.h"
#include "limits/redis_store.h"
#include "limits/scripts.h"

namespace hp::limits {

namespace {

// The word of a key: bit 63 set when Redis had no more hits for this
// window at its last answer; bits 40..62 the window's generation in this
// process (0: no lease yet); bits 0..39 the hits in hand.
constexpr uint64_t kExhausted = uint64_t{1} << 63;
constexpr unsigned kGenShift = 40;
constexpr uint64_t kGenMask = (uint64_t{1} << 23) - 1;
constexpr uint64_t kHits = (uint64_t{1} << kGenShift) - 1;

uint64_t gen_of(uint64_t word) {
  return (word >> kGenShift) & kGenMask;
}

uint64_t reply_u64(const redisReply *r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer > 0 ? static_cast<uint64_t>(r->integer) : 0;
  uint64_t v = 0;
  if (r->type == REDIS_REPLY_STRING) std::from_chars(r->str, r->str + r->len, v);
  return v;
}

struct Digits {
  char buf[24];
  std::string_view of(uint64_t v) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return {buf, static_cast<size_t>(end - buf)};
  }
};

void fill(hp_rate_result *out, bool allowed, uint64_t remaining, uint64_t ns_left) {
  out->allowed = allowed ? 1 : 0;
  out->remaining = static_cast<uint32_t>(std::min<uint64_t>(remaining, UINT32_MAX));
  out->reset_after_ms = ceil_ms(ns_left);
  out->retry_after_ms = allowed ? 0 : out->reset_after_ms;
}

Outcome failure(int status, const char *why) {
  Outcome o;
  o.status = status;
  o.error = why;
  return o;
}

}  // namespace

struct LocalBudget::Entry {
  Entry(std::string_view name, std::string redis, const Rate &rate)
      : name(name), redis_key(std::move(redis)), limit(rate.rate), period_ms(rate.period_ms) {}

  struct Window {
    std::atomic<uint64_t> deadline{0};  // FastClock ns, a little before the server's window ends
    std::atomic<uint64_t> rest{0};      // hits of the window nobody held at the last answer
  };
  std::atomic<uint64_t> word{0};
  Window windows[2];                    // by generation parity: a hit reads the one its word names
  std::atomic<uint64_t> recheck_at{0};  // exhausted: ask Redis again from then
  std::atomic<bool> asking{false};      // a lease is wanted or in flight

  const std::string name;
  const std::string redis_key;
  const uint32_t limit;
  const uint64_t period_ms;

  // Loop thread only.
  struct Waiter {
    Rate rate;
    Done done;
  };
  uint64_t window = 0;   // the server's window index of the current generation
  uint64_t expires = 0;  // the unused hits go back from then
  uint32_t wanted = 0;   // hits the lease in flight asked for
  std::deque<Waiter> waiters;
};

// The tick that gives back what blocks held past `hold` did not use. It
// closes with the engine if the engine goes first.
struct LocalBudget::Ticker final : core::Closable {
  core::Engine *engine;
  std::weak_ptr<LocalBudget> budget;
  uv_timer_t timer{};
  bool stopped = false;

  void close_now() override { stop(); }
  void stop() {
    if (stopped) return;
    stopped = true;
    if (auto b = budget.lock()) b->ticker_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t *>(&timer), [](uv_handle_t *h) {
      auto *t = static_cast<Ticker *>(h->data);
      t->engine->remove(t);
      delete t;
    });
  }
};

// What a lease or a return carries until its reply.
struct LocalBudget::Reply {
  std::shared_ptr<LocalBudget> budget;
  EntryRef entry;  // null for a return
  uint64_t sent_at = 0;
};

LocalBudget::LocalBudget(core::Engine *engine, std::string prefix, uint32_t block, uint32_t hold_ms,
                         std::shared_ptr<Counts> counts)
    : engine_(engine),
      prefix_(std::move(prefix)),
      block_(block),
      hold_ns_(uint64_t{hold_ms} * 1000000),
      counts_(std::move(counts)) {}

LocalBudget::~LocalBudget() = default;

int LocalBudget::decide(std::string_view key, const Rate &rate, hp_rate_result *out, EntryRef *renew) {
  Shard &s = shard(key);
  std::shared_lock<std::shared_mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return 0;
  Entry &e = *it->second;
  if (rate.rate != e.limit || rate.period_ms != e.period_ms)
    return core::set_error(HP_EINVAL, "limits: key '", key,
                           "' is counted with another rate or period in this process's local budget");
  bool low = false;
  int r = decide_entry(e, rate, FastClock::now(), out, &low);
  if (low && !e.asking.load(std::memory_order_relaxed) && !e.asking.exchange(true)) *renew = it->second;
  return r;
}

int LocalBudget::decide_entry(Entry &e, const Rate &rate, uint64_t now, hp_rate_result *out, bool *low) {
  uint64_t w = e.word.load(std::memory_order_acquire);
  for (;;) {
    uint64_t gen = gen_of(w);
    if (gen == 0) return 0;
    const Entry::Window &win = e.windows[gen & 1];
    uint64_t deadline = win.deadline.load(std::memory_order_acquire);
    // Past the deadline the hits in hand belong to a window that is over.
    if (now >= deadline) return 0;
    uint64_t hits = w & kHits;
    uint64_t rest = win.rest.load(std::memory_order_relaxed);
    if (hits >= rate.cost) {
      // The compare-and-swap also proves the generation (and so the
      // deadline read above) was still current.
      if (rate.cost == 0 || e.word.compare_exchange_weak(w, w - rate.cost, std::memory_order_acq_rel,
                                                         std::memory_order_acquire)) {
        fill(out, true, hits - rate.cost + rest, deadline - now);
        *low = !(w & kExhausted) && hits - rate.cost < (block_ + 1) / 2;
        return 1;
      }
      continue;
    }
    if ((w & kExhausted) && now < e.recheck_at.load(std::memory_order_relaxed)) {
      fill(out, false, hits, deadline - now);
      return 1;
    }
    return 0;
  }
}

void LocalBudget::cancel(Entry &e) {
  e.asking = false;
}

void LocalBudget::start(redis::Client *client) {
  client_ = client;
  auto *t = new Ticker;
  t->engine = engine_;
  t->budget = weak_from_this();
  t->timer.data = t;
  engine_->add(t);
  uv_timer_init(engine_->loop(), &t->timer);
  uint64_t every = std::max<uint64_t>(1, hold_ns_ / 2000000);
  uv_timer_start(
      &t->timer,
      [](uv_timer_t *h) {
        if (auto b = static_cast<Ticker *>(h->data)->budget.lock()) b->tick();
      },
      every, every);
  // Leftovers of an idle process must not keep its loop alive.
  uv_unref(reinterpret_cast<uv_handle_t *>(&t->timer));
  ticker_ = t;
}

LocalBudget::EntryRef LocalBudget::find_or_add(std::string_view key, const Rate &rate) {
  Shard &s = shard(key);
  std::unique_lock<std::shared_mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) return it->second;
  std::string name(key);
  std::string redis_key;
  redis_key.reserve(prefix_.size() + key.size() + 12);
  redis_key.append(prefix_).append(":{").append(key).append("}:window");
  auto e = std::make_shared<Entry>(key, std::move(redis_key), rate);
  e->expires = FastClock::now() + hold_ns_;
  entries_.push_back(e);
  try {
    s.map.emplace(std::move(name), e);
  } catch (...) {
    entries_.pop_back();
    throw;
  }
  return e;
}

void LocalBudget::wait(std::string_view key, const Rate &rate, Done done) {
  if (closing_ || !client_) {
    engine_->run_soon([done = std::move(done)] { done(failure(HP_ECLOSED, "limits: limiter closed")); });
    return;
  }
  EntryRef e = find_or_add(key, rate);
  if (rate.rate != e->limit || rate.period_ms != e->period_ms) {
    engine_->run_soon([done = std::move(done), name = e->name] {
      Outcome o = failure(HP_EINVAL, "");
      o.error =
          "limits: key '" + name + "' is counted with another rate or period in this process's local budget";
      done(std::move(o));
    });
    return;
  }
  e->waiters.push_back(Entry::Waiter{rate, std::move(done)});
  // Settled by the lease's reply, never inside this call.
  if (!e->asking.exchange(true)) lease(e);
}

void LocalBudget::lease(const EntryRef &e) {
  if (!client_ || closing_) {
    e->asking = false;
    return;
  }
  uint32_t want = block_;
  for (auto &w : e->waiters) want = std::max(want, w.rate.cost);
  want = std::min(want, e->limit);
  e->wanted = want;
  Digits a, b, c;
  std::string_view argv[] = {e->redis_key, a.of(want), b.of(e->limit), c.of(e->period_ms)};
  auto *ctx = new Reply{shared_from_this(), e, FastClock::now()};
  in_flight_++;
  client_->eval(budget_lease_script(), 1, argv, 4, &LocalBudget::on_lease, ctx);
}

void LocalBudget::on_lease(void *ctx, int status, const redisReply *r) {
  std::unique_ptr<Reply> reply(static_cast<Reply *>(ctx));
  LocalBudget &self = *reply->budget;
  const EntryRef &e = reply->entry;
  self.in_flight_--;
  Outcome bad;
  bool failed = RedisBackend::failed(status, r, &bad);
  if (!failed && (r->type != REDIS_REPLY_ARRAY || r->elements < 4)) {
    failed = true;
    bad = failure(HP_EIO, "limits: redis: unexpected reply to the local-budget lease script");
  }
  if (!failed) self.install(e, r, reply->sent_at);
  e->asking = false;
  if (self.closing_) {
    self.give_back(*e, FastClock::now());
    Outcome closed = failure(HP_ECLOSED, "limits: limiter closed");
    self.settle_waiters(e, &closed);
  } else {
    // A renewal nobody waited for still counts its failure.
    if (failed && e->waiters.empty()) self.counts_->call(bad.status);
    self.settle_waiters(e, failed ? &bad : nullptr);
  }
  self.finished_one();
}

void LocalBudget::install(const EntryRef &e, const redisReply *r, uint64_t sent_at) {
  uint64_t granted = reply_u64(r->element[0]);
  uint64_t window = reply_u64(r->element[1]);
  uint64_t us_left = reply_u64(r->element[2]);
  uint64_t rest = reply_u64(r->element[3]);
  uint64_t now = FastClock::now();
  uint64_t exhausted = granted < e->wanted ? kExhausted : 0;
  uint64_t cur = e->word.load(std::memory_order_acquire);
  uint64_t gen = gen_of(cur);
  if (gen != 0 && window == e->window) {
    e->windows[gen & 1].rest.store(rest, std::memory_order_relaxed);
    while (!e->word.compare_exchange_weak(cur, ((cur & ~kExhausted) + granted) | exhausted,
                                          std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
  } else {
    // A new window: what was left of the last one is void. Its deadline is
    // counted from when the request went out, so it falls before the
    // server's own end of the window.
    uint64_t next = gen % kGenMask + 1;
    Entry::Window &win = e->windows[next & 1];
    win.deadline.store(sent_at + us_left * 1000, std::memory_order_release);
    win.rest.store(rest, std::memory_order_relaxed);
    e->window = window;
    e->word.store(exhausted | (next << kGenShift) | granted, std::memory_order_release);
  }
  if (exhausted) e->recheck_at.store(now + hold_ns_, std::memory_order_relaxed);
  e->expires = now + hold_ns_;
}

void LocalBudget::settle_waiters(const EntryRef &e, const Outcome *fail) {
  while (!e->waiters.empty()) {
    Outcome o;
    if (fail) {
      o = *fail;
    } else {
      bool low = false;
      int r = decide_entry(*e, e->waiters.front().rate, FastClock::now(), &o.rate, &low);
      if (r == 0) {
        if (!e->asking.exchange(true)) lease(e);
        return;
      }
      if (low && !e->asking.exchange(true)) lease(e);
    }
    Done done = std::move(e->waiters.front().done);
    e->waiters.pop_front();
    done(std::move(o));
  }
}

void LocalBudget::give_back(Entry &e, uint64_t now) {
  uint64_t cur = e.word.load(std::memory_order_acquire);
  uint64_t taken;
  do {
    taken = cur & kHits;
    if (taken == 0) return;
  } while (
      !e.word.compare_exchange_weak(cur, cur & ~kHits, std::memory_order_acq_rel, std::memory_order_acquire));
  // A window that is over needs nothing back.
  if (!client_ || now >= e.windows[gen_of(cur) & 1].deadline.load(std::memory_order_relaxed)) return;
  Digits a, b, c;
  std::string_view argv[] = {e.redis_key, a.of(e.window), b.of(e.period_ms), c.of(taken)};
  in_flight_++;
  client_->eval(budget_return_script(), 1, argv, 4, &LocalBudget::on_returned,
                new Reply{shared_from_this(), nullptr, 0});
}

void LocalBudget::on_returned(void *ctx, int status, const redisReply *r) {
  std::unique_ptr<Reply> reply(static_cast<Reply *>(ctx));
  LocalBudget &self = *reply->budget;
  self.in_flight_--;
  Outcome bad;
  if (RedisBackend::failed(status, r, &bad)) self.counts_->call(bad.status);
  self.finished_one();
}

void LocalBudget::finished_one() {
  if (!closing_ || in_flight_ != 0 || !client_) return;
  redis::Client *c = client_;
  client_ = nullptr;
  c->close();
}

void LocalBudget::tick() {
  uint64_t now = FastClock::now();
  for (size_t i = 0; i < entries_.size();) {
    EntryRef &e = entries_[i];
    if (now < e->expires) {
      i++;
      continue;
    }
    give_back(*e, now);
    if (e->asking.load() || !e->waiters.empty()) {
      i++;
      continue;
    }
    // Idle: forget the key (its next hit asks Redis again). Hits find
    // keys under the shard's lock, so none holds this one now.
    Shard &s = shard(e->name);
    {
      std::unique_lock<std::shared_mutex> lock(s.mu);
      if (e->asking.load() || (e->word.load() & kHits) != 0) {
        i++;
        continue;
      }
      s.map.erase(e->name);
    }
    std::swap(e, entries_.back());
    entries_.pop_back();
  }
}

void LocalBudget::close() {
  if (closing_) return;
  closing_ = true;
  if (ticker_) ticker_->stop();
  uint64_t now = FastClock::now();
  Outcome closed = failure(HP_ECLOSED, "limits: limiter closed");
  for (auto &e : entries_) {
    give_back(*e, now);
    if (!e->asking.load()) settle_waiters(e, &closed);
  }
  finished_one();
}

}  // namespace hp::limits
