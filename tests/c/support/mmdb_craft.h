// Hand-assembled MaxMind DB files for hostile-input tests and fuzz targets:
// the data section is written byte by byte (pointers included, which the
// project's writer never emits), under a small valid IPv4 search tree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hp_test::mmdb {

enum Type : unsigned {
  kPointer = 1,
  kString = 2,
  kDouble = 3,
  kBytes = 4,
  kUint16 = 5,
  kUint32 = 6,
  kMap = 7,
  kInt32 = 8,
  kUint64 = 9,
  kArray = 11,
  kBoolean = 14,
};

// Control byte(s) of a value of `type` and `size` (extended types and the
// 29/30/31 size forms included).
inline std::string control(unsigned type, size_t size) {
  std::string out;
  uint8_t first = type <= 7 ? static_cast<uint8_t>(type << 5) : 0;
  std::string tail;
  if (size < 29) {
    first |= static_cast<uint8_t>(size);
  } else if (size < 285) {
    first |= 29;
    tail.push_back(static_cast<char>(size - 29));
  } else if (size < 65821) {
    first |= 30;
    size_t v = size - 285;
    tail.push_back(static_cast<char>(v >> 8));
    tail.push_back(static_cast<char>(v));
  } else {
    first |= 31;
    size_t v = size - 65821;
    tail.push_back(static_cast<char>(v >> 16));
    tail.push_back(static_cast<char>(v >> 8));
    tail.push_back(static_cast<char>(v));
  }
  out.push_back(static_cast<char>(first));
  if (type > 7) out.push_back(static_cast<char>(type - 7));
  return out + tail;
}

inline std::string str(const std::string &s) { return control(kString, s.size()) + s; }
inline std::string map(size_t pairs) { return control(kMap, pairs); }
inline std::string array(size_t items) { return control(kArray, items); }

inline std::string uint32(uint32_t v) {
  std::string b;
  for (int s = 24; s >= 0; s -= 8)
    if (v >> s) b.push_back(static_cast<char>(v >> s));
  return control(kUint32, b.size()) + b;
}

// A 4-byte pointer (the form that reaches any offset) to `offset` in the
// data section.
inline std::string pointer(uint32_t offset) {
  std::string out(1, static_cast<char>((kPointer << 5) | (3 << 3)));
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>(offset >> s));
  return out;
}

inline std::string metadata(uint32_t node_count) {
  std::string m = map(9);
  m += str("binary_format_major_version") + control(kUint16, 1) + std::string(1, '\x02');
  m += str("binary_format_minor_version") + control(kUint16, 0);
  m += str("build_epoch") + control(kUint64, 1) + std::string(1, '\x01');  // libmaxminddb refuses 0
  m += str("database_type") + str("hotpath-crafted");
  m += str("description") + map(0);
  m += str("ip_version") + control(kUint16, 1) + std::string(1, '\x04');
  m += str("languages") + array(0);
  m += str("node_count") + uint32(node_count);
  m += str("record_size") + control(kUint16, 1) + std::string(1, '\x20');
  return m;
}

// An IPv4 database (record size 32) whose i-th record (i < 32) is the value
// at data-section offset records[i], reached from address_of(i).
inline std::string file(const std::string &data, const std::vector<uint32_t> &records) {
  uint32_t n = static_cast<uint32_t>(records.empty() ? 1 : records.size());
  std::string tree;
  auto put = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) tree.push_back(static_cast<char>(v >> s));
  };
  for (uint32_t i = 0; i < n; i++) {
    put(i + 1 < n ? i + 1 : n);  // left: the next node, or "no record"
    put(records.empty() ? n : n + 16 + records[i]);
  }
  return tree + std::string(16, '\0') + data + "\xAB\xCD\xEFMaxMind.com" + metadata(n);
}

// The address whose lookup reaches record i of file(): i zero bits, then a one.
inline std::string address_of(unsigned i) {
  uint32_t ip = 1u << (31 - i);
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." + std::to_string((ip >> 8) & 255) +
         "." + std::to_string(ip & 255);
}

}  // namespace hp_test::mmdb
