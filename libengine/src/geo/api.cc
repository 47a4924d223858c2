// extern "C" definitions of the geo subsystem.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/guard.h"
#include "core/handle.h"
#include "geo/handle.h"
#include "geo/iterate.h"
#include "geo/writer.h"

using hp::core::guard;
using hp::core::set_error;
using hp::geo::Address;
using hp::geo::Handle;

// The public handle; the databases inside are read under its calls.
struct hp_geo final : hp::core::Handle {
  explicit hp_geo(hp::core::Engine *e) : hp::core::Handle(e) {}
  ~hp_geo() override = default;
  std::unique_ptr<hp::geo::Handle> h;

 private:
  // The watch stops and the mappings go once no lookup holds them.
  void shutdown(std::function<void(int)> done) override {
    h.reset();
    done(0);
  }
};
struct hp_geo_iter {
  hp::geo::Snapshot *snap;  // held: one reference
  const hp::geo::Database *db;
  hp::geo::Walk walk;
};
struct hp_geo_writer {
  hp::geo::Writer w;
};

namespace {

using Call = hp::core::Handle::Call;

int closed() { return set_error(HP_ECLOSED, "geo: handle closed"); }

int bad_ip(const char *ip, size_t len) {
  std::string s = ip ? std::string(ip, len > 256 ? 256 : len) : std::string("(null)");
  // ipaddress's wording, which maxminddb users see and match on.
  return set_error(HP_EINVAL, "geo: '", s, "' does not appear to be an IPv4 or IPv6 address");
}

int ipv6_in_ipv4(const char *ip, size_t len) {
  return set_error(HP_EFAMILY, "geo: Error looking up ", std::string(ip, len),
                   ". You attempted to look up an IPv6 address in an IPv4-only database.");
}

void reset(hp_geo_result *out) {
  hp_geo_result_clear(out);
  out->found = 0;
  out->prefix_len = 0;
  out->offset = 0;
  out->generation = 0;
  out->value = nullptr;
  if (out->version >= 2) out->record_id = HP_GEO_NO_RECORD_ID;
}

// Where the record of `hit` is (found, offset, record id), without it.
void locate(hp_geo_result *out, const hp::geo::Database &d, const hp::geo::Hit &hit) {
  out->offset = d.offset(hit);
  if (out->version >= 2) out->record_id = hit.id == hp::geo::TreeIndex::kNoId ? HP_GEO_NO_RECORD_ID : hit.id;
  out->found = 1;
}

// Fills `out` with the record of `hit` and the hold that keeps it alive:
// the snapshot for a cached record, else the decoded copy.
int hold_record(hp_geo_result *out, hp::geo::Snapshot *s, const hp::geo::Database &d, const hp::geo::Hit &hit) {
  out->prefix_len = hit.prefix;
  out->generation = s->generation;
  locate(out, d, hit);
  const hp::geo::Record *rec = nullptr;
  std::unique_ptr<hp::geo::Record> scratch;
  int rc = d.record(hit, &rec, &scratch);
  if (rc != 0) {
    out->found = 0;
    return rc;
  }
  if (scratch) {
    // Not cached (the cache is full): the result owns the record. The tag
    // bit tells hp_geo_result_clear which kind of hold it is.
    out->value = scratch->root();
    out->hold_ = reinterpret_cast<void *>(reinterpret_cast<uintptr_t>(scratch.release()) | 1);
  } else {
    s->refs.fetch_add(1, std::memory_order_relaxed);
    out->value = rec->root();
    out->hold_ = s;
  }
  return 1;
}

// The record of `a` in database `db`: found (1), a miss (0) or an error.
int get_impl(hp_geo_result *out, hp_geo *g, size_t db, const Address &a, bool decode, const char *ip, size_t len) {
  hp::geo::Snapshot *s = g->h->current();
  if (!s) return closed();
  if (db >= s->dbs.size()) return set_error(HP_EINVAL, "geo: database index ", std::to_string(db), " is out of range");
  const hp::geo::Database &d = *s->dbs[db];
  hp::geo::Hit hit;
  int rc = d.find(a, &hit);
  out->generation = s->generation;
  out->prefix_len = hit.prefix;
  if (rc == HP_EFAMILY) return ipv6_in_ipv4(ip, len);
  if (rc <= 0) return rc;
  if (!decode) {
    locate(out, d, hit);
    return 1;
  }
  g->h->count_record(d, hit);
  return hold_record(out, s, d, hit);
}

// The packed block of `hit` when it is not cached yet: packed from the
// decoded record (and cached when there is room). Out of line, so the
// cached path of add_record() reaches no thread_local.
[[gnu::noinline]] int pack_record(const hp::geo::Packed **p, hp_geo *g, const hp::geo::Database &d,
                                  const hp::geo::Hit &hit) {
  thread_local std::unique_ptr<hp::geo::Record> scratch;
  thread_local std::vector<uint64_t> buf;
  bool was_cached = false;
  int rc = d.pack(hit, p, &scratch, &buf, &was_cached);
  g->h->count(was_cached ? Handle::kCacheHits : Handle::kCacheMisses);
  return rc;
}

// Adds the fields of the record of `hit` that `out` lacks (the first
// database with a field wins); `used` bytes of out->buf_ are taken.
int add_record(hp_geo_enrichment *out, size_t *used, hp_geo *g, const hp::geo::Database &d, const hp::geo::Hit &hit) {
  const hp::geo::Packed *p = d.packed(hit);
  if (p) {
    g->h->count(Handle::kCacheHits);
  } else if (int rc = pack_record(&p, g, d, hit); rc != 0) {
    return rc;
  }
  uint32_t add = p->flags & ~out->flags;
  if (out->flags == 0 && *used + p->text_len <= HP_GEO_ENRICHMENT_BUF) {
    // Every string fits: one copy, laid out as the loop below would.
    std::memcpy(out->buf_ + *used, p->text(), p->text_len);
    for (int i = 0; i < HP_GEO_STRING_FIELDS; i++)
      if (add & (1u << i)) out->str[i] = out->buf_ + *used + p->off[i];
    *used += p->text_len;
  } else {
    for (int i = 0; i < HP_GEO_STRING_FIELDS; i++) {
      if (!(add & (1u << i))) continue;
      size_t n = std::strlen(p->text() + p->off[i]);
      if (*used + n + 1 > HP_GEO_ENRICHMENT_BUF) {
        add &= ~(1u << i);
        continue;
      }
      std::memcpy(out->buf_ + *used, p->text() + p->off[i], n + 1);
      out->str[i] = out->buf_ + *used;
      *used += n + 1;
    }
  }
  if (add & HP_GEO_HAS_LOCATION) {
    out->latitude = p->latitude;
    out->longitude = p->longitude;
  }
  if (add & HP_GEO_HAS_ACCURACY_RADIUS) out->accuracy_radius = p->accuracy_radius;
  if (add & HP_GEO_HAS_ASN) out->asn = p->asn;
  out->flags |= add;
  return 0;
}

// Empties `out` for a new enrichment (its version kept).
// Field by field: a memset of the head is a `rep stos`, whose start-up
// cost is a good part of a cached lookup.
void clear_enrichment(hp_geo_enrichment *out) {
  out->flags = 0;
  out->prefix_len = 0;
  out->asn = 0;
  out->accuracy_radius = 0;
  out->latitude = 0;
  out->longitude = 0;
  for (const char *&str : out->str) str = nullptr;
}

int merge(hp_geo_enrichment *out, hp_geo *g, const Address &a, const char *ip, size_t len) {
  clear_enrichment(out);
  hp::geo::Snapshot *s = g->h->current();
  if (!s) return closed();
  size_t used = 0;
  bool searched = false, found = false;
  for (auto &dbp : s->dbs) {
    const hp::geo::Database &d = *dbp;
    if (a.len == 16 && d.ip_version() == 4) continue;
    searched = true;
    hp::geo::Hit hit;
    int rc = d.find(a, &hit);
    if (rc < 0) return rc;
    if (rc == 0) continue;
    if (!found) out->prefix_len = hit.prefix;
    found = true;
    rc = add_record(out, &used, g, d, hit);
    if (rc != 0) return rc;
  }
  if (!searched) return ipv6_in_ipv4(ip, len);
  return found ? 1 : 0;
}

bool to_address(const uint8_t *addr, size_t n, Address *a) {
  if (!addr || (n != 4 && n != 16)) return false;
  std::memcpy(a->bytes, addr, n);
  a->len = static_cast<unsigned>(n);
  return true;
}

// The record ids of n addresses in `d` (hp_geo_find_many's contract).
int find_ids(uint32_t *ids, size_t *failed, const hp::geo::Database &d, const char *const *ips, const size_t *lens,
             size_t n, bool skip) {
  // IPv4 runs go through the table in groups; anything else one by one.
  constexpr size_t kRun = 256;
  uint32_t v4[kRun];
  size_t i = 0;
  while (i < n) {
    size_t m = 0;
    Address a;
    while (i + m < n && m < kRun) {
      if (!hp::core::parse_ip(ips[i + m], lens[i + m], &a) || a.len != 4) break;
      v4[m++] = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 | uint32_t(a.bytes[2]) << 8 | a.bytes[3];
    }
    if (m) {
      size_t f = 0;
      int rc = d.find_ipv4_many(v4, m, ids + i, &f);
      if (rc < 0) {
        *failed = i + f;
        return rc;
      }
      i += m;
      continue;
    }
    *failed = i;
    hp::geo::Hit hit;
    int rc = hp::core::parse_ip(ips[i], lens[i], &a) ? d.find(a, &hit) : HP_EINVAL;
    if (skip && (rc == HP_EINVAL || rc == HP_EFAMILY)) rc = 0;  // a row without a record
    if (rc == HP_EINVAL) return bad_ip(ips[i], lens[i]);
    if (rc == HP_EFAMILY) return ipv6_in_ipv4(ips[i], lens[i]);
    if (rc < 0) return rc;
    ids[i] = rc == 0 ? HP_GEO_NO_RECORD_ID : hit.id == hp::geo::TreeIndex::kNoId ? HP_GEO_UNNUMBERED : hit.id;
    i++;
  }
  return static_cast<int>(n);
}

// What hp_geo_find_many and hp_geo_lookup_many check first; on success
// `*s` is the batch's snapshot (held by the caller's Call).
int batch_start(const char *where, hp_geo *g, size_t db, const void *ids, const char *const *ips, const size_t *lens,
                size_t n, unsigned flags, hp::geo::Snapshot **s) {
  if (n > size_t(INT32_MAX)) return set_error(HP_EINVAL, where, ": too many addresses");
  if (flags & ~HP_GEO_SKIP_INVALID) return set_error(HP_EINVAL, where, ": unknown flags ", std::to_string(flags));
  if (n && (!ids || !ips || !lens)) return set_error(HP_EINVAL, where, ": a NULL argument");
  *s = g->h->current();
  if (!*s) return closed();
  if (db >= (*s)->dbs.size()) return set_error(HP_EINVAL, "geo: database index ", std::to_string(db), " is out of range");
  g->h->count(Handle::kLookups, n);
  return 0;
}

// Record ids already met in one batch: open addressing over at most n ids.
class SeenIds {
 public:
  explicit SeenIds(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    slots_.assign(cap, kEmpty);
  }
  // True the first time `id` comes.
  bool insert(uint32_t id) {
    size_t mask = slots_.size() - 1;
    for (size_t i = (id * 0x9E3779B1u) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == id) return false;
      if (slots_[i] == kEmpty) {
        slots_[i] = id;
        return true;
      }
    }
  }

