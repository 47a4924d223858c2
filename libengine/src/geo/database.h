// One opened MaxMind DB file: the mapping (libmaxminddb, MMDB_MODE_MMAP),
// the validated layout, the tree index (record ids, IPv4 prefix table) and
// the decoded records by id.
#pragma once

#include <maxminddb.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ip.h"
#include "geo/decoder.h"
#include "geo/flat_cache.h"
#include "geo/record.h"
#include "geo/tree.h"
#include "geo/tree_index.h"

namespace hp::geo {

using Address = core::IpAddress;

// Where the search tree led: a record id, and the data offset itself only
// for a record without an id (a tree with more than 2^26 records).
struct Hit {
  uint32_t id = 0;
  uint32_t raw_offset = 0;
  unsigned prefix = 0;
};

// What one database may spend: its record cache, its IPv4 table width
// (0 for automatic, else 16..24) and the decode budget of one record.
struct Limits {
  size_t cache_records = 1u << 20;
  size_t cache_bytes = HP_GEO_CACHE_BYTES;
  unsigned index_bits = 0;
  Budget record;
  // The options' values, with 0 meaning the default.
  static Limits from(const hp_geo_options &o);
};

class Database {
 public:
  // Opens and validates `path`, numbers its records and builds the IPv4
  // table. Returns 0 or HP_EIO / HP_ECORRUPT / HP_ENOMEM.
  static int open(const std::string &path, const Limits &limits, std::unique_ptr<Database> *out);
  // The same from bytes in memory, copied; `name` stands for the path in
  // messages.
  static int open_buffer(const uint8_t *data, size_t size, const std::string &name, const Limits &limits,
                         std::unique_ptr<Database> *out);
  ~Database();

  // The search tree: 1 with *hit, 0 for no record (hit->prefix set),
  // HP_EFAMILY (IPv6 into IPv4-only), HP_ECORRUPT.
  int find(const Address &a, Hit *hit) const {
    if (a.len == 4 && index_.bits()) {
      uint32_t ip = uint32_t(a.bytes[0]) << 24 | uint32_t(a.bytes[1]) << 16 | uint32_t(a.bytes[2]) << 8 | a.bytes[3];
      uint32_t e = index_.entry(ip);
      if (e & TreeIndex::kLeaf) {
        hit->prefix = (e >> 26) & 31;
        hit->id = e & TreeIndex::kNoId;
        return hit->id == TreeIndex::kNoId ? 0 : 1;
      }
      if (e != TreeIndex::kSlow) return walk4(ip, e, index_.bits(), hit);
    }
    return find_slow(a, hit);
  }

  // Record ids of n IPv4 addresses (host order), HP_GEO_NO_RECORD_ID for
  // none, HP_GEO_UNNUMBERED for a record without an id; table reads of a
  // group are issued before any is used. 0, or an error with *failed set.
  int find_ipv4_many(const uint32_t *ips, size_t n, uint32_t *ids, size_t *failed) const;

  // The data-section offset of a hit.
  uint32_t offset(const Hit &h) const { return h.id == TreeIndex::kNoId ? h.raw_offset : index_.offset_of(h.id); }

  // The decoded record of a hit: cached, or decoded into `*scratch` when
  // the cache is full. 0 or HP_ECORRUPT / HP_ELIMIT (over the record
  // budget) / HP_ENOMEM.
  int record(const Hit &h, const Record **out, std::unique_ptr<Record> *scratch) const {
    if (h.id != TreeIndex::kNoId) {
      if (const Record *r = slots_[h.id].load(std::memory_order_acquire)) {
        *out = r;
        return 0;
      }
    }
    return decode(h, out, scratch);
  }

  // hp_geo_lookup's view of the record of a hit when it is cached (both
  // lines of its slot asked for at once), else nullptr.
  const Packed *packed(const Hit &h) const { return h.id != TreeIndex::kNoId ? flats_.find(h.id) : nullptr; }
  // The same made from the decoded record (and cached when there is room,
  // else written into *buf). *was_cached: the block or the decoded record
  // was in the cache already. 0 or record()'s errors.
  int pack(const Hit &h, const Packed **out, std::unique_ptr<Record> *scratch, std::vector<uint64_t> *buf,
           bool *was_cached) const;

  // Whether the record of a hit is decoded in the cache already.
  bool cached(const Hit &h) const {
    return h.id != TreeIndex::kNoId && slots_[h.id].load(std::memory_order_relaxed) != nullptr;
  }

  // Records the tree points to (ids are below this).
  size_t record_count() const { return index_.count(); }
  const hp_geo_value *metadata() const { return meta_.data(); }
  unsigned ip_version() const { return ip_version_; }
  const std::string &path() const { return path_; }
  // Bytes held by cached records.
  size_t cache_bytes() const { return cached_bytes_.load(std::memory_order_relaxed); }

  // The search tree and the node IPv4 addresses start from, for a walk
  // over every network (geo/iterate.h).
  const Tree &tree() const { return tree_; }
  uint32_t ipv4_start() const { return ipv4_start_; }
  // Where a record value found at `depth` leads: as find().
  int resolve(uint32_t value, unsigned depth, Hit *hit) const;

 private:
  explicit Database(const Limits &limits) : limits_(limits) {}
  int layout(const uint8_t *file, size_t size, bool keep);
  int index();
  int walk4(uint32_t ip, uint32_t v, unsigned d, Hit *hit) const {
    for (; d < 32 && v < tree_.node_count; d++) v = tree_.child(v, (ip >> (31 - d)) & 1);
    return resolve(v, d, hit);
  }
  int find_slow(const Address &a, Hit *hit) const;
  int decode(const Hit &h, const Record **out, std::unique_ptr<Record> *scratch) const;
  // Reserves a place in the record cache for `bytes`, or says it is full.
  bool take_cache_room(size_t bytes) const;
  void give_cache_room(size_t bytes) const;
  // The same for bytes only (packed blocks do not count as records).
  bool take_cache_bytes(size_t bytes) const;

  std::string path_;
  MMDB_s mmdb_{};
  bool mmdb_open_ = false;
  std::unique_ptr<uint8_t[]> owned_;  // open_buffer(): the copied file
  Tree tree_;
  unsigned ip_version_ = 0;
  const uint8_t *data_ = nullptr;
  uint32_t ipv4_start_ = 0;
  TreeIndex index_;
  std::vector<hp_geo_value> meta_;
  // Decoded records by id, filled on first use.
  std::unique_ptr<std::atomic<const Record *>[]> slots_;
  FlatCache flats_;
  Limits limits_;
  mutable std::atomic<size_t> cached_{0};
  mutable std::atomic<size_t> cached_bytes_{0};
};

}  // namespace hp::geo
