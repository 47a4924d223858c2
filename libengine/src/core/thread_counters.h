// Counters bumped on hot paths by many threads at once (geo lookups,
// memory rate-limit checks) without a shared cache line written per call:
// each thread owns one slot of every ThreadCounters while it lives and
// bumps it with a plain load and store (no locked instruction); readers sum
// the slots. A thread beyond the first kThreadSlots alive at once shares
// one overflow slot, bumped with atomic adds. A slot a thread gives back
// keeps its counts for the next owner, so sums never go back.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace hp::core {

constexpr unsigned kThreadSlots = 64;

// The first call on a thread: claims a slot (given back when the thread
// exits) and remembers it in t_slot.
unsigned claim_thread_slot();
inline thread_local unsigned t_slot = ~0u;

// The calling thread's slot: below kThreadSlots (its own while it lives),
// or kThreadSlots (shared). Thread: any.
inline unsigned thread_slot() {
  unsigned s = t_slot;
  return s != ~0u ? s : claim_thread_slot();
}

template <size_t N>
class ThreadCounters {
 public:
  ThreadCounters() : slots_(new Slot[kThreadSlots + 1]) {}

  void add(size_t i, uint64_t n = 1) {
    unsigned s = thread_slot();
    std::atomic<uint64_t> &c = slots_[s].v[i];
    if (s < kThreadSlots)
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    else
      c.fetch_add(n, std::memory_order_relaxed);
  }

  uint64_t sum(size_t i) const {
    uint64_t total = 0;
    for (unsigned s = 0; s <= kThreadSlots; s++) total += slots_[s].v[i].load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> v[N] = {};
  };
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace hp::core