 private:
  static constexpr uint32_t kEmpty = HP_GEO_NO_RECORD_ID;  // never a key
  std::vector<uint32_t> slots_;
};

}  // namespace

namespace {

// Options of any version this library reads (older ones are shorter).
int check_options(const char *where, const hp_geo_options *opts) {
  if (opts && (opts->version < 1 || opts->version > HP_GEO_OPTIONS_VERSION))
    return set_error(HP_EINVAL, where, ": unknown options version ", std::to_string(opts->version));
  return 0;
}

}  // namespace

extern "C" {

int hp_geo_open(hp_geo **out, hp_engine *e, const char *path, const hp_geo_options *opts) {
  return guard("geo_open", [&] {
    if (!out || !path) return set_error(HP_EINVAL, "geo_open: out or path is NULL");
    *out = nullptr;
    if (int rc = check_options("geo_open", opts)) return rc;
    hp::core::Engine *engine = e ? hp::core::Engine::from_c(e) : nullptr;
    auto g = std::make_unique<hp_geo>(engine);
    Handle *h = nullptr;
    int rc = Handle::open(&h, engine, &g->rcu(), path, opts);
    if (rc != 0) return rc;
    g->h.reset(h);
    *out = g.release();
    return 0;
  });
}

int hp_geo_open_buffer(hp_geo **out, const void *data, size_t size, const char *name,
                       const hp_geo_options *opts) {
  return guard("geo_open_buffer", [&] {
    if (!out || !name || (!data && size)) return set_error(HP_EINVAL, "geo_open_buffer: out, name or data is NULL");
    *out = nullptr;
    if (int rc = check_options("geo_open_buffer", opts)) return rc;
    auto g = std::make_unique<hp_geo>(nullptr);
    Handle *h = nullptr;
    int rc = Handle::open_buffer(&h, &g->rcu(), static_cast<const uint8_t *>(data), size, name, opts);
    if (rc != 0) return rc;
    g->h.reset(h);
    *out = g.release();
    return 0;
  });
}

int hp_geo_open_async(hp_engine *e, const char *path, const hp_geo_options *opts, hp_geo_open_cb cb, void *data) {
  return guard("geo_open_async", [&] {
    if (!e || !path || !cb) return set_error(HP_EINVAL, "geo_open_async: engine, path or cb is NULL");
    if (int rc = check_options("geo_open_async", opts)) return rc;
    // Everything the pool job reads is copied now.
    struct Job {
      std::string path;
      std::vector<std::string> extras;
      std::vector<const char *> extra_ptrs;
      hp_geo_options opts = HP_GEO_OPTIONS_INIT;
      hp_geo *g = nullptr;
      hp::core::Status st;
    };
    auto job = std::make_shared<Job>();
    job->path = path;
    if (opts) {
      std::memcpy(&job->opts, opts, hp::geo::options_size(opts->version));
      job->opts.version = HP_GEO_OPTIONS_VERSION;
      for (size_t i = 0; i < opts->extra_count; i++) {
        if (!opts->extra_paths || !opts->extra_paths[i])
          return set_error(HP_EINVAL, "geo_open: extra_paths[", std::to_string(i), "] is NULL");
        job->extras.emplace_back(opts->extra_paths[i]);
      }
    }
    for (auto &x : job->extras) job->extra_ptrs.push_back(x.c_str());
    job->opts.extra_paths = job->extra_ptrs.data();
    hp::core::Engine *engine = hp::core::Engine::from_c(e);
    return engine->post([engine, e, job, cb, data](bool closing) {
      if (closing) return cb(set_error(HP_ECLOSED, "geo_open: the engine closed first"), nullptr, data);
      engine->queue_work(
          [e, job] { job->st = hp::core::Status::capture(hp_geo_open(&job->g, e, job->path.c_str(), &job->opts)); },
          [job, cb, data](int status) {
            if (status < 0) {  // cancelled, or the job threw (out of memory)
              hp_geo_close(job->g, nullptr, nullptr);
              return cb(set_error(status, status == HP_ECLOSED ? "geo_open: the engine closed first"
                                                               : "geo_open: the open job failed"),
                        nullptr, data);
            }
            if (job->st.code < 0) return cb(job->st.raise(), nullptr, data);
            hp::core::clear_error();
            cb(0, job->g, data);
          });
    });
  });
}

int hp_geo_close(hp_geo *g, hp_close_cb cb, void *data) { return g ? g->close(cb, data) : 0; }

int hp_geo_reload(hp_geo *g) {
  return guard("geo_reload", [&] {
    if (!g) return set_error(HP_EINVAL, "geo_reload: handle is NULL");
    hp::core::Handle::Writer writer(g);
    if (!writer) return closed();
    return g->h->reload();
  });
}

size_t hp_geo_count(const hp_geo *g) {
  Call call(const_cast<hp_geo *>(g));
  return call ? g->h->count() : 0;
}

uint64_t hp_geo_generation(const hp_geo *g) {
  Call call(const_cast<hp_geo *>(g));
  return call ? g->h->generation() : 0;
}

size_t hp_geo_record_count(hp_geo *g, size_t db) {
  Call call(g);
  if (!call) return 0;
  hp::geo::Snapshot *s = g->h->current();
  if (!s || db >= s->dbs.size()) return 0;
  return s->dbs[db]->record_count();
}

size_t hp_geo_cache_bytes(hp_geo *g, size_t db) {
  Call call(g);
  if (!call) return 0;
  hp::geo::Snapshot *s = g->h->current();
  if (!s || db >= s->dbs.size()) return 0;
  return s->dbs[db]->cache_bytes();
}

int hp_geo_stats_get(hp_geo_stats *out, const hp_geo *g) {
  if (!out || !g) return set_error(HP_EINVAL, "geo_stats_get: out or handle is NULL");
  if (out->version < 1 || out->version > HP_GEO_STATS_VERSION)
    return set_error(HP_EINVAL, "geo_stats_get: unknown hp_geo_stats version ", std::to_string(out->version));
  Call call(const_cast<hp_geo *>(g));
  if (!call) return closed();
  g->h->stats(out);
  return 0;
}

namespace {

// hp_geo_get (decode) and hp_geo_find (the search tree only) of text.
int get_text(const char *where, bool decode, hp_geo_result *out, hp_geo *g, size_t db, const char *ip, size_t len) {
  return guard(where, [&] {
    if (!out || !g) return set_error(HP_EINVAL, where, ": out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    reset(out);
    Address a;
    if (!hp::core::parse_ip(ip, len, &a)) return bad_ip(ip, len);
    g->h->count(Handle::kLookups);
    return get_impl(out, g, db, a, decode, ip, len);
  });
}

}  // namespace

int hp_geo_get(hp_geo_result *out, hp_geo *g, size_t db, const char *ip, size_t len) {
  return get_text("geo_get", true, out, g, db, ip, len);
}

int hp_geo_get_bytes(hp_geo_result *out, hp_geo *g, size_t db, const uint8_t *addr, size_t addr_len) {
  return guard("geo_get", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_get: out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    reset(out);
    Address a;
    if (!to_address(addr, addr_len, &a)) return set_error(HP_EINVAL, "geo: a binary address is 4 or 16 bytes");
    g->h->count(Handle::kLookups);
    return get_impl(out, g, db, a, true, "(binary IPv6)", 13);
  });
}

int hp_geo_find(hp_geo_result *out, hp_geo *g, size_t db, const char *ip, size_t len) {
  return get_text("geo_find", false, out, g, db, ip, len);
}

int hp_geo_find_all(hp_geo_result *out, size_t cap, hp_geo *g, const char *ip, size_t len) {
  return guard("geo_find_all", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_find_all: out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    Address a;
    if (!hp::core::parse_ip(ip, len, &a)) return bad_ip(ip, len);
    hp::geo::Snapshot *s = g->h->current();
    if (!s) return closed();
    if (cap < s->dbs.size())
      return set_error(HP_EINVAL, "geo_find_all: room for ", std::to_string(cap), " results, the handle has ",
                       std::to_string(s->dbs.size()), " databases");
    g->h->count(Handle::kLookups);
    bool searched = false, found = false;
    for (size_t i = 0; i < s->dbs.size(); i++) {
      hp_geo_result *r = &out[i];
      reset(r);
      r->generation = s->generation;
      const hp::geo::Database &d = *s->dbs[i];
      if (a.len == 16 && d.ip_version() == 4) continue;  // as hp_geo_lookup merges
      searched = true;
      hp::geo::Hit hit;
      int rc = d.find(a, &hit);
      if (rc < 0) return rc;
      r->prefix_len = hit.prefix;
      if (rc == 0) continue;
      locate(r, d, hit);
      found = true;
    }
    if (!searched) return ipv6_in_ipv4(ip, len);
    return found ? 1 : 0;
  });
}

