// Fuzz target: Redis URLs as users write them in options
// (redis://[:password@]host[:port][/db]).
#include <cstdint>
#include <string>

#include "redis/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string url(reinterpret_cast<const char *>(data), size);
  hp::redis::Address a;
  if (hp::redis::parse_url(url, &a) == 0) {
    if (a.port < 1 || a.port > 65535 || a.db < 0) __builtin_trap();
  }
  // The same text behind the scheme, so most inputs reach the parser.
  hp::redis::parse_url("redis://" + url, &a);
  return 0;
}
