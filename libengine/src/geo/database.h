// One opened MaxMind DB file: the mapping (libmaxminddb, MMDB_MODE_MMAP),
// the validated layout, a 16-bit jump table over the IPv4 part of the
// search tree, and the cache of decoded records.
#pragma once

#include <maxminddb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "geo/record_cache.h"

namespace hp::geo {

struct Address {
  uint8_t bytes[16];
  unsigned len;  // 4 or 16
};

// Parses an IPv4 or IPv6 address; false when `s` is not one.
bool parse_address(const char *s, size_t n, Address *out);

class Database {
 public:
  // Opens and validates `path`. Returns 0 or HP_EIO / HP_ECORRUPT / HP_ENOMEM.
  static int open(const std::string &path, size_t cache_records, std::unique_ptr<Database> *out);
  ~Database();

  // The search tree: 1 with *offset (data-section offset) and *prefix,
  // 0 for no record, HP_EINVAL (IPv6 into IPv4-only), HP_ECORRUPT.
  int find(const Address &a, uint32_t *offset, unsigned *prefix) const;

  // The decoded record at `offset`: cached, or decoded into `*scratch` when
  // the cache is full. 0 or HP_ECORRUPT / HP_ENOMEM.
  int record(uint32_t offset, const Record **out, std::unique_ptr<Record> *scratch) const;

  const hp_geo_value *metadata() const { return meta_.data(); }
  unsigned ip_version() const { return ip_version_; }
  const std::string &path() const { return path_; }

 private:
  Database(size_t cache_records) : cache_(cache_records) {}
  int layout(const uint8_t *file, size_t size, bool keep);
  uint32_t child(uint32_t node, unsigned bit) const {
    const uint8_t *p = tree_ + size_t(node) * node_bytes_;
    switch (record_size_) {
      case 24:
        return bit ? (uint32_t(p[3]) << 16 | uint32_t(p[4]) << 8 | p[5])
                   : (uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
      case 28:
        return bit ? ((uint32_t(p[3]) & 0x0f) << 24 | uint32_t(p[4]) << 16 | uint32_t(p[5]) << 8 | p[6])
                   : ((uint32_t(p[3]) & 0xf0) << 20 | uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]);
      default:
        return bit ? (uint32_t(p[4]) << 24 | uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7])
                   : (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]);
    }
  }
  int resolve(uint32_t value, unsigned depth, uint32_t *offset, unsigned *prefix) const;

  std::string path_;
  MMDB_s mmdb_{};
  bool mmdb_open_ = false;
  const uint8_t *tree_ = nullptr;
  uint32_t node_count_ = 0;
  unsigned record_size_ = 0, node_bytes_ = 0, ip_version_ = 0;
  const uint8_t *data_ = nullptr;
  size_t data_size_ = 0;
  uint32_t ipv4_start_ = 0;
  unsigned ipv4_depth_ = 0;  // bits walked from the root to ipv4_start_
  // IPv4: (value << 8 | depth) after the first 16 bits from ipv4_start_.
  std::vector<uint64_t> jump_;
  std::vector<hp_geo_value> meta_;
  mutable RecordCache cache_;
};

}  // namespace hp::geo