int hp_geo_find_many(uint32_t *ids, uint64_t *generation, size_t *failed, hp_geo *g, size_t db,
                     const char *const *ips, const size_t *lens, size_t n, unsigned flags) {
  return guard("geo_find_many", [&]() -> int {
    if (!g) return set_error(HP_EINVAL, "geo_find_many: a NULL argument");
    Call call(g);
    if (!call) return closed();
    hp::geo::Snapshot *s = nullptr;
    int rc = batch_start("geo_find_many", g, db, ids, ips, lens, n, flags, &s);
    if (rc < 0) return rc;
    if (generation) *generation = s->generation;
    size_t bad = 0;
    return find_ids(ids, failed ? failed : &bad, *s->dbs[db], ips, lens, n, flags & HP_GEO_SKIP_INVALID);
  });
}

int hp_geo_lookup_many(uint32_t *ids, uint64_t *generation, size_t *failed, hp_geo *g, size_t db,
                       const char *const *ips, const size_t *lens, size_t n, unsigned flags, hp_geo_record_cb cb,
                       void *data) {
  return guard("geo_lookup_many", [&]() -> int {
    if (!g || !cb) return set_error(HP_EINVAL, "geo_lookup_many: a NULL argument");
    Call call(g);
    if (!call) return closed();
    hp::geo::Snapshot *s = nullptr;
    int rc = batch_start("geo_lookup_many", g, db, ids, ips, lens, n, flags, &s);
    if (rc < 0) return rc;
    if (generation) *generation = s->generation;
    size_t bad = 0;
    if (!failed) failed = &bad;
    const hp::geo::Database &d = *s->dbs[db];
    rc = find_ids(ids, failed, d, ips, lens, n, flags & HP_GEO_SKIP_INVALID);
    if (rc < 0) return rc;
    // The records come from the snapshot the ids came from (the call holds
    // it): a reload in between cannot mix two files.
    SeenIds seen(n);
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    for (size_t i = 0; i < n; i++) {
      uint32_t id = ids[i];
      if (id == HP_GEO_NO_RECORD_ID || (id != HP_GEO_UNNUMBERED && !seen.insert(id))) continue;
      // Asked first (record NULL), then given the record when wanted.
      auto stopped = [&](int code) {
        *failed = i;
        return set_error(code, "geo_lookup_many: the record callback ended the batch (", std::to_string(code), ")");
      };
      rc = cb(nullptr, id, i, data);
      if (rc < 0) return stopped(rc);
      if (rc == 0) continue;
      hp::geo::Hit hit;
      hit.id = id;
      if (id == HP_GEO_UNNUMBERED) {
        // No id to share: the address's own record, found again.
        Address a;
        if (!hp::core::parse_ip(ips[i], lens[i], &a) || d.find(a, &hit) != 1) continue;
      }
      clear_enrichment(&e);
      size_t used = 0;
      rc = add_record(&e, &used, g, d, hit);
      if (rc < 0) {
        *failed = i;
        return rc;
      }
      rc = cb(&e, id, i, data);
      if (rc < 0) return stopped(rc);
    }
    return static_cast<int>(n);
  });
}

