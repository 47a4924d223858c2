// Fuzz target: the mmdb writer's input — networks as text and value trees
// of any shape and type — written out, opened again and read back. With a
// single record the value read must equal the value written.
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hotpath.h"

namespace {

// Builds hp_geo_value trees from input bytes; owns their storage.
class Builder {
 public:
  explicit Builder(hp_fuzz::Reader &in) : in_(in) {}

  void build(hp_geo_value *v, unsigned depth, bool key) {
    std::memset(v, 0, sizeof *v);
    uint8_t t = in_.byte();
    v->type = key && !(t & 0x80) ? HP_GEO_STRING : (t & 15);
    switch (v->type) {
      case HP_GEO_STRING:
      case HP_GEO_BYTES: {
        std::string_view s = in_.field();
        v->size = static_cast<uint32_t>(s.size());
        v->v.str = s.data();
        break;
      }
      case HP_GEO_DOUBLE:
      case HP_GEO_FLOAT:
        v->v.f64 = static_cast<int16_t>(in_.u16()) / 8.0;
        break;
      case HP_GEO_INT32:
        v->v.i64 = static_cast<int64_t>(static_cast<int32_t>(in_.u16() << 16 | in_.u16())) * (t & 0x40 ? 3 : 1);
        break;
      case HP_GEO_UINT128:
        v->v.u128.hi = in_.byte() & 1 ? in_.u16() : 0;
        v->v.u128.lo = uint64_t(in_.u16()) << 32 | in_.u16();
        break;
      case HP_GEO_MAP:
      case HP_GEO_ARRAY: {
        if (depth > 160) break;  // past the writer's depth limit, which it must refuse
        size_t n = in_.byte() % 6;
        size_t slots = v->type == HP_GEO_MAP ? 2 * n : n;
        v->size = static_cast<uint32_t>(n);
        if (!slots) break;
        store_.emplace_back(new hp_geo_value[slots]);
        hp_geo_value *items = store_.back().get();
        v->v.items = items;
        for (size_t i = 0; i < slots; i++)
          build(&items[i], depth + 1, v->type == HP_GEO_MAP && (i & 1) == 0);
        break;
      }
      default:  // integers, booleans and the types a record may not hold
        v->v.u64 = uint64_t(in_.u16()) << (t & 0x70 ? 24 : 0) | in_.u16();
        break;
    }
  }

 private:
  hp_fuzz::Reader &in_;
  std::vector<std::unique_ptr<hp_geo_value[]>> store_;
};

bool same(const hp_geo_value *a, const hp_geo_value *b) {
  if (a->type != b->type || a->size != b->size) return false;
  switch (a->type) {
    case HP_GEO_STRING:
    case HP_GEO_BYTES:
      return a->size == 0 || std::memcmp(a->v.str, b->v.str, a->size) == 0;
    case HP_GEO_MAP:
    case HP_GEO_ARRAY: {
      size_t n = a->type == HP_GEO_MAP ? 2 * size_t(a->size) : a->size;
      for (size_t i = 0; i < n; i++)
        if (!same(&a->v.items[i], &b->v.items[i])) return false;
      return true;
    }
    case HP_GEO_DOUBLE:
      return a->v.f64 == b->v.f64;
    case HP_GEO_FLOAT:
      return static_cast<float>(a->v.f64) == static_cast<float>(b->v.f64);
    case HP_GEO_INT32:
      return a->v.i64 == b->v.i64;
    case HP_GEO_UINT128:
      return a->v.u128.hi == b->v.u128.hi && a->v.u128.lo == b->v.u128.lo;
    case HP_GEO_BOOLEAN:
      return (a->v.u64 != 0) == (b->v.u64 != 0);
    default:
      return a->v.u64 == b->v.u64;
  }
}

const std::string &out_path() {
  static std::string path = [] {
    char tmpl[] = "/tmp/hp_geo_writer_fuzz.XXXXXX";
    const char *dir = mkdtemp(tmpl);
    return std::string(dir ? dir : "/tmp") + "/out.mmdb";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hp_fuzz::Reader in(data, size);
  uint8_t flags = in.byte();
  hp_geo_writer_options o = HP_GEO_WRITER_OPTIONS_INIT;
  o.ip_version = (flags & 1) ? 4 : 6;
  static const unsigned sizes[] = {0, 24, 28, 32};
  o.record_size = sizes[(flags >> 1) & 3];
  o.build_epoch = 1;
  hp_geo_writer *w = nullptr;
  if (hp_geo_writer_new(&w, &o) != 0) return 0;
  Builder b(in);
  unsigned inserted = 0;
  std::string first_ip;
  hp_geo_value first{};
  for (unsigned i = 0; i < 8 && in.left(); i++) {
    std::string net(in.field());
    hp_geo_value v;
    b.build(&v, 0, false);
    if (hp_geo_writer_insert(w, net.data(), net.size(), &v) == 0) {
      if (!inserted++) {
        first_ip = net.substr(0, net.find('/'));
        first = v;
      }
    }
  }
  if (inserted && hp_geo_writer_write(w, out_path().c_str()) == 0) {
    hp_geo *g = nullptr;
    if (hp_geo_open(&g, nullptr, out_path().c_str(), nullptr) != 0) __builtin_trap();  // our own output
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = hp_geo_get(&r, g, 0, first_ip.data(), first_ip.size());
    if (inserted == 1 && (rc != 1 || !same(&first, r.value))) __builtin_trap();
    hp_geo_result_clear(&r);
    hp_geo_close(g, nullptr, nullptr);
  }
  hp_geo_writer_free(w);
  return 0;
}
