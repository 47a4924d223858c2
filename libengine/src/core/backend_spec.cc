#include "core/backend_spec.h"

#include "core/error.h"

namespace hp::core {

namespace {

bool is_memory(const std::string &spec) {
  return spec == "memory:" || spec == "memory" || spec == "memory://";
}

}  // namespace

int parse_backend_spec(const std::string &spec, unsigned accepted, const char *where, const char *example,
                       BackendSpec *out) {
  bool memory = accepted & backend_bit(HP_BACKEND_MEMORY);
  if (memory && is_memory(spec)) {
    out->kind = HP_BACKEND_MEMORY;
    return 0;
  }
  if ((accepted & backend_bit(HP_BACKEND_SQLITE)) && spec.rfind("sqlite:", 0) == 0) {
    std::string path = spec.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);
    if (path.empty())
      return set_error(HP_EINVAL, where, ": '", spec, "' names no file (sqlite:/path/", example, ")");
    out->kind = HP_BACKEND_SQLITE;
    out->path = std::move(path);
    return 0;
  }
  if ((accepted & backend_bit(HP_BACKEND_REDIS)) && redis::is_url(spec)) {
    out->kind = HP_BACKEND_REDIS;
    return redis::parse_url(spec, &out->address);
  }
  return set_error(HP_EINVAL, where, ": unknown spec '", redis::redact(spec), "' (expected ",
                   memory ? "memory:, " : "", "sqlite:/path/", example,
                   " redis://host:port/db, redis+cluster://host:port,... or unix:///path)");
}

}  // namespace hp::core
