// Sleepable read-copy-update for snapshot swaps: readers bump a counter in
// their own cache line (no shared lock); a writer swaps the pointer, flips
// the epoch and waits until every reader of the old side has left.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace hp::geo {

class Srcu {
 public:
  unsigned lock() {
    unsigned slot = slot_index();
    unsigned side = epoch_.load(std::memory_order_seq_cst) & 1;
    slots_[slot].n[side].fetch_add(1, std::memory_order_seq_cst);
    return slot << 1 | side;
  }
  void unlock(unsigned token) { slots_[token >> 1].n[token & 1].fetch_sub(1, std::memory_order_release); }

  // Call after publishing a new pointer: returns once no reader can still
  // hold the old one. Callers serialise among themselves.
  void synchronize() {
    unsigned old = epoch_.fetch_add(1, std::memory_order_seq_cst) & 1;
    for (unsigned spins = 0;; spins++) {
      long sum = 0;
      for (auto &s : slots_) sum += s.n[old].load(std::memory_order_seq_cst);
      if (sum == 0) return;
      if (spins < 64)
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

 private:
  static constexpr unsigned kSlots = 32;
  struct alignas(64) Slot {
    std::atomic<long> n[2] = {0, 0};
  };
  static unsigned slot_index() {
    thread_local unsigned slot =
        static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id()) * 0x9E3779B97F4A7C15ull >> 59) %
        kSlots;
    return slot;
  }
  std::atomic<unsigned> epoch_{0};
  Slot slots_[kSlots];
};

}  // namespace hp::geo
