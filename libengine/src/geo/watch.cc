#include "geo/watch.h"

#include "core/error.h"
#include "geo/handle.h"

namespace hp::geo {

int Watch::start(core::Engine *e, Handle *h, std::vector<std::string> paths, unsigned interval_ms, Watch **out) {
  auto *w = new Watch(e, h);
  int rc = e->post([w, paths = std::move(paths), interval_ms](bool closing) mutable {
    if (closing) {
      w->unref();
      return;
    }
    w->begin(std::move(paths), interval_ms);
  });
  if (rc != 0) {
    delete w;  // nothing else has seen it
    return rc;
  }
  *out = w;
  return 0;
}

void Watch::begin(std::vector<std::string> paths, unsigned interval_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!handle_) {  // closed before the loop got here
      unref();
      return;
    }
  }
  engine_->add(this);
  added_ = true;
  for (auto &p : paths) {
    auto *poll = new uv_fs_poll_t;
    if (uv_fs_poll_init(engine_->loop(), poll) != 0) {
      delete poll;
      continue;
    }
    poll->data = this;
    polls_.push_back(poll);
    open_++;
    uv_fs_poll_start(
        poll,
        [](uv_fs_poll_t *p, int status, const uv_stat_t *, const uv_stat_t *) {
          // UV_ENOENT: the file is being replaced; wait for the new one.
          if (status < 0) return;
          static_cast<Watch *>(p->data)->changed();
        },
        p.c_str(), interval_ms);
  }
  if (open_ == 0) {
    engine_->remove(this);
    unref();
  }
}

// Loop thread. The new snapshot is built on the thread pool (opening and
// indexing a large database takes long enough to stall a host's loop) and
// swapped in here; one reload at a time, one more if a file changed again.
void Watch::changed() {
  if (closing_) return;
  if (reloading_) {
    again_ = true;
    return;
  }
  std::vector<std::string> paths;
  hp_geo_options opts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!handle_) return;
    paths = handle_->paths();
    opts = handle_->options();
  }
  reloading_ = true;
  owners_.fetch_add(1, std::memory_order_relaxed);  // for the job
  auto built = std::make_shared<std::pair<core::Status, std::unique_ptr<Snapshot>>>();
  engine_->queue_work([built, paths = std::move(paths),
                       opts] { built->first = core::Status::capture(Handle::build(paths, opts, &built->second)); },
                      [this, built](int status) {
                        reloading_ = false;
                        if (status == 0) finish_reload(built->first, std::move(built->second));
                        if (again_ && status == 0) {
                          again_ = false;
                          changed();
                        }
                        unref();
                      });
}

void Watch::finish_reload(const core::Status &st, std::unique_ptr<Snapshot> snap) {
  hp_geo_reload_cb cb = nullptr;
  void *data = nullptr;
  Snapshot *old = nullptr;
  std::string source;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!handle_) return;
    if (st.code == 0) old = handle_->publish(std::move(snap));
    handle_->note_reload(st.raise());
    cb = handle_->options().on_reload;
    data = handle_->options().on_reload_data;
    source = handle_->paths()[0];
    generation = handle_->generation();
  }
  if (st.code == 0)
    engine_->emit(HP_EVENT_RELOAD, HP_HANDLE_GEO, 0, "geo: reloaded, generation " + std::to_string(generation),
                  source);
  else
    engine_->emit(HP_EVENT_RELOAD_FAILED, HP_HANDLE_GEO, st.code, st.message, source);
  // The old databases are unmapped and their index freed on the pool too.
  if (old)
    engine_->queue_work([old] { release(old); },
                        [old](int status) {
                          if (status < 0) release(old);  // cancelled: the job never ran
                        });
  // Outside the lock: the callback may close the handle.
  if (cb) cb(st.raise(), data);
}

void Watch::detach() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    handle_ = nullptr;
  }
  owners_.fetch_add(1, std::memory_order_relaxed);  // for the posted close
  Watch *w = this;
  if (engine_->post([w](bool closing) {
        if (!closing) w->close_now();
        w->unref();
      }) != 0)
    unref();  // the engine is closing: its close_now() closes the polls
  unref();    // the handle's own reference
}

void Watch::closed_one() {
  if (--open_ == 0) {
    if (added_) engine_->remove(this);
    unref();
  }
}

void Watch::close_now() {
  if (closing_ || !added_) return;
  closing_ = true;
  for (auto *p : polls_) {
    uv_fs_poll_stop(p);
    uv_close(reinterpret_cast<uv_handle_t *>(p), [](uv_handle_t *h) {
      auto *w = static_cast<Watch *>(h->data);
      delete reinterpret_cast<uv_fs_poll_t *>(h);
      w->closed_one();
    });
  }
}

}  // namespace hp::geo
