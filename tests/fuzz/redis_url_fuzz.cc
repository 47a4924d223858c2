// Fuzz target: store specs as users write them in options: Redis URLs
// (redis://[:password@]host[:port][/db]) directly, and every spec through
// the one backend-spec parser of limiters and blob stores.
#include <cstdint>
#include <string>

#include "core/backend_spec.h"
#include "redis/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string url(reinterpret_cast<const char *>(data), size);
  hp::redis::Address a;
  if (hp::redis::parse_url(url, &a) == 0) {
    if (a.port < 1 || a.port > 65535 || a.db < 0) __builtin_trap();
  }
  // The same text behind the scheme, so most inputs reach the parser.
  hp::redis::parse_url("redis://" + url, &a);
  const unsigned every = hp::core::backend_bit(HP_BACKEND_MEMORY) | hp::core::backend_bit(HP_BACKEND_SQLITE) |
                         hp::core::backend_bit(HP_BACKEND_REDIS);
  hp::core::BackendSpec spec;
  if (hp::core::parse_backend_spec(url, every, "fuzz", "file.db", &spec) == 0) {
    if (spec.kind == HP_BACKEND_SQLITE && spec.path.empty()) __builtin_trap();
    if (spec.kind == HP_BACKEND_REDIS && (spec.address.port < 1 || spec.address.port > 65535)) __builtin_trap();
  }
  return 0;
}
