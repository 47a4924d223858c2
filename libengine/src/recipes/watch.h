// Reloading a table when its file changes: fs events on the file's folder
// for a quick reaction plus a periodic size/mtime/inode check.
#pragma once

#include <uv.h>

#include <string>

#include "core/engine.h"
#include "recipes/set.h"

namespace hp::recipes {

class Watch {
 public:
  Watch(Set *set, Table *t, std::string path, const hp_recipes_watch_options &opts, hp_recipes_load_cb cb,
        void *data);

  hp_recipes_watch *as_c() { return reinterpret_cast<hp_recipes_watch *>(this); }
  static Watch *from_c(hp_recipes_watch *w) { return reinterpret_cast<Watch *>(w); }

  // Loop thread. start() takes ownership: the watch deletes itself after
  // stop() once its handles are closed and its last callback ran.
  void start();
  void stop();
  // Reports HP_ECLOSED and frees a watch that never started.
  void abandon();
  // stop() from any thread; never fails (the step is allocated with the
  // watch).
  void post_stop();

 private:
  static void on_poll(uv_fs_poll_t *h, int status, const uv_stat_t *prev, const uv_stat_t *curr);
  static void on_event(uv_fs_event_t *h, const char *filename, int events, int status);
  static void on_timer(uv_timer_t *h);
  static void on_close(uv_handle_t *h);
  void check(const uv_stat_t *st);
  void check_now();
  void reload();
  void vanished(int err);
  void maybe_delete();

  Set *set_;
  Table *table_;
  std::string path_;
  std::string dir_;
  std::string file_;
  uint32_t interval_ms_;
  uint32_t debounce_ms_;
  bool load_now_;
  bool persistent_;
  hp_recipes_load_cb cb_;
  void *data_;
  uv_fs_poll_t poll_{};
  uv_fs_event_t event_{};
  uv_timer_t timer_{};
  int open_handles_ = 0;
  bool stopping_ = false;
  bool loading_ = false;
  bool dirty_ = false;
  bool gone_ = false;
  bool have_sig_ = false;
  FileSig sig_;
  core::PreparedStep stop_step_;
  // The table's list of watches (Set::watch_started).
  friend class Set;
  Watch *prev_in_table_ = nullptr;
  Watch *next_in_table_ = nullptr;
};

}  // namespace hp::recipes
