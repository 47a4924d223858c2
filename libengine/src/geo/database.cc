#include "geo/database.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "core/error.h"
#include "geo/decoder.h"
#include "geo/flatten.h"

namespace hp::geo {

namespace {

constexpr char kMarker[] = "\xAB\xCD\xEFMaxMind.com";
constexpr size_t kMarkerLen = sizeof kMarker - 1;
constexpr size_t kMetadataMax = 128 * 1024;

bool meta_uint(const hp_geo_value *m, const char *key, uint64_t *out) {
  const hp_geo_value *v = map_get(m, key);
  if (!v || !(v->type == HP_GEO_UINT16 || v->type == HP_GEO_UINT32 || v->type == HP_GEO_UINT64)) return false;
  *out = v->v.u64;
  return true;
}

thread_local std::vector<hp_geo_value> tl_nodes;

}  // namespace

Limits Limits::from(const hp_geo_options &o) {
  Limits l;
  if (o.cache_records) l.cache_records = o.cache_records;
  l.index_bits = o.ipv4_index_bits;
  if (o.version >= 3) {
    if (o.cache_bytes) l.cache_bytes = o.cache_bytes;
    if (o.max_record_bytes) l.record.max_bytes = o.max_record_bytes;
    if (o.max_record_nodes) l.record.max_nodes = o.max_record_nodes;
  }
  return l;
}

int Database::open(const std::string &path, const Limits &limits, std::unique_ptr<Database> *out) {
  // Validate on a private mapping first: libmaxminddb 1.7.1 trusts some
  // metadata it should not, so it only sees files that pass this check.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return core::set_sys_error(HP_EIO, err, "open", path, "geo: cannot open '", path, "': ", std::strerror(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return core::set_sys_error(HP_EIO, err, "fstat", path, "geo: cannot stat '", path, "': ", std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return core::set_sys_error(HP_EIO, EISDIR, "read", path, "geo: cannot read '", path, "': ", std::strerror(EISDIR));
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    return core::set_error(HP_ECORRUPT, "geo: '", path, "' is empty or not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  void *map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    int err = errno;
    ::close(fd);
    return core::set_sys_error(HP_EIO, err, "mmap", path, "geo: cannot map '", path, "': ", std::strerror(err));
  }
  ::close(fd);
  std::unique_ptr<Database> db(new Database(limits));
  db->path_ = path;
  int rc = db->layout(static_cast<const uint8_t *>(map), size, false);
  munmap(map, size);
  if (rc != 0) return rc;

  int mrc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (mrc != MMDB_SUCCESS) {
    int code = mrc == MMDB_FILE_OPEN_ERROR || mrc == MMDB_IO_ERROR ? HP_EIO
               : mrc == MMDB_OUT_OF_MEMORY_ERROR                   ? HP_ENOMEM
                                                                   : HP_ECORRUPT;
    if (code == HP_EIO && errno)
      return core::set_sys_error(code, errno, "open", path, "geo: '", path, "': ", MMDB_strerror(mrc));
    return core::set_error(code, "geo: '", path, "': ", MMDB_strerror(mrc));
  }
  db->mmdb_open_ = true;
  rc = db->layout(reinterpret_cast<const uint8_t *>(db->mmdb_.file_content), static_cast<size_t>(db->mmdb_.file_size),
                  true);
  if (rc == 0) rc = db->index();
  if (rc == 0) *out = std::move(db);
  return rc;
}

int Database::open_buffer(const uint8_t *data, size_t size, const std::string &name, const Limits &limits,
                          std::unique_ptr<Database> *out) {
  std::unique_ptr<Database> db(new Database(limits));
  db->path_ = name;
  db->owned_.reset(new (std::nothrow) uint8_t[size ? size : 1]);
  if (!db->owned_) return core::set_error(HP_ENOMEM, "geo: '", name, "': out of memory copying ", std::to_string(size), " bytes");
  if (size) std::memcpy(db->owned_.get(), data, size);
  int rc = db->layout(db->owned_.get(), size, true);
  if (rc == 0) rc = db->index();
  if (rc == 0) *out = std::move(db);
  return rc;
}

// The tree index and the record slots, once the layout is known.
int Database::index() {
  // Automatic: a 2^24-entry table (64 MiB) pays for itself on a large IPv4
  // tree, where a walk is a chain of cache misses; small trees stay in
  // cache and get 2^16 entries (256 KiB).
  unsigned bits = limits_.index_bits ? limits_.index_bits : (tree_.node_count >= (1u << 20) ? 24 : 16);
  int rc = index_.build(tree_, ipv4_start_, bits);
  if (rc != 0) return core::set_error(rc, "geo: '", path_, "': out of memory indexing the search tree");
  size_t n = index_.count();
  slots_.reset(new std::atomic<const Record *>[n ? n : 1]);
  for (size_t i = 0; i < n; i++) slots_[i].store(nullptr, std::memory_order_relaxed);
  // A slot per record within the byte cap; past it, lookups pack per call.
  flats_.init(n, limits_.cache_bytes);
  return 0;
}

Database::~Database() {
  size_t n = index_.count();
  if (slots_)
    for (size_t i = 0; i < n; i++) delete slots_[i].load(std::memory_order_relaxed);
  if (mmdb_open_) MMDB_close(&mmdb_);
}

int Database::layout(const uint8_t *file, size_t size, bool keep) {
  auto bad = [&](const std::string &what) {
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "' is not a valid MaxMind DB: ", what);
  };
  // The metadata starts after the last marker in the final 128 KiB.
  size_t lo = size > kMetadataMax ? size - kMetadataMax : 0;
  size_t marker = SIZE_MAX;
  if (size >= kMarkerLen) {
    for (size_t i = size - kMarkerLen + 1; i-- > lo;) {
      if (file[i] == 0xAB && std::memcmp(file + i, kMarker, kMarkerLen) == 0) {
        marker = i;
        break;
      }
    }
  }
  if (marker == SIZE_MAX) return bad("no metadata section");
  size_t meta_at = marker + kMarkerLen;
  std::vector<hp_geo_value> meta;
  std::string err;
  // The metadata is decoded within a record's payload budget (a small
  // values budget, meant for records, does not apply to it).
  Budget meta_budget = limits_.record;
  meta_budget.max_nodes = std::max<uint64_t>(meta_budget.max_nodes, HP_GEO_MAX_RECORD_NODES);
  Decoder md(file + meta_at, size - meta_at, meta_budget);
  if (size == meta_at) return bad("the metadata is empty");
  if (int rc = md.decode(0, meta, &err); rc != 0) {
    if (rc == HP_ELIMIT) return core::set_error(HP_ELIMIT, "geo: '", path_, "': metadata: ", err);
    return bad("metadata: " + err);
  }
  if (meta[0].type != HP_GEO_MAP) return bad("the metadata is not a map");
  uint64_t node_count, record_size, ip_version, major;
  // The value itself goes into the message: readers match on "Unknown
  // record size: 30" and "Invalid node count: -1".
  if (!meta_uint(meta.data(), "node_count", &node_count) || node_count > 0xffffffffu) {
    const hp_geo_value *v = map_get(meta.data(), "node_count");
    if (v && v->type == HP_GEO_INT32) return bad("Invalid node count: " + std::to_string(v->v.i64));
    return bad("metadata node_count is missing or invalid");
  }
  if (!meta_uint(meta.data(), "record_size", &record_size)) return bad("metadata record_size is missing");
  if (record_size != 24 && record_size != 28 && record_size != 32)
    return bad("Unknown record size: " + std::to_string(record_size));
  if (!meta_uint(meta.data(), "ip_version", &ip_version) || (ip_version != 4 && ip_version != 6))
    return bad("metadata ip_version is missing or not 4 or 6");
  if (!meta_uint(meta.data(), "binary_format_major_version", &major) || major != 2)
    return bad("unsupported binary format major version");
  uint64_t tree_size = node_count * record_size / 4;
  if (tree_size + 16 > marker) return bad("the search tree is larger than the file");
  if (!keep) return 0;

