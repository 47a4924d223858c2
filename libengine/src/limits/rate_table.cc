#include "limits/rate_table.h"

#include <cstring>
#include <functional>
#include <new>
#include <vector>

#include "limits/gcra.h"

namespace hp::limits {

RateTable::RateTable() {
  try {
    for (auto &s : shards_) s.table.store(new Table(kFirstBuckets));
  } catch (...) {  // no destructor runs for a constructor that throws
    for (auto &s : shards_) delete s.table.load();
    throw;
  }
}

RateTable::~RateTable() {
  for (auto &s : shards_) {
    Table *t = s.table.load();
    for (size_t b = 0; b <= t->mask; b++) {
      for (Node *n = t->heads[b].load(); n;) {
        Node *next = n->next.load();
        free_node(n);
        n = next;
      }
    }
    delete t;
  }
}

RateTable::Node *RateTable::make_node(uint64_t hash, std::string_view key) {
  void *p = ::operator new(sizeof(Node) + key.size());
  Node *n = new (p) Node;
  n->hash = hash;
  n->len = static_cast<uint32_t>(key.size());
  std::memcpy(reinterpret_cast<char *>(n + 1), key.data(), key.size());
  return n;
}

void RateTable::free_node(Node *n) {
  n->~Node();
  ::operator delete(n);
}

bool RateTable::update(Node &n, uint64_t now, const Rate &rate, hp_rate_result *out) {
  uint64_t stored = n.tat.load(std::memory_order_acquire);
  for (;;) {
    if (stored == kDead) return false;
    uint64_t next = gcra(now, stored, rate, out);
    if (next == stored) return true;
    if (n.tat.compare_exchange_weak(stored, next, std::memory_order_acq_rel, std::memory_order_acquire))
      return true;
  }
}

bool RateTable::try_hit(Shard &s, uint64_t hash, std::string_view key, uint64_t now, const Rate &rate,
                        hp_rate_result *out) {
  core::BasicReadGuard<1> guard(s.rcu);
  for (Node *n = s.table.load()->head(hash).load(); n; n = n->next.load())
    if (n->hash == hash && n->key() == key) return update(*n, now, rate, out);
  return false;
}

void RateTable::hit(std::string_view key, uint64_t now, const Rate &rate, hp_rate_result *out) {
  uint64_t hash = std::hash<std::string_view>{}(key);
  Shard &s = shards_[hash & (kShards - 1)];
  if (try_hit(s, hash, key, now, rate, out)) return;
  // A new key, one being swept, or a lookup that raced a growth: writers
  // are shut out here, so this lookup is exact.
  std::lock_guard<std::mutex> lock(s.mu);
  for (Node *n = s.table.load()->head(hash).load(); n; n = n->next.load())
    if (n->hash == hash && n->key() == key) {
      update(*n, now, rate, out);  // never dead: a sweep unlinks what it marks before it lets go
      return;
    }
  uint64_t tat = gcra(now, 0, rate, out);
  if (tat == 0) return;  // cost 0 on a fresh key: nothing to remember
  if (++s.since_sweep >= std::max<size_t>(kSweepMin, s.size)) sweep(s, now);
  Node *n = make_node(hash, key);
  n->tat.store(tat, std::memory_order_relaxed);
  std::atomic<Node *> &head = s.table.load()->head(hash);
  n->next.store(head.load(), std::memory_order_relaxed);
  head.store(n);
  if (++s.size > s.table.load()->mask + 1) grow(s);
}

// A key whose TAT has passed is back to a full burst: the same as absent.
void RateTable::sweep(Shard &s, uint64_t now) {
  s.since_sweep = 0;
  std::vector<Node *> gone;
  Table *t = s.table.load();
  for (size_t b = 0; b <= t->mask; b++) {
    std::atomic<Node *> *link = &t->heads[b];
    for (Node *n = link->load(); n;) {
      Node *next = n->next.load();
      uint64_t tat = n->tat.load();
      if (tat <= now && n->tat.compare_exchange_strong(tat, kDead)) {
        link->store(next);
        gone.push_back(n);
      } else {
        link = &n->next;
      }
      n = next;
    }
  }
  if (gone.empty()) return;
  s.size -= gone.size();
  s.rcu.synchronize();
  for (Node *n : gone) free_node(n);
}

// Doubles the buckets. A reader walking a chain while it is relinked may
// miss its key; it then looks again under the mutex.
void RateTable::grow(Shard &s) {
  Table *old = s.table.load();
  auto *t = new Table((old->mask + 1) * 2);
  for (size_t b = 0; b <= old->mask; b++) {
    for (Node *n = old->heads[b].load(); n;) {
      Node *next = n->next.load();
      std::atomic<Node *> &head = t->head(n->hash);
      n->next.store(head.load());
      head.store(n);
      n = next;
    }
  }
  s.table.store(t);
  s.rcu.synchronize();
  delete old;
}

}  // namespace hp::limits
