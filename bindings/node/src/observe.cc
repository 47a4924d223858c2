// Observability for Node: the stats objects of every handle kind, and the
// engine's background events handed to lib/diagnostics.js, which publishes
// them on diagnostics_channel.
#include "observe.h"

#include <initializer_list>
#include <utility>

namespace hp_node {

namespace {

Napi::Number Num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

// {name: count, ..., redis}: the shape of the limiter's and the store's stats.
Napi::Object Counters(Napi::Env env, std::initializer_list<std::pair<const char *, uint64_t>> counts,
                      Napi::Value redis) {
  auto o = Napi::Object::New(env);
  for (auto &[name, n] : counts) o.Set(name, Num(env, n));
  o.Set("redis", redis);
  return o;
}

// The receiver set by lib/diagnostics.js: fn(kind, handleKind, status,
// code, message, source), called on the JS thread (the engine runs on
// node's loop).
struct EventSink {
  Napi::FunctionReference fn;
  Napi::AsyncContext context;
  Addon *addon;
  EventSink(Napi::Env env, Napi::Function f)
      : fn(Napi::Persistent(f)), context(env, "hotpath.diagnostics"), addon(&GetAddon(env)) {}
};

void OnEvent(const hp_engine_event *ev, void *data) {
  auto *sink = static_cast<EventSink *>(data);
  if (sink->addon->tearing_down) return;
  Napi::Env env = sink->fn.Env();
  Napi::HandleScope scope(env);
  try {
    sink->fn.MakeCallback(env.Global(),
                          {Napi::String::New(env, hp_event_kind_name(ev->kind)),
                           Napi::String::New(env, hp_handle_kind_name(ev->handle_kind)),
                           Napi::Number::New(env, ev->status),
                           ev->status < 0 ? Napi::String::New(env, hp_err_name(ev->status)) : env.Null(),
                           Napi::String::New(env, ev->message), Napi::String::New(env, ev->source)},
                          sink->context);
  } catch (const Napi::Error &e) {
    // A subscriber threw: an uncaught exception, as from any other callback.
    napi_fatal_exception(env, e.Value());
  }
}

// setEventHandler(fn): fn receives every background event from now on.
// Once per environment; the sink lives as long as the environment.
Napi::Value SetEventHandler(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Addon &addon = GetAddon(env);
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "setEventHandler: fn must be a function");
  if (addon.event_sink) throw Napi::Error::New(env, "setEventHandler: already set");
  auto sink = std::make_shared<EventSink>(env, info[0].As<Napi::Function>());
  Check(env, hp_engine_set_event_cb(addon.engine, OnEvent, sink.get()));
  addon.event_sink = sink;
  return env.Undefined();
}

}  // namespace

Napi::Value RedisStatsObject(Napi::Env env, const hp_redis_stats &r, bool present) {
  if (!present) return env.Null();
  auto o = Napi::Object::New(env);
  o.Set("commands", Num(env, r.commands));
  o.Set("inFlight", Num(env, r.in_flight));
  o.Set("timeouts", Num(env, r.timeouts));
  o.Set("disconnects", Num(env, r.disconnects));
  o.Set("reconnects", Num(env, r.reconnects));
  o.Set("connected", Num(env, r.connected));
  return o;
}

Napi::Object GeoStatsObject(Napi::Env env, const hp_geo_stats &s) {
  auto o = Napi::Object::New(env);
  o.Set("lookups", Num(env, s.lookups));
  o.Set("cacheHits", Num(env, s.cache_hits));
  o.Set("cacheMisses", Num(env, s.cache_misses));
  o.Set("reloads", Num(env, s.reloads));
  o.Set("reloadFailures", Num(env, s.reload_failures));
  o.Set("generation", Num(env, s.generation));
  o.Set("lastReloadAt", s.last_reload_at_ms ? Napi::Value(Napi::Number::New(env, static_cast<double>(s.last_reload_at_ms)))
                                            : env.Null());
  if (s.last_reload_error < 0) {
    auto err = Napi::Object::New(env);
    err.Set("code", Napi::String::New(env, hp_err_name(s.last_reload_error)));
    err.Set("message", Napi::String::New(env, s.last_reload_message));
    o.Set("lastReloadError", err);
  } else {
    o.Set("lastReloadError", env.Null());
  }
  return o;
}

Napi::Object LimiterStatsObject(Napi::Env env, const hp_limiter_stats &s, bool redis) {
  return Counters(env, {{"checks", s.checks}, {"granted", s.granted}, {"denied", s.denied}, {"storeErrors", s.store_errors}},
                  RedisStatsObject(env, s.redis, redis));
}

Napi::Object BlobsStatsObject(Napi::Env env, const hp_blobs_stats &s, bool redis) {
  return Counters(env,
                  {{"bytesIn", s.bytes_in}, {"bytesOut", s.bytes_out}, {"commits", s.commits},
                   {"corruptReads", s.corrupt_reads}},
                  RedisStatsObject(env, s.redis, redis));
}

void InitObserve(Napi::Env env, Napi::Object exports) {
  exports.Set("setEventHandler", Napi::Function::New(env, SetEventHandler, "setEventHandler"));
}

}  // namespace hp_node
