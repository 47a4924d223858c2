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

int hp_engine_set_event_cb(hp_engine *e, hp_engine_event_cb cb, void *data) {
  if (!e) return hp::core::set_error(HP_EINVAL, "engine_set_event_cb: engine is NULL");
  Engine::from_c(e)->set_event_cb(cb, data);
  return 0;
}

const char *hp_event_kind_name(int kind) {
  switch (kind) {
    case HP_EVENT_RELOAD:
      return "reload";
    case HP_EVENT_RELOAD_FAILED:
      return "reload_failed";
    case HP_EVENT_REDIS_DISCONNECT:
      return "redis_disconnect";
    case HP_EVENT_REDIS_RECONNECT:
      return "redis_reconnect";
    case HP_EVENT_ERROR:
      return "error";
    default:
      return "";
  }
}

const char *hp_handle_kind_name(int kind) {
  switch (kind) {
    case HP_HANDLE_GEO:
      return "geo";
    case HP_HANDLE_RECIPES:
      return "recipes";
    case HP_HANDLE_LIMITER:
      return "limiter";
    case HP_HANDLE_BLOBS:
      return "blobs";
    case HP_HANDLE_EVENTS:
      return "events";
    default:
      return "";
  }
}

}  // extern "C"
