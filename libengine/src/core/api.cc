// extern "C" definitions of the core: version, errors, engine.
#include <uv.h>

#include "core/engine.h"
#include "core/error.h"
#include "core/guard.h"

using hp::core::Engine;

#define HP__STR2(x) #x
#define HP__STR(x) HP__STR2(x)

extern "C" {

unsigned hp_version(void) { return HP_VERSION_HEX; }

const char *hp_version_string(void) {
  return HP__STR(HP_VERSION_MAJOR) "." HP__STR(HP_VERSION_MINOR) "." HP__STR(HP_VERSION_PATCH);
}

const char *hp_strerror(int err) {
  switch (err) {
    case HP_OK:
      return "ok";
#define HP__STRERROR_CASE(name, value, text) \
  case HP_##name:                            \
    return text;
    HP_ERRNO_MAP(HP__STRERROR_CASE)
#undef HP__STRERROR_CASE
    default:
      return "unknown error";
  }
}

const char *hp_err_name(int err) {
  switch (err) {
    case HP_OK:
      return "HP_OK";
#define HP__ERRNAME_CASE(name, value, text) \
  case HP_##name:                           \
    return "HP_" #name;
    HP_ERRNO_MAP(HP__ERRNAME_CASE)
#undef HP__ERRNAME_CASE
    default:
      return "HP_EUNKNOWN";
  }
}

const char *hp_last_error(void) { return hp::core::last_error_text(); }

int hp_last_errno(const char **syscall, const char **path) { return hp::core::last_errno(syscall, path); }

int hp_engine_new(hp_engine **out, struct uv_loop_s *loop) {
  if (!out) return hp::core::set_error(HP_EINVAL, "engine_new: out is NULL");
  *out = nullptr;
  return hp::core::guard("engine_new", [&] {
    Engine *e = nullptr;
    int rc = Engine::create(&e, loop);
    if (rc == 0) *out = e->as_c();
    return rc;
  });
}

int hp_engine_close(hp_engine *e, hp_close_cb cb, void *data) {
  if (!e) return 0;
  return Engine::from_c(e)->close(cb, data);
}

int hp_engine_free(hp_engine *e) {
  if (!e) return 0;
  return Engine::from_c(e)->free_blocking();
}

struct uv_loop_s *hp_engine_loop(const hp_engine *e) {
  return e ? Engine::from_c(const_cast<hp_engine *>(e))->loop() : nullptr;
}

}  // extern "C"
