#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hotpath.h"
#include "support/fixtures.h"

static uint32_t fp(const std::string &s) {
  uint32_t v = 0;
  REQUIRE(hp_fingerprint32(&v, s.data(), s.size()) == 0);
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
    REQUIRE(hp_fingerprint32_many(out.data(), all.data(), offsets.data(), inputs.size()) ==
            static_cast<int>(inputs.size()));
    CHECK(out == expected);
  }
}

TEST_CASE("sticky: bad fingerprint input gives HP_EINVAL with a message") {
  uint32_t v;
  CHECK(hp_fingerprint32(&v, nullptr, 1) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("data is NULL") != std::string::npos);
  CHECK(hp_fingerprint32(nullptr, "x", 1) == HP_EINVAL);
  CHECK(hp_fingerprint32(&v, "x", HP_FINGERPRINT_MAX_LEN + 1) == HP_EINVAL);
  CHECK(hp_fingerprint32(&v, nullptr, 0) == 0);  // empty input is valid
  uint64_t bad[] = {0, 5, 3};
  uint32_t out[2];
  CHECK(hp_fingerprint32_many(out, "abcde", bad, 2) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("decrease") != std::string::npos);
  uint64_t nonzero[] = {1, 2};
  CHECK(hp_fingerprint32_many(out, "ab", nonzero, 1) == HP_EINVAL);
  CHECK(hp_fingerprint32_many(out, "ab", nullptr, 1) == HP_EINVAL);
}

TEST_CASE("sticky: modulo mode is fingerprint32 of the address text modulo workers, as the seed") {
  for (std::string ip : {"::ffff:10.0.0.1", "127.0.0.1", "::1", "2001:db8::7"}) {
    for (uint32_t n : {1u, 2u, 3u, 8u}) {
      uint32_t w = 99;
      REQUIRE(hp_sticky_pick(&w, ip.data(), ip.size(), n, HP_STICKY_MODULO) == 0);
      CHECK(w == fp(ip) % n);
    }
  }
}

TEST_CASE("sticky: jump mode folds IPv4-mapped addresses and moves about 1/n of clients") {
  uint32_t a, b;
  REQUIRE(hp_sticky_pick(&a, "::ffff:10.1.2.3", 15, 7, HP_STICKY_JUMP) == 0);
  REQUIRE(hp_sticky_pick(&b, "10.1.2.3", 8, 7, HP_STICKY_JUMP) == 0);
  CHECK(a == b);

  const int clients = 20000;
  int moved = 0;
  std::map<uint32_t, int> load;
  for (int i = 0; i < clients; i++) {
    std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) + "." + std::to_string(i % 256);
    uint32_t before, after;
    REQUIRE(hp_sticky_pick(&before, ip.data(), ip.size(), 8, HP_STICKY_JUMP) == 0);
    REQUIRE(hp_sticky_pick(&after, ip.data(), ip.size(), 9, HP_STICKY_JUMP) == 0);
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
  CHECK(hp_sticky_pick(&w, nullptr, 3, 2, HP_STICKY_MODULO) == HP_EINVAL);
  CHECK(hp_sticky_pick(&w, "1.2.3.4", 7, 0, HP_STICKY_MODULO) == HP_EINVAL);
  CHECK(hp_sticky_pick(&w, "1.2.3.4", 0, 2, HP_STICKY_MODULO) == HP_EINVAL);
  std::string huge(300, '1');
  CHECK(hp_sticky_pick(&w, huge.data(), huge.size(), 2, HP_STICKY_MODULO) == HP_EINVAL);
  CHECK(hp_sticky_pick(&w, "1.2.3.4", 7, 2, 42) == HP_EINVAL);
  CHECK(hp_sticky_pick(&w, "not-an-ip", 9, 2, HP_STICKY_JUMP) == HP_EINVAL);
  CHECK(std::string(hp_last_error()).find("not-an-ip") != std::string::npos);
  CHECK(hp_sticky_pick(&w, "1.2.3.4\0junk", 12, 2, HP_STICKY_JUMP) ==
        HP_EINVAL);  // parsed whole, as geo does
  CHECK(hp_jump_hash(&w, 1, 0) == HP_EINVAL);
  CHECK(hp_jump_hash(&w, 1, 1) == 0);
  CHECK(w == 0u);
}
