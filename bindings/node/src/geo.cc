// The geo reader and writer. Records become JS objects once per (snapshot
// generation, data offset) and are reused on later hits, as the maxmind
// package's own record cache does; one N-API crossing per call.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "addon.h"
#include "observe.h"

namespace hp_node {

namespace {

constexpr size_t kIpMax = 64;

// Reads a JS string of at most kIpMax bytes into `buf`; longer strings are
// cut, which still fails as an IP address (with the cut text in the message).
size_t IpArg(napi_env env, napi_value v, char *buf) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, kIpMax + 1, &len) != napi_ok)
    throw Napi::TypeError::New(env, "geo: ip must be a string");
  return len;
}

// The options of new GeoReader and geoOpen from their arguments: extra
// paths at [1], cache records at [2], then watch interval and index bits
// from `watch_at`, the three budgets (cache bytes, record bytes, record
// values) from `budgets_at`.
struct FileOptions {
  std::vector<std::string> extras;
  std::vector<const char *> ptrs;
  hp_geo_options o = HP_GEO_OPTIONS_INIT;

  FileOptions(const Napi::CallbackInfo &info, uint32_t watch_at, uint32_t budgets_at) {
    auto extra = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < extra.Length(); i++) extras.push_back(extra.Get(i).As<Napi::String>());
    for (auto &x : extras) ptrs.push_back(x.c_str());
    o.extra_paths = ptrs.data();
    o.extra_count = ptrs.size();
    o.cache_records = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    o.watch_interval_ms = info[watch_at].As<Napi::Number>().Uint32Value();
    o.ipv4_index_bits = info[watch_at + 1].As<Napi::Number>().Uint32Value();
    o.cache_bytes = static_cast<size_t>(info[budgets_at].As<Napi::Number>().Int64Value());
    o.max_record_bytes = static_cast<uint64_t>(info[budgets_at + 1].As<Napi::Number>().Int64Value());
    o.max_record_nodes = static_cast<uint64_t>(info[budgets_at + 2].As<Napi::Number>().Int64Value());
  }
  FileOptions(const FileOptions &) = delete;
  FileOptions &operator=(const FileOptions &) = delete;
};

// A handle opened off the loop by geoOpen, until a GeoReader adopts it (or
// the collector drops it unadopted).
struct Opened {
  hp_geo *g = nullptr;
  ~Opened() { hp_geo_close(g, nullptr, nullptr); }
};

