// User-agent parsing: one native call per string, the result object built
// by one constructor call.
#include <cstring>
#include <string>

#include "addon.h"

namespace hp_node {

namespace {

// One cached parser per environment, freed when the environment goes away.
struct UaState {
  hp_ua *parser = nullptr;
  Napi::FunctionReference make;  // lib/ua.js's result constructor
};

UaState *State(const Napi::CallbackInfo &info) { return static_cast<UaState *>(info.Data()); }

napi_value Str(napi_env env, const char *s, napi_value undef) {
  if (!s[0]) return undef;
  // ASCII (nearly always) goes in as Latin-1, which V8 copies without
  // decoding; anything else as UTF-8.
  size_t n = 0;
  unsigned char high = 0;
  for (; s[n]; n++) high |= static_cast<unsigned char>(s[n]);
  napi_value v;
  if (high < 0x80)
    napi_create_string_latin1(env, s, n, &v);
  else
    napi_create_string_utf8(env, s, n, &v);
  return v;
}

// The result object, made by lib/ua.js's constructor from eleven arguments,
// so V8 builds it with one shape instead of eleven property definitions.
napi_value ToObject(napi_env env, UaState *st, const hp_ua_result &r) {
  napi_value undef, is_bot, out;
  napi_get_undefined(env, &undef);
  napi_get_boolean(env, r.is_bot != 0, &is_bot);
  napi_value args[11] = {Str(env, r.browser, undef),
                         Str(env, r.browser_version, undef),
                         Str(env, r.engine, undef),
                         Str(env, r.engine_version, undef),
                         Str(env, r.os, undef),
                         Str(env, r.os_version, undef),
                         Str(env, hp_ua_device_type_name(r.device_type), undef),
                         Str(env, r.vendor, undef),
                         Str(env, r.model, undef),
                         is_bot,
                         Str(env, r.cpu, undef)};
  if (napi_new_instance(env, st->make.Value(), 11, args, &out) != napi_ok) throw Napi::Error::New(env);
  return out;
}

Napi::Value SetResultClass(const Napi::CallbackInfo &info) {
  State(info)->make = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// Reads a JS string as UTF-8 into buf (HP_UA_MAX_LEN bytes are enough: the
// parser reads no further).
size_t ReadString(napi_env env, napi_value v, char (&buf)[HP_UA_MAX_LEN + 4]) {
  size_t len = 0;
  napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
  return len;
}

Napi::Value Parse(const Napi::CallbackInfo &info) {
  napi_env env = info.Env();
  UaState *st = State(info);
  static thread_local char buf[HP_UA_MAX_LEN + 4];
  size_t len = ReadString(env, info[0], buf);
  hp_ua_result r = HP_UA_RESULT_INIT;
  Check(info.Env(), hp_ua_parse(&r, st->parser, buf, len));
  return Napi::Value(env, ToObject(env, st, r));
}

// Many strings in one call: an array of result objects.
Napi::Value ParseMany(const Napi::CallbackInfo &info) {
  napi_env env = info.Env();
  UaState *st = State(info);
  auto items = info[0].As<Napi::Array>();
  uint32_t n = items.Length();
  napi_value out;
  napi_create_array_with_length(env, n, &out);
  static thread_local char buf[HP_UA_MAX_LEN + 4];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, items, i, &v);
    size_t len = ReadString(env, v, buf);
    hp_ua_result r = HP_UA_RESULT_INIT;
    Check(info.Env(), hp_ua_parse(&r, st->parser, buf, len));
    napi_set_element(env, out, i, ToObject(env, st, r));
  }
  return Napi::Value(env, out);
}

Napi::Value Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  UaState *st = State(info);
  hp_ua_stats s = HP_UA_STATS_INIT;
  Check(env, hp_ua_stats_get(&s, st->parser));
  auto o = Napi::Object::New(env);
  o.Set("hits", Napi::Number::New(env, static_cast<double>(s.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(s.misses)));
  o.Set("capacity", Napi::Number::New(env, s.capacity));
  return o;
}

}  // namespace

void InitUa(Napi::Env env, Napi::Object exports) {
  auto *st = new UaState();
  int rc = hp_ua_new(&st->parser, nullptr);
  if (rc != 0) {
    delete st;
    ThrowError(env, rc);
  }
  napi_add_env_cleanup_hook(
      env,
      [](void *arg) {
        auto *s = static_cast<UaState *>(arg);
        hp_ua_close(s->parser, nullptr, nullptr);
        delete s;
      },
      st);
  exports.Set("uaParse", Napi::Function::New(env, Parse, "uaParse", st));
  exports.Set("uaParseMany", Napi::Function::New(env, ParseMany, "uaParseMany", st));
  exports.Set("uaSetResultClass", Napi::Function::New(env, SetResultClass, "uaSetResultClass", st));
  exports.Set("uaStats", Napi::Function::New(env, Stats, "uaStats", st));
}

}  // namespace hp_node