int hp_geo_metadata(hp_geo_result *out, hp_geo *g, size_t db) {
  return guard("geo_metadata", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_metadata: out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    reset(out);
    hp::geo::Snapshot *s = g->h->current();
    if (!s) return closed();
    if (db >= s->dbs.size())
      return set_error(HP_EINVAL, "geo: database index ", std::to_string(db), " is out of range");
    s->refs.fetch_add(1, std::memory_order_relaxed);
    out->hold_ = s;
    out->generation = s->generation;
    out->value = s->dbs[db]->metadata();
    out->found = 1;
    return 1;
  });
}

void hp_geo_result_clear(hp_geo_result *r) {
  if (!r || !r->hold_) return;
  auto bits = reinterpret_cast<uintptr_t>(r->hold_);
  if (bits & 1)
    delete reinterpret_cast<hp::geo::Record *>(bits & ~uintptr_t(1));
  else
    hp::geo::release(static_cast<hp::geo::Snapshot *>(r->hold_));
  r->hold_ = nullptr;
  r->value = nullptr;
  r->found = 0;
}

int hp_geo_lookup(hp_geo_enrichment *out, hp_geo *g, const char *ip, size_t len) {
  return guard("geo_lookup", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_lookup: out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    Address a;
    if (!hp::core::parse_ip(ip, len, &a)) {
      out->flags = 0;
      return bad_ip(ip, len);
    }
    g->h->count(Handle::kLookups);
    return merge(out, g, a, ip, len);
  });
}

