// The hp_geo handle: the set of databases as an immutable snapshot that a
// reload replaces atomically, and the optional file watch.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "geo/database.h"
#include "geo/srcu.h"

namespace hp::geo {

struct Snapshot {
  std::vector<std::unique_ptr<Database>> dbs;
  uint64_t generation = 0;
  std::atomic<long> refs{1};
};

void release(Snapshot *s);

class Watch;

class Handle {
 public:
  static int open(Handle **out, core::Engine *e, const char *path, const hp_geo_options *opts);
  // One database from bytes in memory (copied); never reloads.
  static int open_buffer(Handle **out, const uint8_t *data, size_t size, const char *name,
                         const hp_geo_options *opts);
  ~Handle();
  int reload();
  size_t count() const { return paths_.size(); }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // A read section: the snapshot stays valid until end().
  struct Section {
    Handle *h;
    unsigned token;
    Snapshot *snap;
    ~Section() { h->srcu_.unlock(token); }
  };
  Section begin() {
    unsigned t = srcu_.lock();
    return Section{this, t, current_.load(std::memory_order_seq_cst)};
  }

  const hp_geo_options &options() const { return opts_; }

 private:
  friend class Watch;
  explicit Handle(core::Engine *e) : engine_(e) {}
  int build(std::unique_ptr<Snapshot> *out);
  int set_options(const hp_geo_options *opts);
  void publish(std::unique_ptr<Snapshot> snap);
  std::vector<std::string> paths_;
  hp_geo_options opts_{};
  core::EngineRef engine_;
  std::atomic<Snapshot *> current_{nullptr};
  std::atomic<uint64_t> generation_{0};
  std::mutex reload_mu_;
  Srcu srcu_;
  Watch *watch_ = nullptr;
  bool in_memory_ = false;  // open_buffer(): nothing to reload from
};

}  // namespace hp::geo