class GeoReader : public Napi::ObjectWrap<GeoReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "GeoReader",
        {InstanceMethod<&GeoReader::Find>("find"), InstanceMethod<&GeoReader::RecordOf>("record"),
         InstanceMethod<&GeoReader::RecordCount>("recordCount"), InstanceMethod<&GeoReader::Lookup>("lookup"),
         InstanceMethod<&GeoReader::LookupMany>("lookupMany"), InstanceMethod<&GeoReader::Columns>("columns"),
         InstanceMethod<&GeoReader::Metadata>("metadata"), InstanceMethod<&GeoReader::Reload>("reload"),
         InstanceMethod<&GeoReader::Generation>("generation"), InstanceMethod<&GeoReader::Count>("count"),
         InstanceMethod<&GeoReader::Stats>("stats"), InstanceMethod<&GeoReader::Close>("close")});
  }

  // new GeoReader(path or Buffer, extraPaths[], cacheRecords, cacheObjects,
  //               watchMs, indexBits, state Int32Array(1), cacheBytes,
  //               maxRecordBytes, maxRecordNodes[, name of a Buffer])
  //   or new GeoReader(opened External from geoOpen, ..., state): adopts it.
  GeoReader(const Napi::CallbackInfo &info) : Napi::ObjectWrap<GeoReader>(info) {
    Napi::Env env = info.Env();
    max_objects_ = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
    auto state = info[6].As<Napi::Int32Array>();
    state_ = state.Data();
    state_ref_ = Napi::Persistent(state);
    if (info[0].IsExternal()) {
      Opened *o = info[0].As<Napi::External<Opened>>().Data();
      if (!o->g) throw Napi::Error::New(env, "geo: an opened handle is adopted once");
      geo_ = std::exchange(o->g, nullptr);
      generation_ = hp_geo_generation(geo_);
      return;
    }
    std::string path = info[0].IsBuffer() ? std::string() : std::string(info[0].As<Napi::String>());
    FileOptions fo(info, 4, 7);
    hp_geo_options &o = fo.o;
    if (info[0].IsBuffer()) {  // one database from memory, copied; info[10] names it
      auto buf = info[0].As<Napi::Buffer<uint8_t>>();
      std::string name = info[10].As<Napi::String>();
      Check(env, hp_geo_open_buffer(&geo_, buf.Data(), buf.Length(), name.c_str(), &o));
    } else {
      Check(env, hp_geo_open(&geo_, o.watch_interval_ms ? GetAddon(env).engine : nullptr, path.c_str(), &o));
    }
    generation_ = hp_geo_generation(geo_);
  }
  ~GeoReader() override {
    ClearCaches();
    if (string_table_) napi_delete_reference(Env(), string_table_);
    hp_geo_close(geo_, nullptr, nullptr);
  }

 private:
  hp_geo *Handle(Napi::Env env) {
    if (!geo_) ThrowError(env, HP_ECLOSED);
    return geo_;
  }

  void ClearCaches() {
    napi_env env = Env();
    for (auto &e : lookups1_)
      if (e.ref) napi_delete_reference(env, e.ref);
    lookups1_.clear();
    for (auto &kv : lookups_) napi_delete_reference(env, kv.second);
    lookups_.clear();
    cached_ = 0;
    rows_.clear();
    column_ids_.clear();
    if (column_table_) napi_delete_reference(env, column_table_);
    column_table_ = nullptr;
  }

  // columns(): one record's enrichment as indexes into the column table.
  struct Row {
    uint32_t cell[HP_GEO_STRING_FIELDS];
    uint32_t flags;
    bool filled;
    uint32_t accuracy_radius, asn;
    double latitude, longitude;
  };

  // The JS array `*ref` holds, made on first use (string tables).
  static napi_value HeldArray(napi_env env, napi_ref *ref) {
    napi_value table;
    if (!*ref) {
      napi_create_array(env, &table);
      napi_create_reference(env, table, 1, ref);
    } else {
      napi_get_reference_value(env, *ref, &table);
    }
    return table;
  }

  // A row of string indexes for one record's enrichment.
  void FillRow(napi_env env, napi_value table, Row *row, const hp_geo_enrichment &e) {
    *row = Row{};
    row->flags = e.flags;
    for (int c = 0; c < HP_GEO_STRING_FIELDS; c++) {
      if (!e.str[c]) continue;
      std::string s(e.str[c]);
      auto it = column_ids_.find(s);
      if (it == column_ids_.end()) {
        napi_value v;
        napi_create_string_utf8(env, s.data(), s.size(), &v);
        uint32_t index = static_cast<uint32_t>(column_ids_.size());
        napi_set_element(env, table, index, v);
        it = column_ids_.emplace(std::move(s), index + 1).first;
      }
      row->cell[c] = it->second;
    }
    row->accuracy_radius = e.accuracy_radius;
    row->asn = e.asn;
    row->latitude = e.latitude;
    row->longitude = e.longitude;
    row->filled = true;
  }

  // The cache slot of record `id` of database `db` (ids are dense per
  // generation), or nullptr for a record without an id.
  template <class T>
  T *Slot(std::vector<T> &v, uint32_t id, size_t db) {
    if (id == HP_GEO_NO_RECORD_ID) return nullptr;
    if (id >= v.size()) {
      size_t n = hp_geo_record_count(geo_, db);
      if (id >= n) return nullptr;
      v.resize(n);
    }
    return &v[id];
  }

  // A string for mmdb bytes; map keys and short values are interned in one
  // JS array (node 20 cannot reference primitives directly).
  napi_value Str(napi_env env, const char *s, size_t n) {
    napi_value out;
    if (n <= 32) {
      napi_value table = HeldArray(env, &string_table_);
      auto it = strings_.find(std::string_view(s, n));
      if (it != strings_.end()) {
        napi_get_element(env, table, it->second, &out);
        return out;
      }
      napi_create_string_utf8(env, s, n, &out);
      if (strings_.size() < 65536) {
        uint32_t index = static_cast<uint32_t>(strings_.size());
        napi_set_element(env, table, index, out);
        string_store_.emplace_back(s, n);
        strings_.emplace(string_store_.back(), index);
      }
      return out;
    }
    napi_create_string_utf8(env, s, n, &out);
    return out;
  }

  napi_value Convert(napi_env env, const hp_geo_value *v) {
    napi_value out = nullptr;
    switch (v->type) {
      case HP_GEO_STRING:
        return Str(env, v->v.str, v->size);
      case HP_GEO_DOUBLE:
      case HP_GEO_FLOAT:
        napi_create_double(env, v->v.f64, &out);
        return out;
      case HP_GEO_UINT16:
      case HP_GEO_UINT32:
        napi_create_uint32(env, static_cast<uint32_t>(v->v.u64), &out);
        return out;
      case HP_GEO_INT32:
        napi_create_int32(env, static_cast<int32_t>(v->v.i64), &out);
        return out;
      case HP_GEO_UINT64:
        napi_create_bigint_uint64(env, v->v.u64, &out);
        return out;
      case HP_GEO_UINT128: {
        uint64_t words[2] = {v->v.u128.lo, v->v.u128.hi};
        napi_create_bigint_words(env, 0, words[1] ? 2 : 1, words, &out);
        return out;
      }
      case HP_GEO_BOOLEAN:
        napi_get_boolean(env, v->v.u64 != 0, &out);
        return out;
      case HP_GEO_BYTES: {
        void *data = nullptr;
        napi_create_buffer_copy(env, v->size, v->v.bytes, &data, &out);
        return out;
      }
      case HP_GEO_ARRAY:
        napi_create_array_with_length(env, v->size, &out);
        for (uint32_t i = 0; i < v->size; i++) napi_set_element(env, out, i, Convert(env, &v->v.items[i]));
        return out;
      case HP_GEO_MAP: {
        napi_create_object(env, &out);
        napi_property_descriptor stack[32];
        std::vector<napi_property_descriptor> heap;
        napi_property_descriptor *props = stack;
        if (v->size > 32) {
          heap.resize(v->size);
          props = heap.data();
        }
        for (uint32_t i = 0; i < v->size; i++) {
          const hp_geo_value *k = &v->v.items[2 * i];
          props[i] = napi_property_descriptor{nullptr, Str(env, k->v.str, k->size), nullptr, nullptr, nullptr,
                                              Convert(env, &v->v.items[2 * i + 1]), napi_default_jsproperty, nullptr};
        }
        napi_define_properties(env, out, v->size, props);
        return out;
      }
      default:
        napi_get_null(env, &out);
        return out;
    }
  }

  // A value as a flat array that JavaScript makes objects from (lib/geo.js
  // fromTape): objects made there belong to the caller's realm, so a record
  // equals a literal under jest or in a vm context. Each value is a tag, 0
  // then a primitive (string, number, boolean, bigint, Buffer), 1 then a
  // count and that many key/value pairs, or 2 then a count and the items.
  void Tape(napi_env env, napi_value arr, uint32_t *n, const hp_geo_value *v) {
    auto push = [&](napi_value x) { napi_set_element(env, arr, (*n)++, x); };
    auto tag = [&](int t) {
      napi_value x;
      napi_create_int32(env, t, &x);
      push(x);
    };
    if (v->type == HP_GEO_MAP || v->type == HP_GEO_ARRAY) {
      bool map = v->type == HP_GEO_MAP;
      tag(map ? 1 : 2);
      napi_value count;
      napi_create_uint32(env, v->size, &count);
      push(count);
      for (uint32_t i = 0; i < v->size; i++) {
        if (map) {
          const hp_geo_value *k = &v->v.items[2 * i];
          push(Str(env, k->v.str, k->size));
          Tape(env, arr, n, &v->v.items[2 * i + 1]);
        } else {
          Tape(env, arr, n, &v->v.items[i]);
        }
      }
      return;
    }
    tag(0);
    push(Convert(env, v));
  }

  napi_value TapeOf(napi_env env, const hp_geo_value *v) {
    napi_value arr;
    napi_create_array(env, &arr);
    uint32_t n = 0;
    Tape(env, arr, &n, v);
    return arr;
  }

  // A reload happened: the record ids changed. The JS side sees state[0]
  // change and drops its caches.
  void CheckGeneration(uint64_t gen) {
    if (gen != generation_) {
      ClearCaches();
      generation_ = gen;
      state_[0]++;
    }
  }

  // find(ip, db): where the record of `ip` is, as one number: id * 256 +
  // prefix (found, id valid in this generation), -1 - prefix (no record),
  // -1000 - prefix (found, no id: call record()). One crossing, no object.
  Napi::Value Find(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    char ip[kIpMax + 2];
    size_t len = IpArg(env, info[0], ip);
    uint32_t db = 0;
    if (info.Length() > 1) napi_get_value_uint32(env, info[1], &db);
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = hp_geo_find(&r, Handle(env), db, ip, len);
    if (rc < 0) ThrowError(env, rc);
    napi_value out;
    double k;
    if (rc == 0) {
      k = -1.0 - r.prefix_len;
    } else {
      CheckGeneration(r.generation);
      k = r.record_id == HP_GEO_NO_RECORD_ID ? -1000.0 - r.prefix_len : double(r.record_id) * 256 + r.prefix_len;
    }
    napi_create_double(env, k, &out);
    return Napi::Value(env, out);
  }

  // record(ip, db): the record of `ip` as a tape (see Tape), or null.
  Napi::Value RecordOf(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    char ip[kIpMax + 2];
    size_t len = IpArg(env, info[0], ip);
    uint32_t db = 0;
    if (info.Length() > 1) napi_get_value_uint32(env, info[1], &db);
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = hp_geo_get(&r, Handle(env), db, ip, len);
    if (rc < 0) ThrowError(env, rc);
    napi_value out;
    if (rc == 0) {
      napi_get_null(env, &out);
      return Napi::Value(env, out);
    }
    CheckGeneration(r.generation);
    out = TapeOf(env, r.value);
    hp_geo_result_clear(&r);
    return Napi::Value(env, out);
  }

  Napi::Value RecordCount(const Napi::CallbackInfo &info) {
    uint32_t db = info.Length() > 0 ? info[0].As<Napi::Number>().Uint32Value() : 0;
    return Napi::Number::New(info.Env(), static_cast<double>(hp_geo_record_count(Handle(info.Env()), db)));
  }

  static constexpr const char *kFields[HP_GEO_STRING_FIELDS] = {
      "countryCode", "countryName", "continentCode", "continentName", "subdivisionCode", "subdivisionName",
      "city",        "postalCode",  "timeZone",      "asOrg",         "isp",             "org"};

  napi_value Name(napi_env env, const char *s) { return Str(env, s, std::strlen(s)); }

  napi_value Enrichment(napi_env env, const hp_geo_enrichment &e) {
    napi_property_descriptor props[HP_GEO_STRING_FIELDS + 6];
    size_t n = 0;
    auto add = [&](const char *name, napi_value v) {
      props[n++] = napi_property_descriptor{nullptr, Name(env, name), nullptr, nullptr, nullptr, v, napi_enumerable,
                                            nullptr};
    };
    for (int i = 0; i < HP_GEO_STRING_FIELDS; i++) {
      if (!e.str[i]) continue;
      napi_value s;
      napi_create_string_utf8(env, e.str[i], NAPI_AUTO_LENGTH, &s);
      add(kFields[i], s);
    }
    napi_value num;
    if (e.flags & HP_GEO_HAS_LOCATION) {
      napi_create_double(env, e.latitude, &num);
      add("latitude", num);
      napi_create_double(env, e.longitude, &num);
      add("longitude", num);
    }
    if (e.flags & HP_GEO_HAS_ACCURACY_RADIUS) {
      napi_create_uint32(env, e.accuracy_radius, &num);
      add("accuracyRadius", num);
    }
    if (e.flags & HP_GEO_HAS_ASN) {
      napi_create_uint32(env, e.asn, &num);
      add("asn", num);
    }
    napi_create_uint32(env, e.prefix_len, &num);
    add("prefixLength", num);
    napi_value out;
    napi_create_object(env, &out);
    napi_define_properties(env, out, n, props);
    napi_object_freeze(env, out);
    return out;
  }

  // A frozen enrichment object, reused while every database gives the same
  // record (the key is the record offsets of all databases).
  Napi::Value Lookup(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    char ip[kIpMax + 2];
    size_t len = IpArg(env, info[0], ip);
    hp_geo *g = Handle(env);
    size_t count = hp_geo_count(g);
    hp_geo_result init = HP_GEO_RESULT_INIT;
    found_.assign(count, init);
    int found = hp_geo_find_all(found_.data(), found_.size(), g, ip, len);
    if (found < 0) ThrowError(env, found);
    napi_value out;
    if (found == 0) {
      napi_get_null(env, &out);
      return Napi::Value(env, out);
    }
    const hp_geo_result &r = found_[0];
    std::string key;
    if (count > 1) {
      key.reserve(5 * count);
      for (const hp_geo_result &f : found_) {
        uint32_t part = f.found ? f.offset : 0xfffffffeu;
        key.append(reinterpret_cast<const char *>(&part), 4);
        key.push_back(static_cast<char>(f.prefix_len));
      }
    }
    CheckGeneration(r.generation);
    // One database: the slot of its record id, reused while the prefix
    // length matches (it is part of the object); a map for the rest.
    LookupSlot *slot = nullptr;
    if (count == 1) {
      slot = Slot(lookups1_, r.record_id, 0);
      if (slot && slot->ref && slot->prefix == r.prefix_len) {
        napi_get_reference_value(env, slot->ref, &out);
        return Napi::Value(env, out);
      }
      if (!slot || slot->ref) {
        uint64_t key1 = uint64_t(r.offset) << 8 | r.prefix_len;
        key.assign(reinterpret_cast<const char *>(&key1), sizeof key1);
        slot = nullptr;
      }
    }
    if (!slot) {
      auto it = lookups_.find(key);
      if (it != lookups_.end()) {
        napi_get_reference_value(env, it->second, &out);
        return Napi::Value(env, out);
      }
    }
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    int rc = hp_geo_lookup(&e, g, ip, len);
    if (rc < 0) ThrowError(env, rc);
    out = Enrichment(env, e);
    if (cached_ >= max_objects_) {
      ClearCaches();
      slot = count == 1 ? Slot(lookups1_, r.record_id, 0) : nullptr;
    }
    napi_ref ref;
    if (napi_create_reference(env, out, 1, &ref) != napi_ok) return Napi::Value(env, out);
    cached_++;
    if (slot) {
      slot->ref = ref;
      slot->prefix = static_cast<uint8_t>(r.prefix_len);
    } else {
      lookups_.emplace(std::move(key), ref);
    }
    return Napi::Value(env, out);
  }

  // columns(joined, lengths, cells Uint32Array(16n + 1), numbers
  // Float64Array(4n)) -> the string table, or null when an address is bad
  // (the caller then takes the per-item path, which names it). One
  // database only. One crossing for the batch: the addresses come as one
  // string and their lengths; the tree walks are overlapped
  // (hp_geo_find_many). Out, column by column (c * n + i): cells of the 12
  // string columns hold 1 + an index into the table (0: null), of the 4
  // number columns 1 where a value is in numbers[(c - 12) * n + i]; cells[16n]
  // has bit c set when column c holds a value. Each distinct record is
  // enriched once and kept as a row of string indexes by record id.
  Napi::Value Columns(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    hp_geo *g = Handle(env);
    auto lengths = info[1].As<Napi::Uint32Array>();
    auto cells = info[2].As<Napi::Uint32Array>();
    auto numbers = info[3].As<Napi::Float64Array>();
    size_t n = lengths.ElementLength();
    if (cells.ElementLength() < 16 * n + 1 || numbers.ElementLength() < 4 * n)
      throw Napi::RangeError::New(env, "geo: columns buffers are too small");
    size_t units = 0;
    napi_get_value_string_utf16(env, info[0], nullptr, 0, &units);
    thread_local std::vector<char16_t> wide;
    thread_local std::vector<char> text;
    thread_local std::vector<const char *> ptrs;
    thread_local std::vector<size_t> lens;
    thread_local std::vector<uint32_t> ids;
    wide.resize(units + 1);
    napi_get_value_string_utf16(env, info[0], wide.data(), wide.size(), &units);
    // Addresses are ASCII: anything else becomes a byte no address holds.
    text.resize(units);
    for (size_t i = 0; i < units; i++) text[i] = wide[i] < 0x80 ? static_cast<char>(wide[i]) : '\x7f';
    ptrs.resize(n);
    lens.resize(n);
    ids.resize(n);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
      size_t len = lengths[i];
      if (len > units - at) throw Napi::RangeError::New(env, "geo: columns: lengths exceed the text");
      ptrs[i] = text.data() + at;
      lens[i] = len;
      at += len;
    }
    if (cached_ >= max_objects_) ClearCaches();
    // Rows are made from the records the batch hands over, all from the
    // snapshot its ids came from. Rows by id grow to the batch's largest id
    // (doubling), not to every record at once: a few lookups of a large
    // file stay small.
    struct Batch {
      Batch(GeoReader *s, napi_env e) : self(s), env(e) {}
      GeoReader *self;
      napi_env env;
      napi_value table = nullptr;
      uint64_t gen = 0;
      bool checked = false;
      std::unordered_map<size_t, Row> unnumbered;  // by row
      // Asked about a record (e NULL): wanted unless its row is made; given
      // one: its row.
      static int Take(const hp_geo_enrichment *e, uint32_t id, size_t index, void *data) noexcept {
        auto *b = static_cast<Batch *>(data);
        GeoReader *self = b->self;
        try {
          if (!b->checked) {
            // gen is set before the first question; a new generation starts
            // new rows and a new string table.
            self->CheckGeneration(b->gen);
            b->table = HeldArray(b->env, &self->column_table_);
            b->checked = true;
          }
          if (id == HP_GEO_UNNUMBERED) {
            if (e) self->FillRow(b->env, b->table, &b->unnumbered[index], *e);
            return e ? 0 : 1;
          }
          if (id >= self->rows_.size())
            self->rows_.resize(std::min(hp_geo_record_count(self->geo_, 0), std::max<size_t>(id + 1, 2 * self->rows_.size())));
          if (id >= self->rows_.size()) return HP_ECORRUPT;  // not a record of this file
          Row &r = self->rows_[id];
          if (!e) return r.filled ? 0 : 1;
          self->FillRow(b->env, b->table, &r, *e);
          self->cached_++;
          return 0;
        } catch (const std::bad_alloc &) {
          return HP_ENOMEM;
        }
      }
    } batch(this, env);
    int rc = hp_geo_lookup_many(ids.data(), &batch.gen, nullptr, g, 0, ptrs.data(), lens.data(), n, 0, &Batch::Take,
                                &batch);
    if (rc == HP_EINVAL || rc == HP_EFAMILY) return Napi::Env(env).Null();
    if (rc < 0) ThrowError(env, rc);
    CheckGeneration(batch.gen);
    napi_value table = HeldArray(env, &column_table_);
    uint32_t *out = cells.Data();
    double *num = numbers.Data();
    uint32_t present = 0;
    constexpr size_t kAhead = 8;  // rows are read at random: fetch ahead
    for (size_t i = 0; i < n; i++) {
      if (i + kAhead < n && ids[i + kAhead] < rows_.size()) __builtin_prefetch(&rows_[ids[i + kAhead]]);
      uint32_t id = ids[i];
      const Row *row = nullptr;
      if (id == HP_GEO_UNNUMBERED)
        row = &batch.unnumbered.at(i);
      else if (id != HP_GEO_NO_RECORD_ID)
        row = &rows_[id];
      for (int c = 0; c < HP_GEO_STRING_FIELDS; c++) out[c * n + i] = row ? row->cell[c] : 0;
      uint32_t has[4] = {0, 0, 0, 0};
      if (row) {
        has[0] = has[1] = (row->flags & HP_GEO_HAS_LOCATION) != 0;
        has[2] = (row->flags & HP_GEO_HAS_ACCURACY_RADIUS) != 0;
        has[3] = (row->flags & HP_GEO_HAS_ASN) != 0;
        num[i] = row->latitude;
        num[n + i] = row->longitude;
        num[2 * n + i] = row->accuracy_radius;
        num[3 * n + i] = row->asn;
        present |= row->flags;
      }
      for (int k = 0; k < 4; k++) out[(HP_GEO_STRING_FIELDS + k) * n + i] = has[k];
    }
    uint32_t mask = present & ((1u << HP_GEO_STRING_FIELDS) - 1);
    if (present & HP_GEO_HAS_LOCATION) mask |= 3u << HP_GEO_STRING_FIELDS;
    if (present & HP_GEO_HAS_ACCURACY_RADIUS) mask |= 1u << (HP_GEO_STRING_FIELDS + 2);
    if (present & HP_GEO_HAS_ASN) mask |= 1u << (HP_GEO_STRING_FIELDS + 3);
    out[16 * n] = mask;
    return Napi::Value(env, table);
  }

  // Columns: { countryCode: [...], ..., latitude: [...], found: [...] }.
  Napi::Value LookupMany(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    auto ips = info[0].As<Napi::Array>();
    uint32_t n = ips.Length();
    hp_geo *g = Handle(env);
    napi_value cols[HP_GEO_STRING_FIELDS + 4];
    for (auto &c : cols) napi_create_array_with_length(env, n, &c);
    napi_value nul;
    napi_get_null(env, &nul);
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    for (uint32_t i = 0; i < n; i++) {
      napi_value v;
      napi_get_element(env, ips, i, &v);
      char ip[kIpMax + 2];
      size_t len = IpArg(env, v, ip);
      int rc = hp_geo_lookup(&e, g, ip, len);
      if (rc < 0) {
        std::string msg = std::string(hp_last_error()) + " (item " + std::to_string(i) + ")";
        throw MakeError(env, rc, msg.c_str());
      }
      for (int f = 0; f < HP_GEO_STRING_FIELDS; f++)
        napi_set_element(env, cols[f], i, e.str[f] ? Str(env, e.str[f], std::strlen(e.str[f])) : nul);
      napi_value num;
      auto set_num = [&](int col, bool has, double x) {
        if (has) {
          napi_create_double(env, x, &num);
          napi_set_element(env, cols[col], i, num);
        } else {
          napi_set_element(env, cols[col], i, nul);
        }
      };
      set_num(HP_GEO_STRING_FIELDS, e.flags & HP_GEO_HAS_LOCATION, e.latitude);
      set_num(HP_GEO_STRING_FIELDS + 1, e.flags & HP_GEO_HAS_LOCATION, e.longitude);
      set_num(HP_GEO_STRING_FIELDS + 2, e.flags & HP_GEO_HAS_ACCURACY_RADIUS, e.accuracy_radius);
      set_num(HP_GEO_STRING_FIELDS + 3, e.flags & HP_GEO_HAS_ASN, e.asn);
    }
    napi_value out;
    napi_create_object(env, &out);
    for (int f = 0; f < HP_GEO_STRING_FIELDS; f++) napi_set_named_property(env, out, kFields[f], cols[f]);
    napi_set_named_property(env, out, "latitude", cols[HP_GEO_STRING_FIELDS]);
    napi_set_named_property(env, out, "longitude", cols[HP_GEO_STRING_FIELDS + 1]);
    napi_set_named_property(env, out, "accuracyRadius", cols[HP_GEO_STRING_FIELDS + 2]);
    napi_set_named_property(env, out, "asn", cols[HP_GEO_STRING_FIELDS + 3]);
    return Napi::Value(env, out);
  }

  Napi::Value Metadata(const Napi::CallbackInfo &info) {
    napi_env env = info.Env();
    size_t db = info.Length() > 0 ? info[0].As<Napi::Number>().Uint32Value() : 0;
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = hp_geo_metadata(&r, Handle(env), db);
    if (rc < 0) ThrowError(env, rc);
    napi_value out = TapeOf(env, r.value);
    hp_geo_result_clear(&r);
    return Napi::Value(env, out);
  }

  Napi::Value Reload(const Napi::CallbackInfo &info) {
    Check(info.Env(), hp_geo_reload(Handle(info.Env())));
    return info.Env().Undefined();
  }

  Napi::Value Generation(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(hp_geo_generation(Handle(info.Env()))));
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    hp_geo_stats s = HP_GEO_STATS_INIT;
    Check(info.Env(), hp_geo_stats_get(&s, Handle(info.Env())));
    return GeoStatsObject(info.Env(), s);
  }

  Napi::Value Count(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), static_cast<double>(hp_geo_count(Handle(info.Env()))));
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    ClearCaches();
    hp_geo_close(geo_, nullptr, nullptr);
    geo_ = nullptr;
    return info.Env().Undefined();
  }

  hp_geo *geo_ = nullptr;
  uint64_t generation_ = 0;
  size_t max_objects_ = 1000000;
  struct LookupSlot {
    napi_ref ref = nullptr;
    uint8_t prefix = 0;
  };
  size_t cached_ = 0;                // references held in the caches
  std::vector<hp_geo_result> found_;  // lookup(): the search of each database (hp_geo_find_all)
  std::vector<LookupSlot> lookups1_;  // lookup(), one database: [record id]
  std::unordered_map<std::string, napi_ref> lookups_;  // lookup(): other keys
  std::deque<std::string> string_store_;
  std::unordered_map<std::string_view, uint32_t> strings_;
  napi_ref string_table_ = nullptr;
  std::vector<Row> rows_;                                 // columns(): by record id
  std::unordered_map<std::string, uint32_t> column_ids_;  // columns(): 1 + index in the table
  napi_ref column_table_ = nullptr;
  int32_t *state_ = nullptr;  // state[0]: bumped when the generation changes
  Napi::Reference<Napi::Int32Array> state_ref_;
};

