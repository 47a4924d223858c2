// The spec string that names where a limiter or a blob store keeps its
// state: "memory:", "sqlite:/path/file.db" (also sqlite:///path) or a Redis
// URL (redis/url.h). One parser, so every handle reads specs the same way.
#pragma once

#include <string>

#include "hotpath.h"
#include "redis/url.h"

namespace hp::core {

struct BackendSpec {
  hp_backend_kind kind = HP_BACKEND_MEMORY;
  std::string path;        // HP_BACKEND_SQLITE: the file
  redis::Address address;  // HP_BACKEND_REDIS
};

// Which kinds a handle takes, as a mask of 1 << hp_backend_kind.
constexpr unsigned backend_bit(hp_backend_kind k) {
  return 1u << k;
}

// Parses `spec` into `out`. `where` starts every message ("limiter_open"),
// `example` is the file of the SQLite example in them ("file.db").
// Returns 0, or HP_EINVAL for a spec of a kind not in `accepted`, a SQLite
// spec without a file, or a bad Redis URL (redacted in the message).
int parse_backend_spec(const std::string &spec, unsigned accepted, const char *where, const char *example,
                       BackendSpec *out);

}  // namespace hp::core
