// Module entry: one engine per environment on that environment's own loop.
#include "addon.h"
#include "observe.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <uv.h>

#include <cstring>
#include <string>

namespace hp_node {

Addon &GetAddon(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

Napi::Error MakeError(Napi::Env env, int code, const char *detail) {
  Addon &addon = GetAddon(env);
  const char *text = detail ? detail : hp_last_error();
  if (!text[0]) text = hp_strerror(code);
  // A failed system call: an error shaped as fs makes it ("ENOENT: no such
  // file or directory, open '/x'"). A detail passed in has this thread's
  // system error only when it is this thread's last failure.
  const char *syscall = "";
  const char *path = "";
  int sys = (!detail || std::strcmp(detail, hp_last_error()) == 0) ? hp_last_errno(&syscall, &path) : 0;
  if (sys && code == HP_EIO && !addon.error_class.IsEmpty()) {
    std::string msg = std::string(uv_err_name(-sys)) + ": " + uv_strerror(-sys) + ", " + syscall;
    if (path[0]) msg += std::string(" '") + path + "'";
    Napi::Value obj =
        addon.error_class.New({Napi::String::New(env, msg), Napi::String::New(env, uv_err_name(-sys)),
                               Napi::Number::New(env, -sys), Napi::String::New(env, syscall),
                               Napi::String::New(env, path), Napi::String::New(env, hp_err_name(code)),
                               Napi::Number::New(env, code), Napi::String::New(env, text)});
    return Napi::Error(env, obj);
  }
  if (addon.error_class.IsEmpty()) {
    auto err = Napi::Error::New(env, text);
    err.Set("code", hp_err_name(code));
    return err;
  }
  Napi::Value obj = addon.error_class.New({Napi::String::New(env, text), Napi::String::New(env, hp_err_name(code)),
                                           Napi::Number::New(env, code)});
  return Napi::Error(env, obj);
}

void ThrowError(Napi::Env env, int code) { throw MakeError(env, code); }

Pending::Pending(Napi::Env env, const char *name)
    : addon_(&GetAddon(env)), deferred_(Napi::Promise::Deferred::New(env)), context_(env, name) {}

void Pending::Reject(int code) {
  FromLoop(addon_, Env(), context_, [&](Napi::Env env) { deferred_.Reject(MakeError(env, code).Value()); });
}

void CallFromLoop(Napi::Env env, const Napi::FunctionReference &fn, const std::vector<napi_value> &args) {
  napi_value result;
  if (napi_call_function(env, env.Undefined(), fn.Value(), args.size(), args.data(), &result) == napi_ok)
    return;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return;  // a terminating Worker: nothing can run any more
  napi_value exception;
  napi_get_and_clear_last_exception(env, &exception);
  napi_fatal_exception(env, exception);
}

void SettleVoid(int status, void *data) {
  auto p = Own<Pending>(data);
  if (status < 0) return p->Reject(status);
  p->Resolve([](Napi::Env e) { return e.Undefined(); });
}

void SettleBool(int status, void *data) {
  auto p = Own<Pending>(data);
  if (status < 0) return p->Reject(status);
  p->Resolve([status](Napi::Env e) { return Napi::Boolean::New(e, status > 0); });
}

// A Worker's environment kept SQLite caches, Redis buffers and reader
// caches in its thread's malloc arena; without this, a service that churns
// Workers keeps what each one used.
void ReleaseFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

namespace {


// The environment is going away (process exit or a Worker ending): close
// the engine, which fails pending work with HP_ECLOSED, and tell node when
// the engine's handles are gone.
void OnCleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  auto *addon = static_cast<Addon *>(arg);
  addon->cleanup = handle;
  addon->tearing_down = true;
  int rc = hp_engine_close(
      addon->engine,
      [](int, void *data) {
        auto *a = static_cast<Addon *>(data);
        a->engine = nullptr;
        napi_remove_async_cleanup_hook(a->cleanup);
      },
      addon);
  if (rc != 0) napi_remove_async_cleanup_hook(handle);
}

Napi::Value SetErrorClass(const Napi::CallbackInfo &info) {
  GetAddon(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object ErrorCodes(Napi::Env env) {
  auto codes = Napi::Object::New(env);
#define HP__NODE_CODE(name, value, text) codes.Set("HP_" #name, Napi::Number::New(env, value));
  HP_ERRNO_MAP(HP__NODE_CODE)
#undef HP__NODE_CODE
  return codes;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *addon = new Addon();
  env.SetInstanceData<Addon>(addon);  // deleted by node after cleanup hooks ran
  uv_loop_t *loop = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_uv_event_loop(env, &loop), exports);
  int rc = hp_engine_new(&addon->engine, loop);
  if (rc != 0) ThrowError(env, rc);
  NAPI_THROW_IF_FAILED(env, napi_add_async_cleanup_hook(env, OnCleanup, addon, nullptr), exports);

  exports.Set("version", Napi::String::New(env, hp_version_string()));
  exports.Set("codes", ErrorCodes(env));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  InitSticky(env, exports);
  InitHost(env, exports);
  InitUa(env, exports);
  InitEvents(env, exports);
  InitGeo(env, exports);
  InitRecipes(env, exports);
  InitLimits(env, exports);
  InitBlobs(env, exports);
  InitObserve(env, exports);
  return exports;
}

}  // namespace

}  // namespace hp_node

static Napi::Object InitHotpath(Napi::Env env, Napi::Object exports) { return hp_node::Init(env, exports); }

NODE_API_MODULE(hotpath, InitHotpath)
