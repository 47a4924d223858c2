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
          auto *w = static_cast<Watch *>(p->data);
          if (status < 0 && status != UV_ENOENT) return;
          if (status == UV_ENOENT) return;  // the file is being replaced; wait for it
          std::lock_guard<std::mutex> lock(w->mu_);
          if (!w->handle_) return;
          int rc = w->handle_->reload();
          const hp_geo_options &o = w->handle_->options();
          if (o.on_reload) o.on_reload(rc, o.on_reload_data);
        },
        p.c_str(), interval_ms);
  }
  if (open_ == 0) {
    engine_->remove(this);
    unref();
  }
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