// A JS value as an hp_geo_value tree; strings and bytes are kept in `store`.
struct Builder {
  napi_env env;
  std::deque<std::vector<hp_geo_value>> arrays;
  std::deque<std::string> store;

  void Fill(napi_value v, hp_geo_value *out, unsigned depth) {
    if (depth > 64) throw Napi::RangeError::New(env, "writer: record nested too deeply");
    napi_valuetype t;
    napi_typeof(env, v, &t);
    *out = hp_geo_value{};
    switch (t) {
      case napi_string: {
        size_t len;
        napi_get_value_string_utf8(env, v, nullptr, 0, &len);
        store.emplace_back(len + 1, '\0');
        napi_get_value_string_utf8(env, v, store.back().data(), len + 1, &len);
        out->type = HP_GEO_STRING;
        out->size = static_cast<uint32_t>(len);
        out->v.str = store.back().data();
        return;
      }
      case napi_boolean: {
        bool b;
        napi_get_value_bool(env, v, &b);
        out->type = HP_GEO_BOOLEAN;
        out->v.u64 = b;
        return;
      }
      case napi_number: {
        double d;
        napi_get_value_double(env, v, &d);
        if (std::floor(d) == d && d >= 0 && d <= 4294967295.0) {
          out->type = HP_GEO_UINT32;
          out->v.u64 = static_cast<uint64_t>(d);
        } else if (std::floor(d) == d && d < 0 && d >= -2147483648.0) {
          out->type = HP_GEO_INT32;
          out->v.i64 = static_cast<int64_t>(d);
        } else {
          out->type = HP_GEO_DOUBLE;
          out->v.f64 = d;
        }
        return;
      }
      case napi_bigint: {
        int sign = 0;
        size_t count = 2;
        uint64_t words[2] = {0, 0};
        if (napi_get_value_bigint_words(env, v, &sign, &count, words) != napi_ok || sign || count > 2)
          throw Napi::RangeError::New(env, "writer: a bigint must be 0 .. 2^128-1");
        if (count <= 1) {
          out->type = HP_GEO_UINT64;
          out->v.u64 = words[0];
        } else {
          out->type = HP_GEO_UINT128;
          out->v.u128.hi = words[1];
          out->v.u128.lo = words[0];
        }
        return;
      }
      case napi_object: {
        bool is;
        if (napi_is_typedarray(env, v, &is), is) {
          napi_typedarray_type tt;
          size_t length, offset;
          void *data;
          napi_value ab;
          napi_get_typedarray_info(env, v, &tt, &length, &data, &ab, &offset);
          if (tt != napi_uint8_array) throw Napi::TypeError::New(env, "writer: only Uint8Array/Buffer bytes");
          store.emplace_back(static_cast<const char *>(data), length);
          out->type = HP_GEO_BYTES;
          out->size = static_cast<uint32_t>(length);
          out->v.bytes = reinterpret_cast<const uint8_t *>(store.back().data());
          return;
        }
        if (napi_is_array(env, v, &is), is) {
          uint32_t n;
          napi_get_array_length(env, v, &n);
          arrays.emplace_back(n);
          auto &items = arrays.back();
          for (uint32_t i = 0; i < n; i++) {
            napi_value x;
            napi_get_element(env, v, i, &x);
            Fill(x, &items[i], depth + 1);
          }
          out->type = HP_GEO_ARRAY;
          out->size = n;
          out->v.items = items.data();
          return;
        }
        napi_value keys;
        napi_get_property_names(env, v, &keys);
        uint32_t n;
        napi_get_array_length(env, keys, &n);
        arrays.emplace_back(2 * size_t(n));
        auto &items = arrays.back();
        for (uint32_t i = 0; i < n; i++) {
          napi_value k, x;
          napi_get_element(env, keys, i, &k);
          napi_get_property(env, v, k, &x);
          Fill(k, &items[2 * i], depth + 1);
          Fill(x, &items[2 * i + 1], depth + 1);
        }
        out->type = HP_GEO_MAP;
        out->size = n;
        out->v.items = items.data();
        return;
      }
      default:
        throw Napi::TypeError::New(env, "writer: records hold strings, numbers, bigints, booleans, "
                                        "Buffers, arrays and plain objects");
    }
  }
};

