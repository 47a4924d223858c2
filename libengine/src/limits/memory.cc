#include "limits/memory.h"

#include <time.h>

#include <algorithm>

#include "limits/gcra.h"

namespace hp::limits {

uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

MemoryBackend::~MemoryBackend() {
  for (auto &s : rates_)
    for (auto &kv : s.map) delete kv.second;
  for (auto &s : leases_)
    for (auto &kv : s.map) delete kv.second;
}

int MemoryBackend::hit(std::string_view key, const Rate &rate, hp_rate_result *out) {
  RateShard &s = rates_[shard_of(key)];
  uint64_t now = mono_ns();
  {
    std::shared_lock<std::shared_mutex> lock(s.mu);
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      std::atomic<uint64_t> &word = it->second->tat;
      uint64_t stored = word.load(std::memory_order_acquire);
      for (;;) {
        uint64_t next = gcra(now, stored, rate, out);
        if (next == stored) return 0;
        if (word.compare_exchange_weak(stored, next, std::memory_order_acq_rel, std::memory_order_acquire)) return 0;
      }
    }
  }
  std::unique_lock<std::shared_mutex> lock(s.mu);
  auto it = s.map.find(key);
  RateNode *node;
  if (it != s.map.end()) {
    node = it->second;
  } else {
    if (++s.inserts % 1024 == 0) sweep_rates(s, now);
    node = new RateNode(key);
    s.map.emplace(std::string_view(node->key), node);
  }
  // The exclusive lock keeps every reader out, so a plain update is atomic.
  uint64_t stored = node->tat.load(std::memory_order_relaxed);
  node->tat.store(gcra(now, stored, rate, out), std::memory_order_release);
  return 0;
}

// A key whose TAT has passed is back to a full burst: the same as absent.
void MemoryBackend::sweep_rates(RateShard &s, uint64_t now) {
  for (auto it = s.map.begin(); it != s.map.end();) {
    if (it->second->tat.load(std::memory_order_relaxed) <= now) {
      delete it->second;
      it = s.map.erase(it);
    } else {
      ++it;
    }
  }
}

void MemoryBackend::drop_expired(Subject &s, uint64_t now) {
  s.leases.erase(std::remove_if(s.leases.begin(), s.leases.end(), [now](const LeaseRec &l) { return l.expires_ns <= now; }),
                 s.leases.end());
}


int MemoryBackend::acquire(std::string_view subject, std::string_view resource, uint32_t limit, uint64_t ttl_ms,
                           LeaseOutcome *out) {
  LeaseShard &s = leases_[shard_of(subject)];
  uint64_t now = mono_ns();
  uint64_t expires = now + ttl_ms * 1000000ull;
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(subject);
  Subject *sub;
  if (it != s.map.end()) {
    sub = it->second;
    drop_expired(*sub, now);
  } else {
    sub = new Subject(subject);
    s.map.emplace(std::string_view(sub->name), sub);
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
    if (sub->leases.empty()) {  // limit 0 is rejected earlier; keep the map tidy anyway
      s.map.erase(std::string_view(sub->name));
      delete sub;
    }
    return 0;
  }
  uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  sub->leases.push_back(LeaseRec{std::string(resource), id, expires});
  out->status = HP_LEASE_GRANTED;
  out->count = static_cast<uint32_t>(sub->leases.size());
  out->id = id;
  out->holders.clear();
  return 0;
}

int MemoryBackend::release(std::string_view subject, std::string_view resource) {
  LeaseShard &s = leases_[shard_of(subject)];
  uint64_t now = mono_ns();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(subject);
  if (it == s.map.end()) return 0;
  Subject *sub = it->second;
  drop_expired(*sub, now);
  int released = 0;
  for (auto l = sub->leases.begin(); l != sub->leases.end(); ++l) {
    if (l->resource == resource) {
      sub->leases.erase(l);
      released = 1;
      break;
    }
  }
  if (sub->leases.empty()) {
    s.map.erase(it);
    delete sub;
  }
  return released;
}

int MemoryBackend::renew(std::string_view subject, std::string_view resource, uint64_t ttl_ms) {
  LeaseShard &s = leases_[shard_of(subject)];
  uint64_t now = mono_ns();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(subject);
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
  LeaseShard &s = leases_[shard_of(subject)];
  uint64_t now = mono_ns();
  out->clear();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(subject);
  if (it == s.map.end()) return 0;
  for (const auto &l : it->second->leases)
    if (l.expires_ns > now) out->push_back(Lease{l.resource, l.id, ceil_ms(l.expires_ns - now)});
  return static_cast<int>(out->size());
}

int MemoryBackend::set_add(std::string_view set, std::string_view member) {
  std::string k;
  k.reserve(set.size() + 1 + member.size());
  k.append(set).push_back('\0');
  k.append(member);
  SetShard &s = sets_[shard_of(k)];
  std::unique_lock<std::shared_mutex> lock(s.mu);
  return s.members.insert(std::move(k)).second ? 1 : 0;
}

int MemoryBackend::set_has(std::string_view set, std::string_view member) {
  std::string k;
  k.reserve(set.size() + 1 + member.size());
  k.append(set).push_back('\0');
  k.append(member);
  SetShard &s = sets_[shard_of(k)];
  std::shared_lock<std::shared_mutex> lock(s.mu);
  return s.members.count(k) ? 1 : 0;
}

}  // namespace hp::limits
