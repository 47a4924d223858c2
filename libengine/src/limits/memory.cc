#include "limits/memory.h"

#include <time.h>

#include <algorithm>

#include "limits/fast_clock.h"
#include "limits/gcra.h"

namespace hp::limits {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

MemoryBackend::~MemoryBackend() {
  for (auto &s : leases_)
    for (auto &kv : s.map) delete kv.second;
}

int MemoryBackend::hit(std::string_view key, const Rate &rate, hp_rate_result *out) {
  rates_.hit(key, FastClock::now(), rate, out);
  return 0;
}

void MemoryBackend::drop_expired(LeaseShard &shard, Subject &s, uint64_t now) {
  if (s.leases.empty()) return;
  s.leases.erase(std::remove_if(s.leases.begin(), s.leases.end(), [now](const LeaseRec &l) { return l.expires_ns <= now; }),
                 s.leases.end());
  if (s.leases.empty()) shard.idle++;
}

void MemoryBackend::drop_idle(LeaseShard &shard) {
  uint64_t now = FastClock::now();
  for (auto it = shard.map.begin(); it != shard.map.end();) {
    Subject *sub = it->second;
    drop_expired(shard, *sub, now);
    if (sub->leases.empty()) {
      it = shard.map.erase(it);
      delete sub;
    } else {
      ++it;
    }
  }
  shard.idle = 0;
}

std::string MemoryBackend::member_key(std::string_view set, std::string_view member) {
  std::string k;
  k.reserve(set.size() + 1 + member.size());
  k.append(set).push_back('\0');
  k.append(member);
  return k;
}

bool MemoryBackend::members_missing(const Requirements &require, LeaseOutcome *out) {
  for (size_t i = 0; i < require.size(); i++) {
    std::string k = member_key(require[i].set, require[i].member);
    if (sets_[shard_of(k)].members.count(k)) continue;
    out->status = HP_LEASE_NOT_MEMBER;
    out->count = 0;
    out->id = 0;
    out->missing = static_cast<uint32_t>(i);
    out->holders.clear();
    return true;
  }
  return false;
}

int MemoryBackend::acquire(std::string_view subject, std::string_view resource, uint32_t limit,
                           uint64_t ttl_ms, const Requirements &require, LeaseOutcome *out) {
  // The required sets' shards stay read-locked (each once, in index order,
  // before the lease shard, as no other path nests them) until the lease
  // is decided: a membership and the grant are one step.
  std::array<std::shared_lock<std::shared_mutex>, HP_LEASE_REQUIRE_MAX> readers;
  if (!require.empty()) {
    std::array<size_t, HP_LEASE_REQUIRE_MAX> shards;
    size_t n = 0;
    for (const auto &r : require) {  // at most HP_LEASE_REQUIRE_MAX: kept sorted, each once
      size_t shard = shard_of(member_key(r.set, r.member)), i = 0;
      while (i < n && shards[i] < shard) i++;
      if (i < n && shards[i] == shard) continue;
      for (size_t j = n; j > i; j--) shards[j] = shards[j - 1];
      shards[i] = shard;
      n++;
    }
    for (size_t i = 0; i < n; i++) readers[i] = std::shared_lock<std::shared_mutex>(sets_[shards[i]].mu);
    if (members_missing(require, out)) return 0;
  }
  Named key = named(subject);
  LeaseShard &s = shard(key);
  uint64_t now = FastClock::now();
  uint64_t expires = now + ttl_ms * 1000000ull;
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  Subject *sub;
  if (it != s.map.end()) {
    sub = it->second;
    drop_expired(s, *sub, now);
  } else {
    if (s.idle >= kIdleMax) drop_idle(s);
    auto owned = std::make_unique<Subject>(subject);
    sub = owned.get();
    s.map.emplace(Named{sub->name, key.hash}, sub);
    owned.release();  // the map owns it now
    s.idle++;  // until its first lease below
  }
  for (auto &l : sub->leases) {
    if (l.resource == resource) {
      l.expires_ns = expires;
      out->status = HP_LEASE_ALREADY_HELD;
      out->count = static_cast<uint32_t>(sub->leases.size());
      out->id = l.id;
      out->holders.clear();
      return 0;
    }
  }
  if (sub->leases.size() >= limit) {
    out->status = HP_LEASE_DENIED;
    out->count = static_cast<uint32_t>(sub->leases.size());
    out->id = 0;
    out->holders.resize(sub->leases.size());
    for (size_t i = 0; i < sub->leases.size(); i++) {
      const LeaseRec &l = sub->leases[i];
      out->holders[i].resource.assign(l.resource);
      out->holders[i].id = l.id;
      out->holders[i].expires_in_ms = ceil_ms(l.expires_ns - now);
    }
    return 0;
  }
  uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  if (sub->leases.empty()) s.idle--;
  sub->leases.push_back(LeaseRec{std::string(resource), id, expires});
  out->status = HP_LEASE_GRANTED;
  out->count = static_cast<uint32_t>(sub->leases.size());
  out->id = id;
  out->holders.clear();
  return 0;
}

int MemoryBackend::release(std::string_view subject, std::string_view resource) {
  Named key = named(subject);
  LeaseShard &s = shard(key);
  uint64_t now = FastClock::now();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return 0;
  Subject *sub = it->second;
  drop_expired(s, *sub, now);
  for (auto l = sub->leases.begin(); l != sub->leases.end(); ++l) {
    if (l->resource == resource) {
      sub->leases.erase(l);
      if (sub->leases.empty()) s.idle++;
      return 1;
    }
  }
  return 0;
}

int MemoryBackend::renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) {
  Named key = named(subject);
  LeaseShard &s = shard(key);
  uint64_t now = FastClock::now();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return 0;
  for (auto &l : it->second->leases) {
    if (l.resource == resource && l.expires_ns > now) {
      l.expires_ns = now + ttl_ms * 1000000ull;
      return 1;
    }
  }
  return 0;
}

int MemoryBackend::holders(std::string_view subject, std::vector<Lease> *out) {
  Named key = named(subject);
  LeaseShard &s = shard(key);
  uint64_t now = FastClock::now();
  out->clear();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return 0;
  for (const auto &l : it->second->leases)
    if (l.expires_ns > now) out->push_back(Lease{l.resource, l.id, ceil_ms(l.expires_ns - now)});
  return static_cast<int>(out->size());
}

int MemoryBackend::set_add(std::string_view set, std::string_view member) {
  std::string k = member_key(set, member);
  SetShard &s = sets_[shard_of(k)];
  std::unique_lock<std::shared_mutex> lock(s.mu);
  return s.members.insert(std::move(k)).second ? 1 : 0;
}

int MemoryBackend::set_has(std::string_view set, std::string_view member) {
  std::string k = member_key(set, member);
  SetShard &s = sets_[shard_of(k)];
  std::shared_lock<std::shared_mutex> lock(s.mu);
  return s.members.count(k) ? 1 : 0;
}

}  // namespace hp::limits
