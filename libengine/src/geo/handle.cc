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

int Handle::set_options(const hp_geo_options *opts) {
  if (opts) std::memcpy(&opts_, opts, options_size(opts->version));
  unsigned bits = opts_.ipv4_index_bits;
  if (bits != 0 && (bits < 16 || bits > 24))
    return core::set_error(HP_EINVAL, "geo_open: ipv4_index_bits must be 0 or 16..24, not ", std::to_string(bits));
  opts_.extra_paths = nullptr;
  return 0;
}

void Handle::start(std::unique_ptr<Snapshot> snap) {
  snap->generation = 1;
  generation_.store(1);
  current_.store(snap.release());
}

int Handle::open(Handle **out, core::Engine *e, core::Rcu *rcu, const char *path, const hp_geo_options *opts) {
  std::unique_ptr<Handle> h(new Handle(e, rcu));
  if (int rc = h->set_options(opts)) return rc;
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
  h->start(std::move(snap));
  if (h->opts_.watch_interval_ms) {
    rc = Watch::start(e, h.get(), h->paths_, h->opts_.watch_interval_ms, &h->watch_);
    if (rc != 0) return core::set_error(rc, "geo_open: the engine is closing");
  }
  *out = h.release();
  return 0;
}

int Handle::open_buffer(Handle **out, core::Rcu *rcu, const uint8_t *data, size_t size, const char *name,
                        const hp_geo_options *opts) {
  std::unique_ptr<Handle> h(new Handle(nullptr, rcu));
  if (int rc = h->set_options(opts)) return rc;
  if (h->opts_.extra_count || h->opts_.watch_interval_ms)
    return core::set_error(HP_EINVAL, "geo_open_buffer: extra_paths and watch_interval_ms need files");
  h->paths_.emplace_back(name);
  h->in_memory_ = true;
  auto snap = std::make_unique<Snapshot>();
  std::unique_ptr<Database> db;
  int rc = Database::open_buffer(data, size, name, Limits::from(h->opts_), &db);
  if (rc != 0) return rc;
  snap->dbs.push_back(std::move(db));
  h->start(std::move(snap));
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

int Handle::reload() {
  if (in_memory_) return core::set_error(HP_EINVAL, "geo_reload: '", paths_[0], "' was opened from memory");
  std::unique_ptr<Snapshot> snap;
  int rc = build(paths_, opts_, &snap);
  note_reload(rc);
  if (rc != 0) return rc;
  release(publish(std::move(snap)));
  return 0;
}

Snapshot *Handle::publish(std::unique_ptr<Snapshot> snap) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  uint64_t gen = generation_.load() + 1;
  snap->generation = gen;
  Snapshot *old = current_.exchange(snap.release(), std::memory_order_seq_cst);
  generation_.store(gen, std::memory_order_release);
  rcu_.synchronize();
  return old;
}

}  // namespace hp::geo
