// Fuzz target: arbitrary bytes as a User-Agent string, parsed without a
// cache, through a one-entry cache (twice: parsed, then cached) and into a
// version 1 result; short inputs are also repeated to 1 MiB. Every field
// must stay NUL-terminated and the cached answer must equal the parsed one.
// The long-tail rules' programs (ua/program.h) must answer as RE2 does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hotpath.h"
#include "ua/long_tail.h"

namespace {

template <size_t N>
void check_terminated(const char (&field)[N]) {
  if (!std::memchr(field, 0, N)) std::abort();
}

bool same(const hp::ua::LongTail &a, const hp::ua::LongTail &b) {
  if (a.bot != b.bot) return false;
  for (int p = 0; p < hp::ua::PART_COUNT; p++)
    for (int f = 0; f < hp::ua::tables::F_COUNT; f++)
      if (a.part[p][f].set != b.part[p][f].set || a.part[p][f].value != b.part[p][f].value) return false;
  return true;
}

void check(const hp_ua_result &r) {
  check_terminated(r.browser);
  check_terminated(r.browser_version);
  check_terminated(r.engine);
  check_terminated(r.engine_version);
  check_terminated(r.os);
  check_terminated(r.os_version);
  check_terminated(r.vendor);
  check_terminated(r.model);
  check_terminated(r.cpu);
  if (r.device_type < HP_UA_DESKTOP || r.device_type > HP_UA_BOT) std::abort();
  if (r.is_bot != 0 && r.is_bot != 1) std::abort();
}

hp_ua *cache() {
  static hp_ua *p = [] {
    hp_ua_options o = HP_UA_OPTIONS_INIT;
    o.cache_entries = 1;
    hp_ua *out = nullptr;
    if (hp_ua_new(&out, &o) != 0) std::abort();
    return out;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = reinterpret_cast<const char *>(data);
  hp_ua_result plain = HP_UA_RESULT_INIT, first = HP_UA_RESULT_INIT, again = HP_UA_RESULT_INIT;
  if (hp_ua_parse(&plain, nullptr, s, size) != 0) std::abort();
  check(plain);
  if (hp_ua_parse(&first, cache(), s, size) < 0 || hp_ua_parse(&again, cache(), s, size) < 0) std::abort();
  if (std::memcmp(&plain, &first, sizeof plain) != 0 || std::memcmp(&plain, &again, sizeof plain) != 0)
    std::abort();
  hp_ua_result v1;
  std::memset(&v1, 0x5a, sizeof v1);
  v1.version = 1;
  if (hp_ua_parse(&v1, nullptr, s, size) != 0) std::abort();
  if (std::memcmp(&v1.browser, &plain.browser,
                  offsetof(hp_ua_result, cpu) - offsetof(hp_ua_result, browser)) != 0)
    std::abort();
  hp::ua::LongTail programs, re2;
  const uint32_t n = static_cast<uint32_t>(size < HP_UA_MAX_LEN ? size : HP_UA_MAX_LEN);
  hp::ua::match_tables(s, n, hp::ua::kAllParts, &programs, hp::ua::Matcher::kPrograms);
  hp::ua::match_tables(s, n, hp::ua::kAllParts, &re2, hp::ua::Matcher::kRe2);
  if (!same(programs, re2)) std::abort();
  if (size > 0 && size < 64) {
    std::string big;
    while (big.size() < (1u << 20)) big.append(s, size);
    hp_ua_result r = HP_UA_RESULT_INIT;
    if (hp_ua_parse(&r, nullptr, big.data(), big.size()) != 0) std::abort();
    check(r);
  }
  return 0;
}
