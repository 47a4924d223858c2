#include "core/thread_counters.h"

namespace hp::core {

namespace {

// Bit i set: slot i has an owner. Claimed with acquire and given back with
// release, so the next owner of a slot reads the counts the last one left.
std::atomic<uint64_t> taken{0};
static_assert(kThreadSlots == 64, "one bit per slot in `taken`");

unsigned claim() {
  uint64_t bits = taken.load(std::memory_order_relaxed);
  while (~bits) {
    unsigned i = static_cast<unsigned>(__builtin_ctzll(~bits));
    if (taken.compare_exchange_weak(bits, bits | (uint64_t(1) << i), std::memory_order_acquire,
                                    std::memory_order_relaxed))
      return i;
  }
  return kThreadSlots;
}

struct Owner {
  unsigned slot = claim();
  ~Owner() {
    t_slot = kThreadSlots;  // a counter bumped later in this exit shares
    if (slot < kThreadSlots) taken.fetch_and(~(uint64_t(1) << slot), std::memory_order_release);
  }
};

}  // namespace

unsigned claim_thread_slot() {
  thread_local Owner owner;
  t_slot = owner.slot;
  return owner.slot;
}

}  // namespace hp::core
