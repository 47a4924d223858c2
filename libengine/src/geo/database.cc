#include "geo/database.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

bool parse_address(const char *s, size_t n, Address *out) {
  char buf[64];
  if (!s || n == 0 || n >= sizeof buf) return false;
  std::memcpy(buf, s, n);
  buf[n] = 0;
  if (std::memchr(buf, 0, n)) return false;
  if (inet_pton(AF_INET, buf, out->bytes) == 1) {
    out->len = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
    out->len = 16;
    return true;
  }
  return false;
}

int Database::open(const std::string &path, size_t cache_records, std::unique_ptr<Database> *out) {
  // Validate on a private mapping first: libmaxminddb 1.7.1 trusts some
  // metadata it should not, so it only sees files that pass this check.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::set_error(HP_EIO, "geo: cannot open '", path, "': ", std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return core::set_error(HP_EIO, "geo: cannot stat '", path, "': ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    return core::set_error(HP_ECORRUPT, "geo: '", path, "' is empty or not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  void *map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return core::set_error(HP_EIO, "geo: cannot map '", path, "': ", std::strerror(errno));
  std::unique_ptr<Database> db(new Database(cache_records ? cache_records : (1u << 20)));
  db->path_ = path;
  int rc = db->layout(static_cast<const uint8_t *>(map), size, false);
  munmap(map, size);
  if (rc != 0) return rc;

  int mrc = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (mrc != MMDB_SUCCESS) {
    int code = mrc == MMDB_FILE_OPEN_ERROR || mrc == MMDB_IO_ERROR ? HP_EIO
               : mrc == MMDB_OUT_OF_MEMORY_ERROR                   ? HP_ENOMEM
                                                                   : HP_ECORRUPT;
    return core::set_error(code, "geo: '", path, "': ", MMDB_strerror(mrc));
  }
  db->mmdb_open_ = true;
  rc = db->layout(reinterpret_cast<const uint8_t *>(db->mmdb_.file_content), static_cast<size_t>(db->mmdb_.file_size),
                  true);
  if (rc != 0) return rc;
  *out = std::move(db);
  return 0;
}

Database::~Database() {
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
  Decoder md(file + meta_at, size - meta_at);
  if (size == meta_at) return bad("the metadata is empty");
  if (md.decode(0, meta, &err) != 0) return bad("metadata: " + err);
  if (meta[0].type != HP_GEO_MAP) return bad("the metadata is not a map");
  uint64_t node_count, record_size, ip_version, major;
  if (!meta_uint(meta.data(), "node_count", &node_count) || node_count == 0 || node_count > 0xffffffffu)
    return bad("metadata node_count is missing or invalid");
  if (!meta_uint(meta.data(), "record_size", &record_size) ||
      (record_size != 24 && record_size != 28 && record_size != 32))
    return bad("metadata record_size is missing or not 24, 28 or 32");
  if (!meta_uint(meta.data(), "ip_version", &ip_version) || (ip_version != 4 && ip_version != 6))
    return bad("metadata ip_version is missing or not 4 or 6");
  if (!meta_uint(meta.data(), "binary_format_major_version", &major) || major != 2)
    return bad("unsupported binary format major version");
  uint64_t tree_size = node_count * record_size / 4;
  if (tree_size + 16 > marker) return bad("the search tree is larger than the file");
  if (!keep) return 0;

  meta_ = std::move(meta);
  // Containers point into `meta`'s buffer, which moved along with it.
  tree_ = file;
  node_count_ = static_cast<uint32_t>(node_count);
  record_size_ = static_cast<unsigned>(record_size);
  node_bytes_ = record_size_ / 4;
  ip_version_ = static_cast<unsigned>(ip_version);
  data_ = file + tree_size + 16;
  data_size_ = marker - (tree_size + 16);
  uint32_t node = 0;
  unsigned depth = 0;
  if (ip_version_ == 6) {
    for (; depth < 96 && node < node_count_; depth++) node = child(node, 0);
  }
  ipv4_start_ = node;
  ipv4_depth_ = depth;
  jump_.assign(65536, 0);
  for (uint32_t i = 0; i < 65536; i++) {
    uint32_t v = ipv4_start_;
    unsigned d = 0;
    for (; d < 16 && v < node_count_; d++) v = child(v, (i >> (15 - d)) & 1);
    jump_[i] = uint64_t(v) << 8 | d;
  }
  return 0;
}

int Database::resolve(uint32_t v, unsigned depth, uint32_t *offset, unsigned *prefix) const {
  *prefix = depth;
  if (v == node_count_) return 0;
  if (v < node_count_)
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "': the search tree is deeper than the address");
  uint64_t off = uint64_t(v) - node_count_;
  if (off < 16 || off - 16 >= data_size_)
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "': a search tree record points outside the data section");
  *offset = static_cast<uint32_t>(off - 16);
  return 1;
}

int Database::find(const Address &a, uint32_t *offset, unsigned *prefix) const {
  if (a.len == 4) {
    if (ipv4_start_ >= node_count_) return resolve(ipv4_start_, 0, offset, prefix);
    uint32_t ip = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 | uint32_t(a.bytes[2]) << 8 | a.bytes[3];
    uint64_t e = jump_[ip >> 16];
    uint32_t v = static_cast<uint32_t>(e >> 8);
    unsigned d = static_cast<unsigned>(e & 0xff);
    for (; d < 32 && v < node_count_; d++) v = child(v, (ip >> (31 - d)) & 1);
    return resolve(v, d, offset, prefix);
  }
  if (ip_version_ == 4) return HP_EINVAL;
  uint32_t v = 0;
  unsigned d = 0;
  for (; d < 128 && v < node_count_; d++) v = child(v, (a.bytes[d >> 3] >> (7 - (d & 7))) & 1);
  return resolve(v, d, offset, prefix);
}

int Database::record(uint32_t offset, const Record **out, std::unique_ptr<Record> *scratch) const {
  if (const Record *r = cache_.find(offset)) {
    *out = r;
    return 0;
  }
  std::string err;
  Decoder dec(data_, data_size_);
  if (dec.decode(offset, tl_nodes, &err) != 0)
    return core::set_error(HP_ECORRUPT, "geo: '", path_, "': record at offset ", std::to_string(offset), ": ", err);
  auto r = std::make_unique<Record>();
  r->offset = offset;
  r->count = tl_nodes.size();
  r->nodes.reset(new hp_geo_value[r->count]);
  std::memcpy(r->nodes.get(), tl_nodes.data(), r->count * sizeof(hp_geo_value));
  for (size_t i = 0; i < r->count; i++) {
    hp_geo_value &n = r->nodes[i];
    if (n.type == HP_GEO_MAP || n.type == HP_GEO_ARRAY) n.v.items = r->nodes.get() + (n.v.items - tl_nodes.data());
  }
  flatten(r->root(), &r->flat);
  if (tl_nodes.capacity() > 4096) std::vector<hp_geo_value>().swap(tl_nodes);
  const Record *cached = cache_.insert(r);
  if (cached) {
    *out = cached;
  } else {
    *scratch = std::move(r);
    *out = scratch->get();
  }
  return 0;
}

}  // namespace hp::geo
