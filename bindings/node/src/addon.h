// Per-environment state of the addon and the helpers every wrapped
// subsystem uses: errors and promise completion from libuv callbacks.
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

#include "hotpath.h"

namespace hp_node {

// One per Node environment (main thread or worker): the engine on that
// environment's loop and the HotpathError class from lib/errors.js.
// Gives pages freed by this thread's allocations back to the system.
void ReleaseFreedMemory();

struct Addon {
  // Deleted by node once the environment is gone: its objects are freed.
  ~Addon() { ReleaseFreedMemory(); }
  hp_engine *engine = nullptr;
  Napi::FunctionReference error_class;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  bool tearing_down = false;  // the environment is exiting: settle nothing
  std::shared_ptr<void> event_sink;  // the receiver of engine events (observe.cc)
};

Addon &GetAddon(Napi::Env env);

// A HotpathError for `code` with hp_last_error() (or `detail`) as message.
Napi::Error MakeError(Napi::Env env, int code, const char *detail = nullptr);
[[noreturn]] void ThrowError(Napi::Env env, int code);

// Throws a HotpathError when rc < 0; returns rc otherwise.
inline int Check(Napi::Env env, int rc) {
  if (rc < 0) ThrowError(env, rc);
  return rc;
}

// Runs `body(env)` from a libuv callback, the way node runs its own: in a
// HandleScope and a CallbackScope (microtasks run after it, AsyncLocalStorage
// context is kept), and not at all once the environment is ending.
template <class Body>
void FromLoop(Addon *addon, Napi::Env env, Napi::AsyncContext &context, Body &&body) {
  if (addon->tearing_down) return;
  try {
    Napi::HandleScope scope(env);
    Napi::CallbackScope cb_scope(env, context);
    body(env);
  } catch (const Napi::Error &) {
    // Only when JavaScript cannot run any more (the environment is ending).
  }
}

// Calls `fn(args...)` inside FromLoop. An exception it throws is reported
// as an uncaught exception of the process ('uncaughtException'), as from
// the callback of any of node's own APIs; a terminating Worker just stops.
void CallFromLoop(Napi::Env env, const Napi::FunctionReference &fn, const std::vector<napi_value> &args);

// A JS function called back from libuv, any number of times.
class JsCallback {
 public:
  JsCallback(Napi::Env env, Napi::Function fn, const char *name)
      : addon_(&GetAddon(env)), fn_(Napi::Persistent(fn)), context_(env, name) {}
  Napi::Env Env() const { return fn_.Env(); }
  // `make(env)` builds the arguments, a std::vector<napi_value>.
  template <class Make>
  void Call(Make &&make) {
    FromLoop(addon_, Env(), context_, [&](Napi::Env env) { CallFromLoop(env, fn_, make(env)); });
  }

 private:
  Addon *addon_;
  Napi::FunctionReference fn_;
  Napi::AsyncContext context_;
};

// A promise settled later from a libuv callback (see FromLoop).
class Pending {
 public:
  Pending(Napi::Env env, const char *name);
  Napi::Promise Promise() const { return deferred_.Promise(); }
  Napi::Env Env() const { return deferred_.Env(); }
  // `make(env)` builds the value.
  template <class Make>
  void Resolve(Make &&make) {
    FromLoop(addon_, Env(), context_, [&](Napi::Env env) { deferred_.Resolve(make(env)); });
  }
  void Reject(int code);

 private:
  Addon *addon_;
  Napi::Promise::Deferred deferred_;
  Napi::AsyncContext context_;
};

// Takes back the data a C callback was given.
template <class T>
std::unique_ptr<T> Own(void *data) {
  return std::unique_ptr<T>(static_cast<T *>(data));
}

// After a C call was given `data` for its callback: on success the callback
// owns it; a call that failed to start never calls back, so `data` is freed
// and the error thrown.
template <class T>
void Started(Napi::Env env, int rc, std::unique_ptr<T> &data) {
  Check(env, rc);
  data.release();
}

// A promise settled by the callback of the C call `start(pending)` begins.
template <class Start>
Napi::Value StartPromise(Napi::Env env, const char *name, Start &&start) {
  auto p = std::make_unique<Pending>(env, name);
  Napi::Promise promise = p->Promise();
  int rc = start(p.get());
  Started(env, rc, p);
  return promise;
}

// C status callbacks that settle the Pending they were given: undefined, or
// the status as a boolean (1 -> true); a negative status rejects.
void SettleVoid(int status, void *data);
void SettleBool(int status, void *data);

// A C result callback that settles its Pending with Make(env, *result), or
// rejects on a negative status.
template <class Result, Napi::Object (*Make)(Napi::Env, const Result &)>
void SettleWith(int status, const Result *r, void *data) {
  auto p = Own<Pending>(data);
  if (status < 0) return p->Reject(status);
  p->Resolve([r](Napi::Env e) { return Make(e, *r); });
}

// Each subsystem file registers its functions on the exports object.
void InitSticky(Napi::Env env, Napi::Object exports);
void InitHost(Napi::Env env, Napi::Object exports);
void InitUa(Napi::Env env, Napi::Object exports);
void InitEvents(Napi::Env env, Napi::Object exports);
void InitGeo(Napi::Env env, Napi::Object exports);
void InitRecipes(Napi::Env env, Napi::Object exports);
void InitLimits(Napi::Env env, Napi::Object exports);
void InitBlobs(Napi::Env env, Napi::Object exports);

}  // namespace hp_node
