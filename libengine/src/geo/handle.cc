#include "geo/handle.h"

#include <cstddef>
#include <cstring>

#include "core/error.h"
#include "geo/watch.h"

namespace hp::geo {

void release(Snapshot *s) {
  if (s && s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

size_t options_size(unsigned version) {
  return version >= 3   ? sizeof(hp_geo_options)
         : version == 2 ? offsetof(hp_geo_options, cache_bytes)
                        : offsetof(hp_geo_options, ipv4_index_bits);
}

int Handle::open(Handle **out, core::Engine *e, core::Rcu *rcu, const char *path, const hp_geo_options *opts) {
  std::unique_ptr<Handle> h(new Handle(e, rcu));
  if (opts) std::memcpy(&h->opts_, opts, options_size(opts->version));
  unsigned bits = h->opts_.ipv4_index_bits;
  if (bits != 0 && (bits < 16 || bits > 24))
    return core::set_error(HP_EINVAL, "geo_open: ipv4_index_bits must be 0 or 16..24, not ", std::to_string(bits));
  h->opts_.extra_paths = nullptr;
  h->paths_.emplace_back(path);
  if (opts)
    for (size_t i = 0; i < opts->extra_count; i++) {
      if (!opts->extra_paths || !opts->extra_paths[i])
        return core::set_error(HP_EINVAL, "geo_open: extra_paths[", std::to_string(i), "] is NULL");
      h->paths_.emplace_back(opts->extra_paths[i]);
    }
  if (h->opts_.watch_interval_ms && !e) return core::set_error(HP_EINVAL, "geo_open: a file watch needs an engine");
  if (e && e->closing()) return core::set_error(HP_ECLOSED, "geo_open: the engine is closing");
  std::unique_ptr<Snapshot> snap;
  int rc = build(h->paths_, h->opts_, &snap);
  if (rc != 0) return rc;
  snap->generation = 1;
  h->generation_.store(1);
  h->current_.store(snap.release());
  if (h->opts_.watch_interval_ms) {
    rc = Watch::start(e, h.get(), h->paths_, h->opts_.watch_interval_ms, &h->watch_);
    if (rc != 0) return core::set_error(rc, "geo_open: the engine is closing");
  }
  *out = h.release();
  return 0;
}

Handle::~Handle() {
  if (watch_) watch_->detach();
  Snapshot *s = current_.exchange(nullptr);
  rcu_.synchronize();
  release(s);
}

int Handle::build(const std::vector<std::string> &paths, const hp_geo_options &opts, std::unique_ptr<Snapshot> *out) {
  auto snap = std::make_unique<Snapshot>();
  for (auto &p : paths) {
    std::unique_ptr<Database> db;
    int rc = Database::open(p, Limits::from(opts), &db);
    if (rc != 0) return rc;
    snap->dbs.push_back(std::move(db));
  }
  *out = std::move(snap);
  return 0;
}

int Handle::reload(const core::Rcu::Token *self) {
  std::unique_ptr<Snapshot> snap;
  int rc = build(paths_, opts_, &snap);
  if (rc != 0) return rc;
  release(publish(std::move(snap), self));
  return 0;
}

Snapshot *Handle::publish(std::unique_ptr<Snapshot> snap, const core::Rcu::Token *self) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  uint64_t gen = generation_.load() + 1;
  snap->generation = gen;
  Snapshot *old = current_.exchange(snap.release(), std::memory_order_seq_cst);
  generation_.store(gen, std::memory_order_release);
  rcu_.synchronize(self);
  return old;
}

}  // namespace hp::geo
