// The hp_geo handle: the set of databases as an immutable snapshot that a
// reload replaces atomically, and the optional file watch.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/thread_counters.h"
#include "geo/database.h"
#include "core/rcu.h"

namespace hp::geo {

struct Snapshot {
  std::vector<std::unique_ptr<Database>> dbs;
  uint64_t generation = 0;
  std::atomic<long> refs{1};
};

void release(Snapshot *s);

// The bytes of an hp_geo_options of `version` (older callers' structs are
// shorter).
size_t options_size(unsigned version);

class Watch;

class Handle {
 public:
  // `rcu` is the public handle's: lookups read current() inside its calls.
  static int open(Handle **out, core::Engine *e, core::Rcu *rcu, const char *path, const hp_geo_options *opts);
  // One database from bytes in memory (copied); it never reloads.
  static int open_buffer(Handle **out, core::Rcu *rcu, const uint8_t *data, size_t size, const char *name,
                         const hp_geo_options *opts);
  ~Handle();
  // Builds and publishes a new snapshot on the calling thread (a writer,
  // never inside a read section).
  int reload();
  // The two halves of a reload, for a build on the thread pool: build()
  // reads only its arguments; publish() swaps the result in.
  static int build(const std::vector<std::string> &paths, const hp_geo_options &opts, std::unique_ptr<Snapshot> *out);
  // Swaps `snap` in and returns the old snapshot once no lookup reads it;
  // the caller releases it (freeing a large index takes a while).
  Snapshot *publish(std::unique_ptr<Snapshot> snap);
  const std::vector<std::string> &paths() const { return paths_; }
  size_t count() const { return paths_.size(); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // The snapshot; valid until the read section of the caller ends.
  Snapshot *current() const { return current_.load(std::memory_order_seq_cst); }

  const hp_geo_options &options() const { return opts_; }

  // Counters (geo/stats.cc). Lookups count on the calling thread's slot.
  enum Counter { kLookups, kCacheHits, kCacheMisses, kCounters };
  void count(Counter c, uint64_t n = 1) { counters_.add(c, n); }
  void count_record(const Database &d, const Hit &hit) { counters_.add(d.cached(hit) ? kCacheHits : kCacheMisses); }
  // A reload attempt's outcome: 0, or a code with this thread's message.
  void note_reload(int status);
  void stats(hp_geo_stats *out);

 private:
  friend class Watch;
  Handle(core::Engine *e, core::Rcu *rcu) : engine_(e), rcu_(*rcu) {}
  int set_options(const hp_geo_options *opts);
  void start(std::unique_ptr<Snapshot> snap);
  std::vector<std::string> paths_;
  hp_geo_options opts_{};
  core::EngineRef engine_;
  std::atomic<Snapshot *> current_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::mutex reload_mu_;
  core::Rcu &rcu_;
  Watch *watch_ = nullptr;
  bool in_memory_ = false;  // open_buffer(): nothing to reload from
  core::ThreadCounters<kCounters> counters_;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
  std::mutex stats_mu_;  // guards the latest reload's outcome
  int64_t last_reload_at_ms_ = 0;
  int last_reload_error_ = 0;
  std::string last_reload_message_;
};

}  // namespace hp::geo
