// A recipe set (hp_recipes) and its tables (hp_recipe_table): publishing
// loads and point updates with RCU, and the lookups readers make.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"
#include "recipes/loader.h"
#include "core/handle.h"
#include "recipes/store.h"

namespace hp::recipes {

class Set;
class Subscription;
class Watch;

class Table {
 public:
  Table(Set *set, std::string name, TableSpec spec, std::string update_type);
  ~Table();

  hp_recipe_table *as_c() { return reinterpret_cast<hp_recipe_table *>(this); }
  static Table *from_c(hp_recipe_table *t) { return reinterpret_cast<Table *>(t); }

  // Turns a caller's key into this table's key type. `tmp` holds digits
  // written for a string table. False when the key cannot exist here.
  bool make_key(const hp_recipe_key &in, Key *out, char (&tmp)[24]) const;

  Set *const set;
  const std::string name;
  const TableSpec spec;
  const std::string update_type;
  std::atomic<Snapshot *> cur;  // never null
  std::atomic<uint64_t> generation{0};

  // Guarded by the set's write lock.
  hp_recipes_stats stats = HP_RECIPES_STATS_INIT;
  // Loop thread only: a list through the watches themselves, so that
  // starting one never allocates (it could not report the failure).
  Watch *watches = nullptr;
  // The last file loaded, reloaded when a subscription resyncs.
  std::string source_path;
  int64_t source_timestamp = 0;
  uint64_t source_whole_max = 0;
};

using LoadDone = std::function<void(int status, const hp_recipes_stats *stats, const FileSig &sig)>;

class Set final : public core::Handle, public core::Closable {
 public:
  // Creates a set and registers it with the engine's loop.
  static int open(Set **out, core::Engine *engine);
  ~Set() override;

  hp_recipes *as_c() { return reinterpret_cast<hp_recipes *>(this); }
  static Set *from_c(hp_recipes *r) { return reinterpret_cast<Set *>(r); }
  bool closed() const { return closing(); }
  // Loop thread: whether stop() ran. closed() turns true earlier, on the
  // thread that calls close, while work posted before it is still queued.
  bool shut_down() const { return shut_; }

  int define(Table **out, const std::string &name, TableSpec spec, std::string update_type);
  Table *find(const std::string &name);
  // The table whose update type (or name) is `type`.
  Table *find_for_update(std::string_view type);

  // Point update from any thread (hp_recipes_update), inside `call`.
  int update(std::string_view msg);
  // Starts a load; `done` runs on the loop thread. Loop thread only.
  void start_load(Table *t, const std::string &path, int64_t timestamp, uint64_t whole_max, LoadDone done);
  // Reloads every table from the file it last loaded (a subscription came
  // back and may have missed updates). Loop thread only.
  void resync();
  // Copies the table's counters (any thread).
  void stats(Table *t, hp_recipes_stats *out);

  // Watches tell the set when they are gone. Loop thread.
  void watch_started(Table *t, Watch *w);
  void watch_gone(Table *t, Watch *w);
  // Subscriptions belong to the set (freed with it); they tell it when
  // their connection is up or gone. Loop thread, except adopt (any).
  Subscription *adopt(std::unique_ptr<Subscription> sub);
  void subscription_started() { subscriptions_++; }
  void subscription_gone();

  // Point updates free what they replaced after one grace period per batch.
  static constexpr size_t kRetireBatch = 64;

 private:
  explicit Set(core::Engine *e);
  void close_now() override;  // the engine is closing
  // hp_recipes_close: stop, then `done` once nothing is left on the loop.
  void shutdown(std::function<void(int)> done) override;
  void stop();          // loop thread, idempotent
  void maybe_finish();  // loop thread
  // Swaps in a new snapshot and frees the old one after a grace period;
  // `self` is the caller's call, when it is inside one. Caller holds
  // write_mu_.
  void publish(Table *t, Snapshot *next);
  Snapshot *make_snapshot(std::shared_ptr<const Base> base, std::shared_ptr<Overlay> overlay, bool key_is_str);

  std::mutex write_mu_;
  std::mutex tables_mu_;
  std::vector<std::unique_ptr<Table>> tables_;
  std::vector<std::unique_ptr<Subscription>> subs_;  // guarded by tables_mu_
  std::function<void(int)> done_;  // set by shutdown()
  // Loop thread only.
  bool registered_ = false;
  bool shut_ = false;
  int loads_ = 0;
  int watches_ = 0;
  int subscriptions_ = 0;
};

int64_t now_ms();

}  // namespace hp::recipes
