// Polls the files of a geo handle on the engine's loop and reloads the
// handle when one changes: the build runs on the thread pool, the swap on
// the loop.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/error.h"

namespace hp::geo {

class Handle;
struct Snapshot;

class Watch final : public core::Closable {
 public:
  // Starts polling (posted to the loop). Returns 0 or HP_ECLOSED/HP_ENOMEM.
  static int start(core::Engine *e, Handle *h, std::vector<std::string> paths, unsigned interval_ms, Watch **out);
  // Called by the handle before it is freed: no reload after this returns;
  // the polls close on the loop and the watch frees itself.
  void detach();
  void close_now() override;

 private:
  Watch(core::Engine *e, Handle *h) : engine_(e), handle_(h) {}
  void begin(std::vector<std::string> paths, unsigned interval_ms);
  void closed_one();
  void changed();
  void finish_reload(const core::Status &st, std::unique_ptr<Snapshot> snap);
  void unref() {
    if (owners_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  core::Engine *engine_;
  std::atomic<int> owners_{2};  // the handle and the loop side
  std::mutex mu_;
  Handle *handle_;  // guarded by mu_; nullptr once detached
  std::vector<uv_fs_poll_t *> polls_;
  size_t open_ = 0;
  bool closing_ = false;  // loop thread
  bool added_ = false;    // loop thread
  bool reloading_ = false;  // loop thread: a build is on the pool
  bool again_ = false;      // loop thread: a file changed during it
};

}  // namespace hp::geo