int hp_geo_lookup_bytes(hp_geo_enrichment *out, hp_geo *g, const uint8_t *addr, size_t addr_len) {
  return guard("geo_lookup", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_lookup: out or handle is NULL");
    Call call(g);
    if (!call) return closed();
    Address a;
    if (!to_address(addr, addr_len, &a)) return set_error(HP_EINVAL, "geo: a binary address is 4 or 16 bytes");
    g->h->count(Handle::kLookups);
    return merge(out, g, a, "(binary IPv6)", 13);
  });
}

int hp_geo_writer_new(hp_geo_writer **out, const hp_geo_writer_options *opts) {
  return guard("geo_writer_new", [&] {
    if (!out) return set_error(HP_EINVAL, "geo_writer_new: out is NULL");
    *out = nullptr;
    if (opts && opts->version != HP_GEO_WRITER_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "geo_writer_new: unknown options version");
    auto w = std::make_unique<hp_geo_writer>();
    int rc = w->w.init(opts);
    if (rc != 0) return rc;
    *out = w.release();
    return 0;
  });
}

int hp_geo_writer_insert(hp_geo_writer *w, const char *network, size_t len, const hp_geo_value *record) {
  return guard("geo_writer_insert", [&] {
    if (!w || !network) return set_error(HP_EINVAL, "geo_writer_insert: writer or network is NULL");
    return w->w.insert(network, len, record);
  });
}

