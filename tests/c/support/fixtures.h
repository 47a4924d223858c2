// Paths to test fixtures and small helpers shared by the C tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#ifndef HP_TEST_FIXTURES
#error "HP_TEST_FIXTURES must name tests/fixtures"
#endif

namespace hp_test {

inline std::string fixture(const std::string &name) { return std::string(HP_TEST_FIXTURES) + "/" + name; }

inline std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string unhex(const std::string &hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace hp_test
