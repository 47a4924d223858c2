// fingerprint32 and worker choice.
#include <string>
#include <vector>

#include "addon.h"

namespace hp_node {

namespace {

// Hashes a string (as its UTF-8 bytes) or a Buffer/Uint8Array.
Napi::Value Fingerprint32(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t out = 0;
  if (info[0].IsString()) {
    char stack[512];
    size_t len = 0;
    napi_get_value_string_utf8(env, info[0], stack, sizeof stack, &len);
    // A string that did not fit was cut at most 3 bytes short of the buffer.
    if (len + 4 < sizeof stack) {
      Check(env, hp_fingerprint32(stack, len, &out));
    } else {
      std::string s = info[0].As<Napi::String>().Utf8Value();
      Check(env, hp_fingerprint32(s.data(), s.size(), &out));
    }
  } else {
    auto bytes = info[0].As<Napi::Uint8Array>();
    Check(env, hp_fingerprint32(bytes.Data(), bytes.ByteLength(), &out));
  }
  return Napi::Number::New(env, out);
}

// Fingerprints of an array of strings, as a Uint32Array.
Napi::Value Fingerprint32Many(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto items = info[0].As<Napi::Array>();
  uint32_t n = items.Length();
  std::string all;
  std::vector<uint64_t> offsets;
  offsets.reserve(n + 1);
  offsets.push_back(0);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, items, i, &v);
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok)
      throw Napi::TypeError::New(env, "fingerprint32Many: item " + std::to_string(i) + " is not a string");
    size_t at = all.size();
    all.resize(at + len + 1);
    napi_get_value_string_utf8(env, v, all.data() + at, len + 1, &len);
    all.resize(at + len);
    offsets.push_back(all.size());
  }
  auto out = Napi::Uint32Array::New(env, n);
  Check(env, hp_fingerprint32_many(all.data(), offsets.data(), n, out.Data()));
  return out;
}

Napi::Value StickyPick(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  char addr[HP_STICKY_MAX_ADDR + 2];
  size_t len = 0;
  napi_get_value_string_utf8(env, info[0], addr, sizeof addr, &len);
  uint32_t workers = info[1].As<Napi::Number>().Uint32Value();
  int mode = info[2].As<Napi::Number>().Int32Value();
  uint32_t out = 0;
  Check(env, hp_sticky_pick(addr, len, workers, mode, &out));
  return Napi::Number::New(env, out);
}

}  // namespace

void InitSticky(Napi::Env env, Napi::Object exports) {
  exports.Set("fingerprint32", Napi::Function::New(env, Fingerprint32, "fingerprint32"));
  exports.Set("fingerprint32Many", Napi::Function::New(env, Fingerprint32Many, "fingerprint32Many"));
  exports.Set("stickyPick", Napi::Function::New(env, StickyPick, "stickyPick"));
  exports.Set("STICKY_MODULO", Napi::Number::New(env, HP_STICKY_MODULO));
  exports.Set("STICKY_JUMP", Napi::Number::New(env, HP_STICKY_JUMP));
}

}  // namespace hp_node