int hp_geo_writer_write(hp_geo_writer *w, const char *path) {
  return guard("geo_writer_write", [&] {
    if (!w || !path) return set_error(HP_EINVAL, "geo_writer_write: writer or path is NULL");
    return w->w.write(path);
  });
}

void hp_geo_writer_free(hp_geo_writer *w) { delete w; }

int hp_geo_iter_new(hp_geo_iter **out, hp_geo *g, size_t db) {
  return guard("geo_iter_new", [&] {
    if (!out || !g) return set_error(HP_EINVAL, "geo_iter_new: out or handle is NULL");
    *out = nullptr;
    Call call(g);
    if (!call) return closed();
    hp::geo::Snapshot *s = g->h->current();
    if (!s) return closed();
    if (db >= s->dbs.size()) return set_error(HP_EINVAL, "geo: database index ", std::to_string(db), " is out of range");
    const hp::geo::Database *d = s->dbs[db].get();
    s->refs.fetch_add(1, std::memory_order_relaxed);
    *out = new hp_geo_iter{s, d, hp::geo::Walk(*d)};
    return 0;
  });
}

int hp_geo_iter_next(hp_geo_result *out, uint8_t addr[16], size_t *addr_len, hp_geo_iter *it) {
  return guard("geo_iter_next", [&] {
    if (!out || !addr || !addr_len || !it) return set_error(HP_EINVAL, "geo_iter_next: NULL argument");
    reset(out);
    hp::geo::Hit hit;
    unsigned prefix = 0;
    int rc = it->walk.next(addr, &prefix, &hit);
    if (rc <= 0) return rc;
    *addr_len = it->db->ip_version() == 6 ? 16 : 4;
    hit.prefix = prefix;
    return hold_record(out, it->snap, *it->db, hit);
  });
}

void hp_geo_iter_free(hp_geo_iter *it) {
  if (!it) return;
  hp::geo::release(it->snap);
  delete it;
}

}  // extern "C"
