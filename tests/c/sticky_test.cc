#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"

static uint32_t fp(const std::string &s) {
  uint32_t v = 0;
  REQUIRE(hp_fingerprint32(s.data(), s.size(), &v) == 0);
  return v;
}

TEST_CASE("sticky: fingerprint32 matches the farmhash npm package on the issue's vectors") {
  CHECK(fp("hello world") == 430397466u);
  CHECK(fp("127.0.0.1") == 1211160241u);
  CHECK(fp("::ffff:127.0.0.1") == 3208593540u);
  CHECK(fp("::1") == 3686423519u);
  CHECK(fp("192.168.1.10") == 3038424652u);
}

TEST_CASE("sticky: fingerprint32 matches every committed farmhash npm vector") {
  std::istringstream in(hp_test::read_file(hp_test::fixture("fingerprint32.tsv")));
  std::string line;
  std::vector<std::string> inputs;
  std::vector<uint32_t> expected;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    inputs.push_back(hp_test::unhex(line.substr(0, tab)));
    expected.push_back(static_cast<uint32_t>(std::stoul(line.substr(tab + 1))));
  }
  REQUIRE(inputs.size() >= 1000);
  size_t mismatches = 0;
  for (size_t i = 0; i < inputs.size(); i++)
    if (fp(inputs[i]) != expected[i]) mismatches++;
  CHECK(mismatches == 0);

  SUBCASE("and the batch form gives the same values") {
    std::string all;
    std::vector<uint64_t> offsets{0};
    for (auto &s : inputs) {
      all += s;
      offsets.push_back(all.size());
    }
    std::vector<uint32_t> out(inputs.size());
    REQUIRE(hp_fingerprint32_many(all.data(), offsets.data(), inputs.size(), out.data()) == static_cast<int>(inputs.size()));
    CHECK(out == expected);
  }
}

TEST_CASE("sticky: bad fingerprint input gives HP_EINVAL with a message") {
  uint32_t v;
  CHECK(hp_fingerprint32(nullptr, 1, &v) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("data is NULL") != std::string::npos);
  CHECK(hp_fingerprint32("x", 1, nullptr) == HP_EINVAL);
  CHECK(hp_fingerprint32("x", HP_FINGERPRINT_MAX_LEN + 1, &v) == HP_EINVAL);
  CHECK(hp_fingerprint32(nullptr, 0, &v) == 0);  // empty input is valid
  uint64_t bad[] = {0, 5, 3};
  uint32_t out[2];
  CHECK(hp_fingerprint32_many("abcde", bad, 2, out) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("decrease") != std::string::npos);
  uint64_t nonzero[] = {1, 2};
  CHECK(hp_fingerprint32_many("ab", nonzero, 1, out) == HP_EINVAL);
  CHECK(hp_fingerprint32_many("ab", nullptr, 1, out) == HP_EINVAL);
}

TEST_CASE("sticky: modulo mode is fingerprint32 of the address text modulo workers, as the seed") {
  for (std::string ip : {"::ffff:10.0.0.1", "127.0.0.1", "::1", "2001:db8::7"}) {
    for (uint32_t n : {1u, 2u, 3u, 8u}) {
      uint32_t w = 99;
      REQUIRE(hp_sticky_pick(ip.data(), ip.size(), n, HP_STICKY_MODULO, &w) == 0);
      CHECK(w == fp(ip) % n);
    }
  }
}

TEST_CASE("sticky: jump mode folds IPv4-mapped addresses and moves about 1/n of clients") {
  uint32_t a, b;
  REQUIRE(hp_sticky_pick("::ffff:10.1.2.3", 15, 7, HP_STICKY_JUMP, &a) == 0);
  REQUIRE(hp_sticky_pick("10.1.2.3", 8, 7, HP_STICKY_JUMP, &b) == 0);
  CHECK(a == b);

  const int clients = 20000;
  int moved = 0;
  std::map<uint32_t, int> load;
  for (int i = 0; i < clients; i++) {
    std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    uint32_t before, after;
    REQUIRE(hp_sticky_pick(ip.data(), ip.size(), 8, HP_STICKY_JUMP, &before) == 0);
    REQUIRE(hp_sticky_pick(ip.data(), ip.size(), 9, HP_STICKY_JUMP, &after) == 0);
    if (before != after) {
      moved++;
      CHECK(after == 8u);  // a client only ever moves to the new worker
    }
    load[before]++;
  }
  // 1/9 of 20000 is 2222; allow sampling noise.
  CHECK(moved > 1800);
  CHECK(moved < 2700);
  for (auto &[w, n] : load) CHECK(n > clients / 8 * 8 / 10);
}

TEST_CASE("sticky: bad pick input gives HP_EINVAL") {
  uint32_t w;
  CHECK(hp_sticky_pick(nullptr, 3, 2, HP_STICKY_MODULO, &w) == HP_EINVAL);
  CHECK(hp_sticky_pick("1.2.3.4", 7, 0, HP_STICKY_MODULO, &w) == HP_EINVAL);
  CHECK(hp_sticky_pick("1.2.3.4", 0, 2, HP_STICKY_MODULO, &w) == HP_EINVAL);
  std::string huge(300, '1');
  CHECK(hp_sticky_pick(huge.data(), huge.size(), 2, HP_STICKY_MODULO, &w) == HP_EINVAL);
  CHECK(hp_sticky_pick("1.2.3.4", 7, 2, 42, &w) == HP_EINVAL);
  CHECK(hp_sticky_pick("not-an-ip", 9, 2, HP_STICKY_JUMP, &w) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("not-an-ip") != std::string::npos);
  CHECK(hp_jump_hash(1, 0, &w) == HP_EINVAL);
  CHECK(hp_jump_hash(1, 1, &w) == 0);
  CHECK(w == 0u);
}
