// fingerprint32 and worker choice.
#include <algorithm>
#include <string>
#include <vector>

#include "addon.h"

namespace hp_node {

namespace {

// Hashes a string (as its UTF-8 bytes) or a Buffer/Uint8Array. Strings are
// converted into a per-thread buffer that grows to the longest string seen,
// so a long string is converted once and nothing is allocated per call.
Napi::Value Fingerprint32(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t out = 0;
  if (info[0].IsString()) {
    thread_local std::vector<char> buf(512);
    size_t len = 0;
    napi_get_value_string_utf8(env, info[0], buf.data(), buf.size(), &len);
    // A string that did not fit was cut at most 3 bytes short of the buffer.
    // Grow to 3 bytes per UTF-16 unit: V8 converts without bounds checks
    // into a buffer that large.
    if (len + 4 >= buf.size()) {
      size_t units = 0;
      napi_get_value_string_utf16(env, info[0], nullptr, 0, &units);
      buf.resize(std::max(buf.size(), 3 * units + 1));
      napi_get_value_string_utf8(env, info[0], buf.data(), buf.size(), &len);
    }
    Check(env, hp_fingerprint32(&out, buf.data(), len));
  } else {
    auto bytes = info[0].As<Napi::Uint8Array>();
    Check(env, hp_fingerprint32(&out, bytes.Data(), bytes.ByteLength()));
  }
  return Napi::Number::New(env, out);
}

// Fingerprints of an array of strings, as a Uint32Array. Each string is
// converted once into a per-thread buffer, hashed in chunks of about 32 KiB
// so the bytes are still in cache when they are hashed.
Napi::Value Fingerprint32Many(const Napi::CallbackInfo &info) {
  constexpr size_t kChunk = size_t{32} << 10;
  Napi::Env env = info.Env();
  auto items = info[0].As<Napi::Array>();
  uint32_t n = items.Length();
  auto out = Napi::Uint32Array::New(env, n);
  thread_local std::vector<char> buf(kChunk + 4096);
  thread_local std::vector<uint64_t> offsets;
  offsets.assign(1, 0);
  uint32_t first = 0;  // index of the chunk's first string
  auto flush = [&](uint32_t end) {
    Check(env, hp_fingerprint32_many(out.Data() + first, buf.data(), offsets.data(), end - first));
    first = end;
    offsets.assign(1, 0);
  };
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, items, i, &v);
    size_t units = 0;
    if (napi_get_value_string_utf16(env, v, nullptr, 0, &units) != napi_ok)
      throw Napi::TypeError::New(env, "fingerprint32Many: item " + std::to_string(i) + " is not a string");
    size_t used = offsets.back();
    // Room for 3 bytes per UTF-16 unit, so V8 converts in one pass without
    // bounds checks.
    if (used > 0 && used + 3 * units + 1 > buf.size()) {
      flush(i);
      used = 0;
    }
    if (3 * units + 1 > buf.size()) buf.resize(3 * units + 1);
    size_t len = 0;
    napi_get_value_string_utf8(env, v, buf.data() + used, buf.size() - used, &len);
    offsets.push_back(used + len);
    if (used + len >= kChunk) flush(i + 1);
  }
  if (first < n) flush(n);
  // A buffer grown for one huge string is not kept.
  if (buf.size() > (size_t{1} << 20)) std::vector<char>(kChunk + 4096).swap(buf);
  return out;
}

// fingerprint32Joined(joined, lengths) -> Uint32Array, or null: the
// fingerprints of the strings whose UTF-16 lengths are `lengths` and whose
// concatenation is `joined`. One crossing and one UTF-8 conversion for the
// batch. Null when two neighbours' lone surrogates fused into a pair in the
// concatenation: the caller then takes the per-item path.
Napi::Value Fingerprint32Joined(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  auto lengths = info[1].As<Napi::Uint32Array>();
  size_t n = lengths.ElementLength();
  size_t units = 0;
  napi_get_value_string_utf16(env, info[0], nullptr, 0, &units);
  thread_local std::vector<char> buf;
  thread_local std::vector<uint64_t> offsets;
  // 3 bytes per UTF-16 unit: V8 converts in one pass without bounds checks.
  buf.resize(3 * units + 1);
  size_t bytes = 0;
  napi_get_value_string_utf8(env, info[0], buf.data(), buf.size(), &bytes);
  offsets.resize(n + 1);
  offsets[0] = 0;
  const auto *p = reinterpret_cast<const unsigned char *>(buf.data());
  size_t at = 0, total = 0;
  for (size_t i = 0; i < n; i++) {
    size_t left = lengths[i];
    total += left;
    if (total > units) throw Napi::RangeError::New(env, "fingerprint32Many: lengths exceed the text");
    if (bytes == units) {
      at += left;  // all ASCII: a byte per unit
    } else {
      while (left > 0) {
        unsigned char c = p[at];
        size_t seq = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        size_t used = seq == 4 ? 2 : 1;  // a 4-byte sequence is a surrogate pair
        if (used > left) return env.Null();
        at += seq;
        left -= used;
      }
    }
    offsets[i + 1] = at;
  }
  auto out = Napi::Uint32Array::New(env, n);
  if (n) Check(env, hp_fingerprint32_many(out.Data(), buf.data(), offsets.data(), n));
  // A buffer grown for one huge batch is not kept.
  if (buf.size() > (size_t{1} << 20)) std::vector<char>().swap(buf);
  if (offsets.size() > (size_t{1} << 16)) std::vector<uint64_t>().swap(offsets);
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
  Check(env, hp_sticky_pick(&out, addr, len, workers, mode));
  return Napi::Number::New(env, out);
}

}  // namespace

void InitSticky(Napi::Env env, Napi::Object exports) {
  exports.Set("fingerprint32", Napi::Function::New(env, Fingerprint32, "fingerprint32"));
  exports.Set("fingerprint32Many", Napi::Function::New(env, Fingerprint32Many, "fingerprint32Many"));
  exports.Set("fingerprint32Joined", Napi::Function::New(env, Fingerprint32Joined, "fingerprint32Joined"));
  exports.Set("stickyPick", Napi::Function::New(env, StickyPick, "stickyPick"));
  exports.Set("STICKY_MODULO", Napi::Number::New(env, HP_STICKY_MODULO));
  exports.Set("STICKY_JUMP", Napi::Number::New(env, HP_STICKY_JUMP));
}

}  // namespace hp_node