// geoWrite(path, entries [[network, record], ...], ipVersion, recordSize,
//          databaseType, description, languages[], buildEpoch)
// geoOpen(path, extraPaths[], cacheRecords, watchMs, indexBits, cacheBytes,
// maxRecordBytes, maxRecordNodes): a Promise
// of an opened handle for new GeoReader; the files are mapped, checked and
// indexed on the thread pool.
Napi::Value GeoOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  FileOptions fo(info, 3, 5);
  return StartPromise(env, "geoOpen", [&](Pending *p) {
    return hp_geo_open_async(
        GetAddon(env).engine, path.c_str(), &fo.o,
        [](int status, hp_geo *g, void *data) {
          auto pending = Own<Pending>(data);
          if (status < 0) return pending->Reject(status);
          pending->Resolve([g](Napi::Env e) -> Napi::Value {
            auto *opened = new Opened{g};
            return Napi::External<Opened>::New(e, opened, [](Napi::Env, Opened *x) { delete x; });
          });
        },
        p);
  });
}

Napi::Value GeoWrite(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  auto entries = info[1].As<Napi::Array>();
  hp_geo_writer_options o = HP_GEO_WRITER_OPTIONS_INIT;
  o.ip_version = info[2].As<Napi::Number>().Uint32Value();
  o.record_size = info[3].As<Napi::Number>().Uint32Value();
  std::string type = info[4].As<Napi::String>();
  std::string desc = info[5].As<Napi::String>();
  auto langs = info[6].As<Napi::Array>();
  std::vector<std::string> lang_store;
  for (uint32_t i = 0; i < langs.Length(); i++) lang_store.push_back(langs.Get(i).As<Napi::String>());
  std::vector<const char *> lang_ptrs;
  for (auto &l : lang_store) lang_ptrs.push_back(l.c_str());
  o.database_type = type.empty() ? nullptr : type.c_str();  // NULL: the library's "hotpath"
  o.description = desc.empty() ? nullptr : desc.c_str();
  o.languages = lang_ptrs.data();
  o.language_count = lang_ptrs.size();
  o.build_epoch = static_cast<uint64_t>(info[7].As<Napi::Number>().Int64Value());
  hp_geo_writer *w = nullptr;
  Check(env, hp_geo_writer_new(&w, &o));
  struct Free {
    hp_geo_writer *w;
    ~Free() { hp_geo_writer_free(w); }
  } free_w{w};
  for (uint32_t i = 0; i < entries.Length(); i++) {
    auto pair = entries.Get(i).As<Napi::Array>();
    std::string net = pair.Get(0u).As<Napi::String>();
    Builder b{env, {}, {}};
    hp_geo_value root;
    b.Fill(pair.Get(1u), &root, 0);
    Check(env, hp_geo_writer_insert(w, net.data(), net.size(), &root));
  }
  Check(env, hp_geo_writer_write(w, path.c_str()));
  return env.Undefined();
}

}  // namespace

void InitGeo(Napi::Env env, Napi::Object exports) {
  exports.Set("GeoReader", GeoReader::Define(env));
  exports.Set("geoWrite", Napi::Function::New(env, GeoWrite, "geoWrite"));
  exports.Set("geoOpen", Napi::Function::New(env, GeoOpen, "geoOpen"));
}

}  // namespace hp_node