  meta_ = std::move(meta);
  // Containers point into `meta`'s buffer, which moved along with it.
  tree_.base = file;
  tree_.node_count = static_cast<uint32_t>(node_count);
  tree_.record_size = static_cast<unsigned>(record_size);
  tree_.node_bytes = tree_.record_size / 4;
  ip_version_ = static_cast<unsigned>(ip_version);
  data_ = file + tree_size + 16;
  tree_.data_size = marker - (tree_size + 16);
  uint32_t node = 0;
  if (ip_version_ == 6) {
    for (unsigned depth = 0; depth < 96 && node < tree_.node_count; depth++) node = tree_.child(node, 0);
  }
  ipv4_start_ = node;
  return 0;
}

int Database::resolve(uint32_t v, unsigned depth, Hit *hit) const {
  hit->prefix = depth;
  if (v == tree_.node_count) return 0;
  if (v < tree_.node_count)
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "': the search tree is deeper than the address");
  uint32_t off;
  if (!tree_.data_offset(v, &off))
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "': a search tree record points outside the data section");
  hit->id = index_.id_of(off);
  hit->raw_offset = off;
  return 1;
}

int Database::find_ipv4_many(const uint32_t *ips, size_t n, uint32_t *ids, size_t *failed) const {
  auto one = [&](size_t i, uint32_t e) -> int {
    Hit hit;
    int rc;
    if (e & TreeIndex::kLeaf) {
      hit.id = e & TreeIndex::kNoId;
      rc = hit.id == TreeIndex::kNoId ? 0 : 1;
    } else if (e != TreeIndex::kSlow && index_.bits()) {
      rc = walk4(ips[i], e, index_.bits(), &hit);
    } else {
      Address a;
      a.len = 4;
      for (int b = 0; b < 4; b++) a.bytes[b] = static_cast<uint8_t>(ips[i] >> (24 - 8 * b));
      rc = find_slow(a, &hit);
    }
    if (rc < 0) {
      *failed = i;
      return rc;
    }
    ids[i] = rc == 0 ? HP_GEO_NO_RECORD_ID : hit.id == TreeIndex::kNoId ? HP_GEO_UNNUMBERED : hit.id;
    return 0;
  };
  if (!index_.bits()) {
    for (size_t i = 0; i < n; i++)
      if (int rc = one(i, TreeIndex::kSlow)) return rc;
    return 0;
  }
  constexpr size_t kGroup = 16;
  uint32_t entries[kGroup];
  for (size_t base = 0; base < n; base += kGroup) {
    size_t m = n - base < kGroup ? n - base : kGroup;
    for (size_t j = 0; j < m; j++) __builtin_prefetch(index_.entry_ptr(ips[base + j]));
    for (size_t j = 0; j < m; j++) entries[j] = index_.entry(ips[base + j]);
    for (size_t j = 0; j < m; j++)
      if (int rc = one(base + j, entries[j])) return rc;
  }
  return 0;
}

