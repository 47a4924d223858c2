// Builds a MaxMind DB file from (network, record) pairs: an in-memory
// binary trie, records serialised once and shared by identical bytes.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "hotpath.h"

namespace hp::geo {

class Writer {
 public:
  int init(const hp_geo_writer_options *opts);
  int insert(const char *network, size_t len, const hp_geo_value *record);
  int write(const std::string &path);

 private:
  struct Node {
    uint8_t kind[2] = {0, 0};  // 0 empty, 1 node, 2 data
    uint32_t val[2] = {0, 0};
  };
  int serialise(const hp_geo_value *v, std::string &out, unsigned depth);
  std::vector<Node> nodes_{1};
  std::string data_;
  std::unordered_map<std::string, uint32_t> dedup_;
  unsigned ip_version_ = 6, record_size_ = 0;
  std::string type_ = "hotpath", description_;
  std::vector<std::string> languages_;
  uint64_t epoch_ = 0;
};

// Appends the encoding of one value (no pointers).
void encode_header(std::string &out, unsigned type, size_t size);

}  // namespace hp::geo
