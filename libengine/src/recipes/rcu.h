// Read-copy-update for recipe snapshots. Readers announce themselves on one
// of a few striped counters (two atomic adds, no lock, no allocation);
// a writer swaps the pointer, then waits for a grace period in which every
// reader that could hold the old snapshot has left, and frees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace hp::recipes {

class Rcu {
 public:
  struct Token {
    uint32_t stripe;
    uint32_t epoch;
  };

  Token enter() {
    Token t{stripe(), epoch_.load(std::memory_order_seq_cst) & 1u};
    counters_[t.stripe].n[t.epoch].fetch_add(1, std::memory_order_seq_cst);
    return t;
  }
  void leave(Token t) { counters_[t.stripe].n[t.epoch].fetch_sub(1, std::memory_order_release); }

  // Waits until every reader that entered before this call has left.
  // Writers call it one at a time (under the set's writer lock). Must not
  // be called from inside a read section of the same thread.
  void synchronize() {
    for (int phase = 0; phase < 2; phase++) {
      uint32_t old = epoch_.fetch_add(1, std::memory_order_seq_cst) & 1u;
      for (auto &c : counters_) {
        int spins = 0;
        while (c.n[old].load(std::memory_order_seq_cst) != 0) {
          if (++spins > 64) std::this_thread::yield();
        }
      }
    }
  }

 private:
  static constexpr uint32_t kStripes = 16;
  static uint32_t stripe() {
    static std::atomic<uint32_t> next{0};
    thread_local uint32_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
  }
  struct alignas(64) Counter {
    std::atomic<int64_t> n[2] = {0, 0};
  };
  std::atomic<uint32_t> epoch_{0};
  Counter counters_[kStripes];
};

// A read section: the snapshot loaded inside it stays valid until it ends.
class ReadGuard {
 public:
  explicit ReadGuard(Rcu &rcu) : rcu_(rcu), token_(rcu.enter()) {}
  ~ReadGuard() { rcu_.leave(token_); }
  ReadGuard(const ReadGuard &) = delete;
  ReadGuard &operator=(const ReadGuard &) = delete;

 private:
  Rcu &rcu_;
  Rcu::Token token_;
};

}  // namespace hp::recipes
