// Read-copy-update for snapshot swaps (geo databases, recipe tables, the
// memory rate table). Readers announce themselves on one of a few striped
// counters (one atomic add each way, no lock, no allocation); a writer swaps
// the pointer, waits for a grace period in which every reader that could
// hold the old one has left, then frees it.
//
// A reader reads the epoch, then increments its counter for that side. One
// preempted in between is counted on the side the writer has just flipped
// to, so a single flip would let the *next* writer free what it holds:
// synchronize() flips twice and waits for both sides.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace hp::core {

template <unsigned Stripes>
class BasicRcu {
 public:
  struct Token {
    uint32_t stripe;
    uint32_t side;
  };

  Token enter() { return enter_on(epoch()); }
  // enter() in its two steps, so a test can replay a reader preempted
  // between them.
  uint32_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }
  Token enter_on(uint32_t epoch) {
    Token t{stripe(), epoch & 1u};
    counters_[t.stripe].n[t.side].fetch_add(1, std::memory_order_seq_cst);
    return t;
  }
  void leave(Token t) { counters_[t.stripe].n[t.side].fetch_sub(1, std::memory_order_seq_cst); }

  // Readers inside a section now, on both sides.
  int64_t readers() const {
    int64_t sum = 0;
    for (auto &c : counters_) sum += c.n[0].load(std::memory_order_seq_cst) + c.n[1].load(std::memory_order_seq_cst);
    return sum;
  }

  // Returns once every reader that entered before the call has left.
  // Writers call it one at a time, never from inside a read section (it
  // would wait for itself, or for another writer waiting on it).
  void synchronize() {
    for (int phase = 0; phase < 2; phase++) {
      uint32_t old = epoch_.fetch_add(1, std::memory_order_seq_cst) & 1u;
      for (uint32_t i = 0; i < Stripes; i++) {
        std::atomic<int64_t> &n = counters_[i].n[old];
        for (unsigned spins = 0; n.load(std::memory_order_seq_cst) != 0; spins++) {
          // Readers never block while counted; a long wait means one was
          // preempted, so stop burning the core it needs.
          if (spins < 64)
            std::this_thread::yield();
          else
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    }
  }

 private:
  static uint32_t stripe() {
    if constexpr (Stripes == 1) {
      return 0;
    } else {
      static std::atomic<uint32_t> next{0};
      thread_local uint32_t mine = next.fetch_add(1, std::memory_order_relaxed) % Stripes;
      return mine;
    }
  }
  // Striped counters each own a cache line; a single one shares the line of
  // whatever embeds it (a rate-table shard touches one line per hit).
  struct alignas(Stripes > 1 ? 64 : alignof(std::atomic<int64_t>)) Counter {
    std::atomic<int64_t> n[2] = {0, 0};
  };
  std::atomic<uint32_t> epoch_{0};
  Counter counters_[Stripes];
};

using Rcu = BasicRcu<16>;

// A read section: what is loaded inside it stays valid until it ends.
template <unsigned Stripes>
class BasicReadGuard {
 public:
  explicit BasicReadGuard(BasicRcu<Stripes> &rcu) : rcu_(rcu), token_(rcu.enter()) {}
  ~BasicReadGuard() { rcu_.leave(token_); }
  BasicReadGuard(const BasicReadGuard &) = delete;
  BasicReadGuard &operator=(const BasicReadGuard &) = delete;

 private:
  BasicRcu<Stripes> &rcu_;
  typename BasicRcu<Stripes>::Token token_;
};

using ReadGuard = BasicReadGuard<16>;

}  // namespace hp::core