int Database::find_slow(const Address &a, Hit *hit) const {
  if (a.len == 4) {
    if (ipv4_start_ >= tree_.node_count) return resolve(ipv4_start_, 0, hit);
    uint32_t ip = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 | uint32_t(a.bytes[2]) << 8 | a.bytes[3];
    return walk4(ip, ipv4_start_, 0, hit);
  }
  if (ip_version_ == 4) return HP_EFAMILY;
  uint32_t v = 0;
  unsigned d = 0;
  for (; d < 128 && v < tree_.node_count; d++) v = tree_.child(v, (a.bytes[d >> 3] >> (7 - (d & 7))) & 1);
  return resolve(v, d, hit);
}

int Database::decode(const Hit &h, const Record **out, std::unique_ptr<Record> *scratch) const {
  uint32_t offset = this->offset(h);
  std::string err;
  Decoder dec(data_, tree_.data_size, limits_.record);
  if (int rc = dec.decode(offset, tl_nodes, &err))
    return core::set_error(rc, "geo: '", path_, "': record at offset ", std::to_string(offset), ": ", err);
  auto r = std::make_unique<Record>();
  r->offset = offset;
  r->id = h.id;
  r->count = tl_nodes.size();
  r->nodes.reset(new hp_geo_value[r->count]);
  std::memcpy(r->nodes.get(), tl_nodes.data(), r->count * sizeof(hp_geo_value));
  for (size_t i = 0; i < r->count; i++) {
    hp_geo_value &n = r->nodes[i];
    if (n.type == HP_GEO_MAP || n.type == HP_GEO_ARRAY) n.v.items = r->nodes.get() + (n.v.items - tl_nodes.data());
  }
  flatten(r->root(), &r->flat);
  if (tl_nodes.capacity() > 4096) std::vector<hp_geo_value>().swap(tl_nodes);
  if (h.id != TreeIndex::kNoId && take_cache_room(r->bytes())) {
    const Record *expected = nullptr;
    if (slots_[h.id].compare_exchange_strong(expected, r.get(), std::memory_order_acq_rel)) {
      *out = r.release();
    } else {
      give_cache_room(r->bytes());
      *out = expected;  // another thread decoded it first
    }
    return 0;
  }
  *scratch = std::move(r);
  *out = scratch->get();
  return 0;
}

int Database::pack(const Hit &h, const Packed **out, std::unique_ptr<Record> *scratch, std::vector<uint64_t> *buf,
                   bool *was_cached) const {
  if (h.id != TreeIndex::kNoId) {
    if ((*out = flats_.find(h.id))) {  // another thread packed it meanwhile
      *was_cached = true;
      return 0;
    }
  }
  *was_cached = cached(h);
  const Record *rec = nullptr;
  if (int rc = record(h, &rec, scratch)) return rc;
  size_t cost = FlatCache::cost(rec->flat);
  if (h.id != TreeIndex::kNoId && take_cache_bytes(cost)) {
    bool stored = false;
    *out = flats_.put(h.id, rec->flat, &stored);
    if (!stored) cached_bytes_.fetch_sub(cost, std::memory_order_relaxed);
    if (*out) return 0;
  }
  buf->resize(Packed::size_of(rec->flat) / 8);
  *out = Packed::write(rec->flat, buf->data());
  return 0;
}

bool Database::take_cache_bytes(size_t bytes) const {
  if (cached_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > limits_.cache_bytes) {
    cached_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    return false;
  }
  return true;
}

bool Database::take_cache_room(size_t bytes) const {
  if (cached_.fetch_add(1, std::memory_order_relaxed) >= limits_.cache_records) {
    cached_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  if (cached_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes > limits_.cache_bytes) {
    give_cache_room(bytes);
    return false;
  }
  return true;
}

void Database::give_cache_room(size_t bytes) const {
  cached_.fetch_sub(1, std::memory_order_relaxed);
  cached_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

}  // namespace hp::geo
