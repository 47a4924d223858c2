#include "recipes/watch.h"

#include <cstring>

#include "core/error.h"

namespace hp::recipes {

namespace {
FileSig sig_of(const uv_stat_t *st) {
  FileSig s;
  s.size = st->st_size;
  s.mtime_ns = int64_t(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec;
  s.ino = st->st_ino;
  return s;
}
}  // namespace

Watch::Watch(Set *set, Table *t, std::string path, const hp_recipes_watch_options &opts, hp_recipes_load_cb cb,
             void *data)
    : set_(set),
      table_(t),
      path_(std::move(path)),
      interval_ms_(opts.interval_ms ? opts.interval_ms : 1000),
      debounce_ms_(opts.debounce_ms ? opts.debounce_ms : 50),
      load_now_(opts.load_now != 0),
      persistent_(opts.persistent != 0),
      cb_(cb),
      data_(data),
      // When the engine is closing, its close stops the watch instead.
      stop_step_([this](bool closing) {
        if (!closing) stop();
      }) {
  size_t slash = path_.rfind('/');
  dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  file_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
}

void Watch::abandon() {
  core::set_error(HP_ECLOSED, "recipes: closed before the watch started");
  cb_(HP_ECLOSED, nullptr, data_);
  delete this;
}

void Watch::post_stop() {
  // On the loop thread a started watch stops at once: a poll result or file
  // event handled later in this loop turn must not start another load.
  core::Engine *e = set_->engine();
  if (e->on_loop_thread() && !e->closing() && open_handles_ > 0) {
    stop();
    return;
  }
  stop_step_.run_soon(e);
}

void Watch::start() {
  uv_loop_t *loop = set_->engine()->loop();
  set_->watch_started(table_, this);
  uv_fs_poll_init(loop, &poll_);
  uv_fs_event_init(loop, &event_);
  uv_timer_init(loop, &timer_);
  poll_.data = event_.data = timer_.data = this;
  open_handles_ = 3;
  uv_fs_poll_start(&poll_, &Watch::on_poll, path_.c_str(), interval_ms_);
  // Without fs events (some file systems) the periodic check still works.
  uv_fs_event_start(&event_, &Watch::on_event, dir_.c_str(), 0);
  if (!persistent_) {
    uv_unref(reinterpret_cast<uv_handle_t *>(&poll_));
    uv_unref(reinterpret_cast<uv_handle_t *>(&event_));
    uv_unref(reinterpret_cast<uv_handle_t *>(&timer_));
  }
  if (load_now_) {
    reload();
  } else {
    uv_fs_t req;
    if (uv_fs_stat(nullptr, &req, path_.c_str(), nullptr) == 0) {
      sig_ = sig_of(&req.statbuf);
      have_sig_ = true;
    }
    uv_fs_req_cleanup(&req);
  }
}

void Watch::stop() {
  if (stopping_) return;
  stopping_ = true;
  uv_close(reinterpret_cast<uv_handle_t *>(&poll_), &Watch::on_close);
  uv_close(reinterpret_cast<uv_handle_t *>(&event_), &Watch::on_close);
  uv_close(reinterpret_cast<uv_handle_t *>(&timer_), &Watch::on_close);
}

void Watch::on_close(uv_handle_t *h) {
  auto *w = static_cast<Watch *>(h->data);
  w->open_handles_--;
  w->maybe_delete();
}

void Watch::maybe_delete() {
  if (!stopping_ || open_handles_ > 0 || loading_) return;
  Set *set = set_;
  Table *t = table_;
  core::set_error(HP_ECLOSED, "recipes: the watch of ", path_, " stopped");
  cb_(HP_ECLOSED, nullptr, data_);
  set->watch_gone(t, this);  // only removes the pointer: the set stays alive
  delete this;
}

void Watch::on_poll(uv_fs_poll_t *h, int status, const uv_stat_t *, const uv_stat_t *curr) {
  auto *w = static_cast<Watch *>(h->data);
  if (w->stopping_) return;
  if (status < 0) {
    w->vanished(status);
    return;
  }
  w->check(curr);
}

void Watch::on_event(uv_fs_event_t *h, const char *filename, int, int status) {
  auto *w = static_cast<Watch *>(h->data);
  if (w->stopping_ || status < 0) return;
  if (filename && w->file_ != filename) return;
  uv_timer_start(&w->timer_, &Watch::on_timer, w->debounce_ms_, 0);
}

void Watch::on_timer(uv_timer_t *h) { static_cast<Watch *>(h->data)->check_now(); }

void Watch::check_now() {
  if (stopping_) return;
  uv_fs_t req;
  int rc = uv_fs_stat(nullptr, &req, path_.c_str(), nullptr);
  if (rc < 0)
    vanished(rc);
  else
    check(&req.statbuf);
  uv_fs_req_cleanup(&req);
}

void Watch::vanished(int err) {
  if (gone_) return;
  gone_ = true;
  // libuv's codes are negative errnos.
  core::set_sys_error(HP_EIO, -err, "stat", path_, path_, ": ", uv_strerror(err),
                      "; the table loaded before stays in service");
  // The host's receiver may make calls of its own: the failure is kept.
  core::Status failure = core::Status::capture(HP_EIO);
  set_->engine()->emit(HP_EVENT_RELOAD_FAILED, HP_HANDLE_RECIPES, HP_EIO, failure.message, path_);
  cb_(failure.raise(), nullptr, data_);
}

void Watch::check(const uv_stat_t *st) {
  gone_ = false;
  FileSig s = sig_of(st);
  if (have_sig_ && s == sig_) return;
  reload();
}

void Watch::reload() {
  if (stopping_) return;
  if (loading_) {
    dirty_ = true;
    return;
  }
  loading_ = true;
  set_->start_load(table_, path_, 0, 0, [this](int status, const hp_recipes_stats *stats, const FileSig &sig) {
    loading_ = false;
    if (sig.ino != 0) {
      // Remember what was read, good or bad: a file half written now gets
      // another event when its writer finishes.
      sig_ = sig;
      have_sig_ = true;
    }
    if (stopping_) {
      maybe_delete();
      return;
    }
    if (status != HP_ECLOSED) {
      core::Status failure = core::Status::capture(status);
      if (status < 0)
        set_->engine()->emit(HP_EVENT_RELOAD_FAILED, HP_HANDLE_RECIPES, status, failure.message, path_);
      else
        set_->engine()->emit(HP_EVENT_RELOAD, HP_HANDLE_RECIPES, 0, "recipes: reloaded " + path_, path_);
      if (status < 0) failure.raise();
      cb_(status, stats, data_);
    }
    if (dirty_) {
      dirty_ = false;
      check_now();
    }
  });
}

}  // namespace hp::recipes
