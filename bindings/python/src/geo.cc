// The geo reader and writer. Values convert to the types the maxminddb
// package returns (dict, list, str, int, float, bool, bytes); map keys and
// short strings are interned per reader. Single lookups keep the GIL;
// lookup_many releases it while the C library fills the columns.
#include <array>
#include <cstring>
#include <memory>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "module.h"
#include "observe.h"

namespace hp_py {

namespace {

const char *const kFields[HP_GEO_STRING_FIELDS] = {
    "country_code", "country_name", "continent_code", "continent_name", "subdivision_code", "subdivision_name",
    "city",         "postal_code",  "time_zone",      "as_org",         "isp",              "org"};

constexpr int kColumns = HP_GEO_STRING_FIELDS + 4;  // + latitude, longitude, accuracy_radius, asn
// lookup_many batches up to this size run with the GIL (a few ms at most).
constexpr size_t kBatchWithGil = 16384;

// Everything a reader owns. Shared with the fast get functions (a capsule
// holds a reference), so they stay safe after the reader object is gone.
// Touched only with the GIL held.
class GeoState {
 public:
  explicit GeoState(size_t max_objects) : max_objects_(max_objects ? max_objects : (size_t(1) << 20)) {}
  ~GeoState() { close(); }

  // Batches and reloads run without the GIL, pinning the handle.
  PinnedHandle<hp_geo, hp_geo_close> ref;
  using Pin = PinnedHandle<hp_geo, hp_geo_close>::Pin;
  // Makes the exception of a failed get (the maxminddb drop-in's classes
  // and messages); None: hotpath.errors.from_code.
  py::object error_factory;

  [[noreturn]] void fail(int rc) {
    if (!error_factory || error_factory.is_none()) raise_error(rc);
    const char *syscall = "";
    const char *path = "";
    int sys_errno = hp_last_errno(&syscall, &path);
    py::object exc = error_factory(rc, hp_err_name(rc), hp_last_error(), sys_errno, syscall, path);
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
    throw py::error_already_set();
  }

  hp_geo *handle() {
    hp_geo *g = ref.get();
    if (!g) raise_error(HP_ECLOSED, "Attempt to read from a closed MaxMind DB.");
    return g;
  }

  void close() {
    clear_caches();
    clear_strings();
    ref.close();
  }

  // The record of `ip` in database `db` as a new object (None when absent);
  // *prefix set when not NULL. Records reached through a string address are
  // made once per record id and copied on return (containers only: the
  // leaves are immutable), so callers may change what they get.
  PyObject *get(PyObject *ip, size_t db, unsigned *prefix) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    const char *s;
    size_t len;
    if (!text_of(ip, &s, &len)) {
      int rc = query(ip, db, &r);
      if (prefix) *prefix = r.prefix_len;
      if (rc == 0) Py_RETURN_NONE;
      PyObject *v = convert(r.value);
      hp_geo_result_clear(&r);
      if (!v) throw py::error_already_set();
      return v;
    }
    int rc = hp_geo_find(&r, handle(), db, s, len);
    if (rc < 0) fail(rc);
    if (prefix) *prefix = r.prefix_len;
    if (rc == 0) Py_RETURN_NONE;
    check_generation(r.generation);
    Entry *slot = db == 0 ? slot_of(records_, r.record_id) : nullptr;
    if (slot && slot->obj) return copy_value(slot->obj, slot->nested);
    rc = hp_geo_get(&r, handle(), db, s, len);
    if (rc < 0) fail(rc);
    if (rc == 0) Py_RETURN_NONE;  // a reload in between
    PyObject *v = convert(r.value);
    uint64_t gen = r.generation;
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    if (!slot || gen != generation_) return v;
    if (cached_ >= max_objects_) {
      clear_caches();
      slot = slot_of(records_, r.record_id);
      if (!slot) return v;
    }
    slot->obj = v;
    slot->nested = nested(v);
    cached_++;
    return copy_value(v, slot->nested);
  }

  py::object lookup(py::handle ip) {
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    int rc;
    if (PyUnicode_Check(ip.ptr())) {
      Py_ssize_t len;
      const char *s = PyUnicode_AsUTF8AndSize(ip.ptr(), &len);
      if (!s) throw py::error_already_set();
      rc = hp_geo_lookup(&e, handle(), s, static_cast<size_t>(len));
    } else {
      char *s;
      Py_ssize_t len;
      if (PyBytes_AsStringAndSize(ip.ptr(), &s, &len) != 0) throw py::error_already_set();
      rc = hp_geo_lookup_bytes(&e, handle(), reinterpret_cast<const uint8_t *>(s), static_cast<size_t>(len));
    }
    check(rc);
    if (rc == 0) return py::none();
    py::dict d;
    for (int i = 0; i < HP_GEO_STRING_FIELDS; i++)
      d[kFields[i]] = e.str[i] ? py::reinterpret_steal<py::object>(str(e.str[i], std::strlen(e.str[i]))) : py::none();
    bool loc = e.flags & HP_GEO_HAS_LOCATION;
    d["latitude"] = loc ? py::object(py::float_(e.latitude)) : py::none();
    d["longitude"] = loc ? py::object(py::float_(e.longitude)) : py::none();
    d["accuracy_radius"] =
        (e.flags & HP_GEO_HAS_ACCURACY_RADIUS) ? py::object(py::int_(e.accuracy_radius)) : py::none();
    d["asn"] = (e.flags & HP_GEO_HAS_ASN) ? py::object(py::int_(e.asn)) : py::none();
    d["prefix_len"] = py::int_(e.prefix_len);
    return d;
  }

  // Columns for many addresses. One database: one hp_geo_lookup_many call
  // without the GIL gives every address's record id and each distinct
  // record once, all of one snapshot; the column values of a record are
  // made once (and kept for later calls of the same generation), then every
  // list is filled from them. Several databases: one hp_geo_lookup per
  // address without the GIL.
  // coerce: an item that is not an IP address (or not a str: None, NaN)
  // gets a row of None instead of failing the batch, as pandas' errors="coerce".
  py::dict lookup_many(py::handle ips, bool coerce) {
    py::tuple items = py::reinterpret_steal<py::tuple>(PySequence_Tuple(ips.ptr()));
    if (!items) throw py::error_already_set();
    size_t n = static_cast<size_t>(PyTuple_GET_SIZE(items.ptr()));
    std::vector<const char *> ptrs(n);
    std::vector<size_t> lens(n);
    for (size_t i = 0; i < n; i++) {
      if (!text_of(PyTuple_GET_ITEM(items.ptr(), static_cast<Py_ssize_t>(i)), &ptrs[i], &lens[i])) {
        if (PyErr_Occurred()) throw py::error_already_set();
        if (!coerce) throw py::type_error("lookup_many: item " + std::to_string(i) + " is not a str");
        ptrs[i] = "";  // not an address: HP_EINVAL below, a row of None
        lens[i] = 0;
      }
    }
    hp_geo *g = handle();
    if (hp_geo_count(g) != 1) return lookup_many_merged(ptrs, lens, coerce);
    std::vector<uint32_t> ids(n);
    // Small batches keep the GIL: they skip the records this reader holds
    // already (reading its cache needs the GIL). Large ones release it and
    // take every distinct record.
    Handed handed;
    handed.cache = n <= kBatchWithGil ? this : nullptr;
    size_t bad = 0;
    int rc;
    std::string err;
    // Coerced, a bad address is a row of None (HP_GEO_SKIP_INVALID).
    unsigned flags = coerce ? HP_GEO_SKIP_INVALID : 0;
    if (handed.cache) {
      rc = hp_geo_lookup_many(ids.data(), &handed.gen, &bad, g, 0, ptrs.data(), lens.data(), n, flags, &Handed::take,
                              &handed);
    } else {
      Pin pin(ref);
      py::gil_scoped_release release;
      rc = hp_geo_lookup_many(ids.data(), &handed.gen, &bad, g, 0, ptrs.data(), lens.data(), n, flags, &Handed::take,
                              &handed);
    }
    if (rc < 0) err = hp_last_error();
    uint64_t gen = handed.gen;
    if (rc == HP_ENOMEM && handed.out_of_memory) throw std::bad_alloc();
    if (rc < 0) raise_error(rc, (err + " (item " + std::to_string(bad) + ")").c_str());
    check_generation(gen);
    // Values of the records the cache cannot take (full, or no record id),
    // by the first row of each.
    std::unordered_map<size_t, std::array<PyObject *, kColumns>> loose;
    struct Loose {
      std::unordered_map<size_t, std::array<PyObject *, kColumns>> &m;
      ~Loose() {
        for (auto &kv : m)
          for (PyObject *o : kv.second) Py_XDECREF(o);
      }
    } loose_guard{loose};
    std::unordered_map<uint32_t, size_t> loose_rows;  // record id -> row in `loose`
    for (const Handed::Record &r : handed.records) {
      Values *slot = r.id == HP_GEO_UNNUMBERED ? nullptr : slot_of(columns_, r.id);
      if (slot && slot->v) continue;
      std::array<PyObject *, kColumns> vals = values_of(handed, r);
      if (slot && cached_ < max_objects_) {
        slot->v.reset(new std::array<PyObject *, kColumns>(vals));
        cached_++;
      } else {
        loose.emplace(r.index, vals);
        if (r.id != HP_GEO_UNNUMBERED) loose_rows.emplace(r.id, r.index);
      }
    }
    return fill_columns(ids, loose, loose_rows);
  }

  py::object metadata(size_t db) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    check(hp_geo_metadata(&r, handle(), db));
    PyObject *v = convert(r.value);
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(v);
  }

  void clear_caches() {
    for (auto &e : records_) Py_XDECREF(e.obj);
    records_.clear();
    for (auto &c : columns_)
      if (c.v)
        for (PyObject *o : *c.v) Py_XDECREF(o);
    columns_.clear();
    cached_ = 0;
  }

 private:
  struct Entry {
    PyObject *obj = nullptr;
    bool nested = false;
  };
  struct Values {
    std::unique_ptr<std::array<PyObject *, kColumns>> v;
  };

  // Borrowed UTF-8 of a str (ASCII strings without a copy); false for
  // anything else.
  static bool text_of(PyObject *o, const char **s, size_t *len) {
    if (!PyUnicode_Check(o)) return false;
    if (PyUnicode_IS_COMPACT_ASCII(o)) {
      *s = static_cast<const char *>(PyUnicode_DATA(o));
      *len = static_cast<size_t>(PyUnicode_GET_LENGTH(o));
      return true;
    }
    Py_ssize_t n;
    *s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!*s) throw py::error_already_set();
    *len = static_cast<size_t>(n);
    return true;
  }

  void check_generation(uint64_t gen) {
    if (gen != generation_) {
      clear_caches();
      generation_ = gen;
    }
  }

  template <class T>
  T *slot_of(std::vector<T> &v, uint32_t id) {
    if (id >= v.size()) {
      size_t n = hp_geo_record_count(handle(), 0);
      if (id >= n) return nullptr;
      v.resize(n);
    }
    return &v[id];
  }

  static bool nested(PyObject *o) {
    if (PyDict_CheckExact(o)) {
      Py_ssize_t pos = 0;
      PyObject *k, *v;
      while (PyDict_Next(o, &pos, &k, &v))
        if (PyDict_CheckExact(v) || PyList_CheckExact(v)) return true;
      return false;
    }
    return PyList_CheckExact(o);
  }

  // A copy of the containers of a cached value (leaves are shared).
  static PyObject *copy_value(PyObject *o, bool deep = true) {
    if (PyDict_CheckExact(o)) {
      PyObject *d = PyDict_Copy(o);
      if (!d || !deep) return d;
      Py_ssize_t pos = 0;
      PyObject *k, *v;
      while (PyDict_Next(d, &pos, &k, &v)) {
        if (!PyDict_CheckExact(v) && !PyList_CheckExact(v)) continue;
        PyObject *c = copy_value(v);
        // Replacing the value of an existing key keeps the iteration valid.
        if (!c || PyDict_SetItem(d, k, c) != 0) {
          Py_XDECREF(c);
          Py_DECREF(d);
          return nullptr;
        }
        Py_DECREF(c);
      }
      return d;
    }
    if (PyList_CheckExact(o)) {
      Py_ssize_t n = PyList_GET_SIZE(o);
      PyObject *l = PyList_New(n);
      if (!l) return nullptr;
      for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GET_ITEM(o, i);
        PyObject *c = (PyDict_CheckExact(v) || PyList_CheckExact(v)) ? copy_value(v) : (Py_INCREF(v), v);
        if (!c) {
          Py_DECREF(l);
          return nullptr;
        }
        PyList_SET_ITEM(l, i, c);
      }
      return l;
    }
    Py_INCREF(o);
    return o;
  }

  // The records hp_geo_lookup_many hands over, copied without the GIL.
  struct Handed {
    struct Record {
      uint32_t id;
      size_t index;  // first row with this record
      uint32_t flags;
      double latitude, longitude;
      uint32_t accuracy_radius, asn;
      uint32_t at[HP_GEO_STRING_FIELDS];   // into text
      uint32_t len[HP_GEO_STRING_FIELDS];  // absent: UINT32_MAX
    };
    GeoState *cache = nullptr;  // not NULL: the GIL is held, skip what it holds
    uint64_t gen = 0;
    std::vector<Record> records;
    std::string text;
    bool out_of_memory = false;

    static int take(const hp_geo_enrichment *e, uint32_t id, size_t index, void *data) noexcept {
      auto *h = static_cast<Handed *>(data);
      if (!e) {
        GeoState *c = h->cache;
        bool held = c && id != HP_GEO_UNNUMBERED && c->generation_ == h->gen && id < c->columns_.size() &&
                    c->columns_[id].v;
        return held ? 0 : 1;
      }
      try {
        Record r{id, index, e->flags, e->latitude, e->longitude, e->accuracy_radius, e->asn, {}, {}};
        for (int f = 0; f < HP_GEO_STRING_FIELDS; f++) {
          r.len[f] = UINT32_MAX;
          if (!e->str[f]) continue;
          size_t n = std::strlen(e->str[f]);
          r.at[f] = static_cast<uint32_t>(h->text.size());
          r.len[f] = static_cast<uint32_t>(n);
          h->text.append(e->str[f], n);
        }
        h->records.push_back(r);
        return 0;
      } catch (const std::bad_alloc &) {
        h->out_of_memory = true;
        return HP_ENOMEM;
      }
    }
  };

  // The lookup_many column values of one record (new references).
  std::array<PyObject *, kColumns> values_of(const Handed &h, const Handed::Record &r) {
    std::array<PyObject *, kColumns> out{};
    auto none = [] {
      Py_INCREF(Py_None);
      return Py_None;
    };
    for (int f = 0; f < HP_GEO_STRING_FIELDS; f++)
      out[f] = r.len[f] == UINT32_MAX ? none() : str(h.text.data() + r.at[f], r.len[f]);
    bool loc = r.flags & HP_GEO_HAS_LOCATION;
    out[HP_GEO_STRING_FIELDS] = loc ? PyFloat_FromDouble(r.latitude) : none();
    out[HP_GEO_STRING_FIELDS + 1] = loc ? PyFloat_FromDouble(r.longitude) : none();
    out[HP_GEO_STRING_FIELDS + 2] =
        (r.flags & HP_GEO_HAS_ACCURACY_RADIUS) ? PyLong_FromUnsignedLong(r.accuracy_radius) : none();
    out[HP_GEO_STRING_FIELDS + 3] = (r.flags & HP_GEO_HAS_ASN) ? PyLong_FromUnsignedLong(r.asn) : none();
    for (PyObject *o : out)
      if (!o) {
        for (PyObject *x : out) Py_XDECREF(x);
        throw py::error_already_set();
      }
    return out;
  }

  py::dict fill_columns(const std::vector<uint32_t> &ids,
                        const std::unordered_map<size_t, std::array<PyObject *, kColumns>> &loose,
                        const std::unordered_map<uint32_t, size_t> &loose_rows) {
    size_t n = ids.size();
    // Per row, the value array to read (nullptr: no record).
    std::vector<const std::array<PyObject *, kColumns> *> rows(n);
    for (size_t i = 0; i < n; i++) {
      uint32_t id = ids[i];
      if (id == HP_GEO_NO_RECORD_ID) continue;
      if (id < columns_.size() && columns_[id].v)
        rows[i] = columns_[id].v.get();
      else if (id == HP_GEO_UNNUMBERED)
        rows[i] = &loose.at(i);
      else
        rows[i] = &loose.at(loose_rows.at(id));
    }
    py::dict out;
    for (int f = 0; f < kColumns; f++) {
      PyObject *list = PyList_New(static_cast<Py_ssize_t>(n));
      if (!list) throw py::error_already_set();
      for (size_t i = 0; i < n; i++) {
        PyObject *v = rows[i] ? (*rows[i])[f] : Py_None;
        Py_INCREF(v);
        PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), v);
      }
      out[column_name(f)] = py::reinterpret_steal<py::object>(list);
    }
    return out;
  }

  static const char *column_name(int f) {
    static const char *const kNumbers[4] = {"latitude", "longitude", "accuracy_radius", "asn"};
    return f < HP_GEO_STRING_FIELDS ? kFields[f] : kNumbers[f - HP_GEO_STRING_FIELDS];
  }

  // Several databases: hp_geo_lookup per address without the GIL; strings
  // are collected as indexes into a per-column table, then made once each.
  py::dict lookup_many_merged(const std::vector<const char *> &ips, const std::vector<size_t> &lens, bool coerce) {
    size_t n = ips.size();
    hp_geo *g = handle();
    struct Column {
      std::vector<int32_t> idx;
      std::vector<std::string> values;
      std::unordered_map<std::string, int32_t> seen;
    };
    std::vector<Column> cols(HP_GEO_STRING_FIELDS);
    for (auto &c : cols) c.idx.resize(n);
    std::vector<double> lat(n), lon(n);
    std::vector<int64_t> acc(n), asn(n);
    std::vector<uint8_t> has_loc(n);
    int rc = 0;
    size_t bad = 0;
    std::string err;
    {
      Pin pin(ref);
      py::gil_scoped_release release;
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      for (size_t i = 0; i < n; i++) {
        rc = hp_geo_lookup(&e, g, ips[i], lens[i]);
        if ((rc == HP_EINVAL || rc == HP_EFAMILY) && coerce) {
          for (auto &c : cols) c.idx[i] = -1;  // not an address (of the file's family): a row of None
          has_loc[i] = 0;
          acc[i] = asn[i] = -1;
          rc = 0;
          continue;
        }
        if (rc < 0) {
          bad = i;
          err = hp_last_error();
          break;
        }
        for (int f = 0; f < HP_GEO_STRING_FIELDS; f++) {
          Column &c = cols[f];
          if (!e.str[f]) {
            c.idx[i] = -1;
            continue;
          }
          auto it = c.seen.find(e.str[f]);
          if (it == c.seen.end()) {
            int32_t k = static_cast<int32_t>(c.values.size());
            c.values.emplace_back(e.str[f]);
            it = c.seen.emplace(c.values.back(), k).first;
          }
          c.idx[i] = it->second;
        }
        has_loc[i] = (e.flags & HP_GEO_HAS_LOCATION) != 0;
        lat[i] = e.latitude;
        lon[i] = e.longitude;
        acc[i] = (e.flags & HP_GEO_HAS_ACCURACY_RADIUS) ? int64_t(e.accuracy_radius) : int64_t(-1);
        asn[i] = (e.flags & HP_GEO_HAS_ASN) ? int64_t(e.asn) : int64_t(-1);
      }
    }
    if (rc < 0) raise_error(rc, (err + " (item " + std::to_string(bad) + ")").c_str());
    py::dict out;
    for (int f = 0; f < HP_GEO_STRING_FIELDS; f++) {
      Column &c = cols[f];
      std::vector<py::object> strs;
      strs.reserve(c.values.size());
      for (auto &s : c.values) {
        PyObject *o = PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "strict");
        if (!o) throw py::error_already_set();
        strs.push_back(py::reinterpret_steal<py::object>(o));
      }
      PyObject *list = PyList_New(static_cast<Py_ssize_t>(n));
      if (!list) throw py::error_already_set();
      for (size_t i = 0; i < n; i++) {
        PyObject *v = c.idx[i] < 0 ? Py_None : strs[c.idx[i]].ptr();
        Py_INCREF(v);
        PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), v);
      }
      out[kFields[f]] = py::reinterpret_steal<py::object>(list);
    }
    auto num_list = [&](auto get) {
      PyObject *list = PyList_New(static_cast<Py_ssize_t>(n));
      if (!list) throw py::error_already_set();
      for (size_t i = 0; i < n; i++) {
        PyObject *v = get(i);
        if (!v) {
          Py_DECREF(list);
          throw py::error_already_set();
        }
        PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), v);
      }
      return py::reinterpret_steal<py::object>(list);
    };
    auto none = []() {
      Py_INCREF(Py_None);
      return Py_None;
    };
    out["latitude"] = num_list([&](size_t i) { return has_loc[i] ? PyFloat_FromDouble(lat[i]) : none(); });
    out["longitude"] = num_list([&](size_t i) { return has_loc[i] ? PyFloat_FromDouble(lon[i]) : none(); });
    out["accuracy_radius"] = num_list([&](size_t i) { return acc[i] >= 0 ? PyLong_FromLongLong(acc[i]) : none(); });
    out["asn"] = num_list([&](size_t i) { return asn[i] >= 0 ? PyLong_FromLongLong(asn[i]) : none(); });
    return out;
  }

  // Any address type, decoded on every call: str, bytes, ipaddress objects.
  int query(PyObject *ip, size_t db, hp_geo_result *r) {
    int rc;
    if (PyUnicode_Check(ip)) {
      Py_ssize_t len;
      const char *s = PyUnicode_AsUTF8AndSize(ip, &len);
      if (!s) throw py::error_already_set();
      rc = hp_geo_get(r, handle(), db, s, static_cast<size_t>(len));
    } else if (PyBytes_Check(ip)) {
      rc = hp_geo_get_bytes(r, handle(), db, reinterpret_cast<const uint8_t *>(PyBytes_AS_STRING(ip)),
                            static_cast<size_t>(PyBytes_GET_SIZE(ip)));
    } else if (PyObject_HasAttrString(ip, "packed")) {  // ipaddress.IPv4Address / IPv6Address
      // As text, so an error names the address as the caller wrote it.
      py::object packed = py::reinterpret_borrow<py::object>(ip).attr("packed");
      if (!PyBytes_Check(packed.ptr())) throw py::type_error("argument 1 must be a string or ipaddress object");
      py::str text = py::str(py::reinterpret_borrow<py::object>(ip));
      return query(text.ptr(), db, r);
    } else {
      throw py::type_error("argument 1 must be a string or ipaddress object");
    }
    if (rc < 0) {
      hp_geo_result_clear(r);
      fail(rc);
    }
    return rc;
  }

  void clear_strings() {
    for (auto &kv : strings_) Py_DECREF(kv.second);
    strings_.clear();
    store_.clear();
  }

  PyObject *str(const char *s, size_t n) {
    if (n > 32) return PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(n), "strict");
    auto it = strings_.find(std::string_view(s, n));
    if (it != strings_.end()) {
      Py_INCREF(it->second);
      return it->second;
    }
    PyObject *o = PyUnicode_DecodeUTF8(s, static_cast<Py_ssize_t>(n), "strict");
    if (!o) return nullptr;
    if (strings_.size() < 65536) {
      PyUnicode_InternInPlace(&o);
      store_.emplace_back(s, n);
      Py_INCREF(o);
      strings_.emplace(store_.back(), o);
    }
    return o;
  }

 public:
  PyObject *convert(const hp_geo_value *v) {
    switch (v->type) {
      case HP_GEO_STRING:
        return str(v->v.str, v->size);
      case HP_GEO_DOUBLE:
      case HP_GEO_FLOAT:
        return PyFloat_FromDouble(v->v.f64);
      case HP_GEO_UINT16:
      case HP_GEO_UINT32:
      case HP_GEO_UINT64:
        return PyLong_FromUnsignedLongLong(v->v.u64);
      case HP_GEO_INT32:
        return PyLong_FromLongLong(v->v.i64);
      case HP_GEO_UINT128: {
        uint8_t bytes[16];
        for (int i = 0; i < 8; i++) {
          bytes[i] = static_cast<uint8_t>(v->v.u128.hi >> (56 - 8 * i));
          bytes[8 + i] = static_cast<uint8_t>(v->v.u128.lo >> (56 - 8 * i));
        }
        return _PyLong_FromByteArray(bytes, 16, 0, 0);
      }
      case HP_GEO_BOOLEAN:
        return PyBool_FromLong(v->v.u64 != 0);
      case HP_GEO_BYTES:
        return PyBytes_FromStringAndSize(reinterpret_cast<const char *>(v->v.bytes), v->size);
      case HP_GEO_ARRAY: {
        PyObject *list = PyList_New(v->size);
        if (!list) return nullptr;
        for (uint32_t i = 0; i < v->size; i++) {
          PyObject *x = convert(&v->v.items[i]);
          if (!x) {
            Py_DECREF(list);
            return nullptr;
          }
          PyList_SET_ITEM(list, i, x);
        }
        return list;
      }
      case HP_GEO_MAP: {
        PyObject *d = _PyDict_NewPresized(v->size);
        if (!d) return nullptr;
        for (uint32_t i = 0; i < v->size; i++) {
          PyObject *k = str(v->v.items[2 * i].v.str, v->v.items[2 * i].size);
          PyObject *x = k ? convert(&v->v.items[2 * i + 1]) : nullptr;
          if (!x || PyDict_SetItem(d, k, x) != 0) {
            Py_XDECREF(k);
            Py_XDECREF(x);
            Py_DECREF(d);
            return nullptr;
          }
          Py_DECREF(k);
          Py_DECREF(x);
        }
        return d;
      }
      default:
        Py_RETURN_NONE;
    }
  }

  size_t max_objects_;
  size_t cached_ = 0;
  uint64_t generation_ = 0;
  std::vector<Entry> records_;   // get(), database 0: [record id]
  std::vector<Values> columns_;  // lookup_many: [record id]
  std::deque<std::string> store_;
  std::unordered_map<std::string_view, PyObject *> strings_;
};

// Runs `f` for a METH_FASTCALL function: C++ errors become Python ones.
template <class F>
PyObject *guarded(F &&f) {
  try {
    return f();
  } catch (py::error_already_set &e) {
    e.restore();
  } catch (py::builtin_exception &e) {
    e.set_error();
  } catch (const std::exception &e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

GeoState *state_of(PyObject *capsule) {
  return static_cast<std::shared_ptr<GeoState> *>(PyCapsule_GetPointer(capsule, nullptr))->get();
}

PyObject *fast_get(PyObject *capsule, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs != 1) {
    PyErr_SetString(PyExc_TypeError, "get() takes exactly one argument (ip)");
    return nullptr;
  }
  return guarded([&] { return state_of(capsule)->get(args[0], 0, nullptr); });
}

PyObject *fast_get_with_prefix_len(PyObject *capsule, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs != 1) {
    PyErr_SetString(PyExc_TypeError, "get_with_prefix_len() takes exactly one argument (ip)");
    return nullptr;
  }
  return guarded([&]() -> PyObject * {
    unsigned prefix = 0;
    PyObject *v = state_of(capsule)->get(args[0], 0, &prefix);
    if (!v) return nullptr;
    PyObject *p = PyLong_FromUnsignedLong(prefix);
    if (!p) {
      Py_DECREF(v);
      return nullptr;
    }
    PyObject *t = PyTuple_Pack(2, v, p);
    Py_DECREF(v);
    Py_DECREF(p);
    return t;
  });
}

PyMethodDef kFastGet = {"get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_get)), METH_FASTCALL,
                        "The record of an address in the primary database, or None."};
PyMethodDef kFastGetPrefix = {"get_with_prefix_len",
                              reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(fast_get_with_prefix_len)),
                              METH_FASTCALL, "(record or None, prefix length)."};

// A walk over the networks of one database (hp_geo_iter); holds the
// snapshot it started on, so a close or reload during the walk is safe.
class GeoWalk {
 public:
  GeoWalk(std::shared_ptr<GeoState> st, hp_geo_iter *it) : st_(std::move(st)), it_(it) {}
  ~GeoWalk() { hp_geo_iter_free(it_); }
  GeoWalk(const GeoWalk &) = delete;
  GeoWalk &operator=(const GeoWalk &) = delete;

  py::tuple next() {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    uint8_t addr[16];
    size_t len = 0;
    int rc = hp_geo_iter_next(&r, addr, &len, it_);
    if (rc < 0) st_->fail(rc);
    if (rc == 0) throw py::stop_iteration();
    PyObject *v = st_->convert(r.value);
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    py::object record = py::reinterpret_steal<py::object>(v);
    return py::make_tuple(py::bytes(reinterpret_cast<const char *>(addr), len), r.prefix_len, record);
  }

 private:
  std::shared_ptr<GeoState> st_;
  hp_geo_iter *it_;
};

class GeoReader {
 public:
  // With watch_interval_ms, `engine`'s loop polls the files and reloads on
  // change (lookups see the new data at their next call, as after reload()).
  GeoReader(const std::string &path, const std::vector<std::string> &extra, size_t cache_records,
            unsigned ipv4_index_bits, size_t cache_bytes, uint64_t max_record_bytes, uint64_t max_record_nodes,
            unsigned watch_interval_ms, Engine *engine)
      : st_(std::make_shared<GeoState>(cache_records)) {
    if (watch_interval_ms && !engine) raise_error(HP_EINVAL, "GeoReader: a watch needs the engine");
    hp_engine *e = watch_interval_ms ? engine->get() : nullptr;
    std::vector<const char *> ptrs;
    for (auto &s : extra) ptrs.push_back(s.c_str());
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.extra_paths = ptrs.data();
    o.extra_count = ptrs.size();
    o.cache_records = cache_records;
    o.ipv4_index_bits = ipv4_index_bits;
    o.cache_bytes = cache_bytes;
    o.max_record_bytes = max_record_bytes;
    o.max_record_nodes = max_record_nodes;
    o.watch_interval_ms = watch_interval_ms;
    int rc;
    hp_geo *g = nullptr;
    {
      py::gil_scoped_release release;
      rc = hp_geo_open(&g, e, path.c_str(), &o);
    }
    check(rc);
    st_->ref.set(g);
  }
  // One database from bytes in memory (copied by the C library).
  GeoReader(const py::buffer &data, const std::string &name, size_t cache_records, size_t cache_bytes,
            uint64_t max_record_bytes, uint64_t max_record_nodes)
      : st_(std::make_shared<GeoState>(cache_records)) {
    py::buffer_info info = data.request();
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.cache_records = cache_records;
    o.cache_bytes = cache_bytes;
    o.max_record_bytes = max_record_bytes;
    o.max_record_nodes = max_record_nodes;
    size_t size = static_cast<size_t>(info.size) * static_cast<size_t>(info.itemsize);
    int rc;
    hp_geo *g = nullptr;
    {
      py::gil_scoped_release release;
      rc = hp_geo_open_buffer(&g, info.ptr, size, name.c_str(), &o);
    }
    check(rc);
    st_->ref.set(g);
  }
  ~GeoReader() { st_->close(); }

  void set_error_factory(py::object f) { st_->error_factory = std::move(f); }

  // (address bytes, prefix length, record) for every network of database
  // `db`, from the snapshot current when the walk starts.
  py::object networks(size_t db) {
    hp_geo_iter *it = nullptr;
    int rc = hp_geo_iter_new(&it, st_->handle(), db);
    if (rc < 0) st_->fail(rc);
    return py::cast(new GeoWalk(st_, it), py::return_value_policy::take_ownership);
  }

  py::tuple get_with_prefix_len(py::handle ip, size_t db) {
    unsigned prefix = 0;
    py::object v = py::reinterpret_steal<py::object>(st_->get(ip.ptr(), db, &prefix));
    return py::make_tuple(v, prefix);
  }
  py::object get(py::handle ip, size_t db) { return py::reinterpret_steal<py::object>(st_->get(ip.ptr(), db, nullptr)); }
  py::object lookup(py::handle ip) { return st_->lookup(ip); }
  py::dict lookup_many(py::handle ips, bool coerce) { return st_->lookup_many(ips, coerce); }
  py::object metadata(size_t db) { return st_->metadata(db); }

  // (get, get_with_prefix_len) as builtins bound to this reader's state:
  // METH_FASTCALL, no argument parsing layer.
  py::tuple fast_methods() {
    auto *holder = new std::shared_ptr<GeoState>(st_);
    PyObject *cap = PyCapsule_New(holder, nullptr, [](PyObject *c) {
      delete static_cast<std::shared_ptr<GeoState> *>(PyCapsule_GetPointer(c, nullptr));
    });
    if (!cap) {
      delete holder;
      throw py::error_already_set();
    }
    py::object keep = py::reinterpret_steal<py::object>(cap);
    PyObject *a = PyCFunction_New(&kFastGet, cap);
    if (!a) throw py::error_already_set();
    py::object fa = py::reinterpret_steal<py::object>(a);
    PyObject *b = PyCFunction_New(&kFastGetPrefix, cap);
    if (!b) throw py::error_already_set();
    return py::make_tuple(fa, py::reinterpret_steal<py::object>(b));
  }

  void reload() {
    hp_geo *g = st_->handle();
    int rc;
    {
      GeoState::Pin pin(st_->ref);
      py::gil_scoped_release release;
      rc = hp_geo_reload(g);
    }
    check(rc);
  }

  uint64_t generation() { return hp_geo_generation(st_->handle()); }
  py::dict stats() {
    hp_geo_stats s = HP_GEO_STATS_INIT;
    check(hp_geo_stats_get(&s, st_->handle()));
    return geo_stats_dict(s);
  }
  size_t count() { return hp_geo_count(st_->handle()); }
  bool closed() const { return st_->ref.get() == nullptr; }
  void close() { st_->close(); }

 private:
  std::shared_ptr<GeoState> st_;
};

// Python value -> hp_geo_value tree, storage kept alive in the builder.
struct Builder {
  std::deque<std::vector<hp_geo_value>> arrays;
  std::deque<std::string> store;

  void fill(py::handle v, hp_geo_value *out, unsigned depth) {
    if (depth > 64) throw py::value_error("write_database: record nested too deeply");
    *out = hp_geo_value{};
    PyObject *o = v.ptr();
    if (PyUnicode_Check(o)) {
      Py_ssize_t len;
      const char *s = PyUnicode_AsUTF8AndSize(o, &len);
      if (!s) throw py::error_already_set();
      store.emplace_back(s, static_cast<size_t>(len));
      out->type = HP_GEO_STRING;
      out->size = static_cast<uint32_t>(len);
      out->v.str = store.back().data();
    } else if (PyBool_Check(o)) {
      out->type = HP_GEO_BOOLEAN;
      out->v.u64 = o == Py_True;
    } else if (PyLong_Check(o)) {
      int overflow = 0;
      long long x = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (!overflow && x >= 0 && x <= 0xffffffffLL) {
        out->type = HP_GEO_UINT32;
        out->v.u64 = static_cast<uint64_t>(x);
      } else if (!overflow && x < 0 && x >= INT32_MIN) {
        out->type = HP_GEO_INT32;
        out->v.i64 = x;
      } else {
        py::int_ big = py::reinterpret_borrow<py::int_>(v);
        if (py::int_(0) > big || big >= py::int_(py::module_::import("builtins").attr("pow")(2, 128)))
          throw py::value_error("write_database: an int must be in -2**31 .. 2**128-1");
        // int.to_bytes, not _PyLong_AsByteArray (whose arguments changed in 3.13).
        std::string be = py::bytes(big.attr("to_bytes")(16, "big"));
        const unsigned char *bytes = reinterpret_cast<const unsigned char *>(be.data());
        uint64_t hi = 0, lo = 0;
        for (int i = 0; i < 8; i++) {
          hi = hi << 8 | bytes[i];
          lo = lo << 8 | bytes[8 + i];
        }
        if (hi == 0) {
          out->type = HP_GEO_UINT64;
          out->v.u64 = lo;
        } else {
          out->type = HP_GEO_UINT128;
          out->v.u128.hi = hi;
          out->v.u128.lo = lo;
        }
      }
    } else if (PyFloat_Check(o)) {
      out->type = HP_GEO_DOUBLE;
      out->v.f64 = PyFloat_AS_DOUBLE(o);
    } else if (PyBytes_Check(o) || PyByteArray_Check(o)) {
      std::string b = py::reinterpret_borrow<py::bytes>(py::bytes(py::reinterpret_borrow<py::object>(v)));
      store.push_back(std::move(b));
      out->type = HP_GEO_BYTES;
      out->size = static_cast<uint32_t>(store.back().size());
      out->v.bytes = reinterpret_cast<const uint8_t *>(store.back().data());
    } else if (PyList_Check(o) || PyTuple_Check(o)) {
      py::sequence seq = py::reinterpret_borrow<py::sequence>(v);
      arrays.emplace_back(seq.size());
      auto &items = arrays.back();
      for (size_t i = 0; i < items.size(); i++) fill(seq[i], &items[i], depth + 1);
      out->type = HP_GEO_ARRAY;
      out->size = static_cast<uint32_t>(items.size());
      out->v.items = items.data();
    } else if (PyDict_Check(o)) {
      py::dict d = py::reinterpret_borrow<py::dict>(v);
      arrays.emplace_back(2 * d.size());
      auto &items = arrays.back();
      size_t i = 0;
      for (auto kv : d) {
        if (!PyUnicode_Check(kv.first.ptr())) throw py::type_error("write_database: map keys must be str");
        fill(kv.first, &items[i++], depth + 1);
        fill(kv.second, &items[i++], depth + 1);
      }
      out->type = HP_GEO_MAP;
      out->size = static_cast<uint32_t>(d.size());
      out->v.items = items.data();
    } else {
      throw py::type_error("write_database: records hold str, int, float, bool, bytes, list and dict");
    }
  }
};

void geo_write(const std::string &path, py::iterable entries, unsigned ip_version, unsigned record_size,
               const std::string &database_type, const std::string &description,
               const std::vector<std::string> &languages, uint64_t build_epoch) {
  std::vector<const char *> langs;
  for (auto &l : languages) langs.push_back(l.c_str());
  hp_geo_writer_options o = HP_GEO_WRITER_OPTIONS_INIT;
  o.ip_version = ip_version;
  o.record_size = record_size;
  o.database_type = database_type.empty() ? nullptr : database_type.c_str();  // NULL: the library's "hotpath"
  o.description = description.empty() ? nullptr : description.c_str();
  o.languages = langs.data();
  o.language_count = langs.size();
  o.build_epoch = build_epoch;
  hp_geo_writer *w = nullptr;
  check(hp_geo_writer_new(&w, &o));
  std::unique_ptr<hp_geo_writer, void (*)(hp_geo_writer *)> guard(w, hp_geo_writer_free);
  for (py::handle e : entries) {
    py::tuple pair = py::reinterpret_borrow<py::tuple>(e);
    std::string net = pair[0].cast<std::string>();
    Builder b;
    hp_geo_value root;
    b.fill(pair[1], &root, 0);
    check(hp_geo_writer_insert(w, net.data(), net.size(), &root));
  }
  int rc;
  {
    py::gil_scoped_release release;
    rc = hp_geo_writer_write(w, path.c_str());
  }
  check(rc);
}

}  // namespace

void init_geo(py::module_ &m) {
  py::class_<GeoWalk>(m, "GeoWalk")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &GeoWalk::next);
  py::class_<GeoReader>(m, "GeoReader")
      .def(py::init<const std::string &, const std::vector<std::string> &, size_t, unsigned, size_t, uint64_t,
                    uint64_t, unsigned, Engine *>(),
           py::arg("path"), py::arg("extra_paths"), py::arg("cache_records"), py::arg("ipv4_index_bits") = 0,
           py::arg("cache_bytes") = 0, py::arg("max_record_bytes") = 0, py::arg("max_record_nodes") = 0,
           py::arg("watch_interval_ms") = 0, py::arg("engine") = static_cast<Engine *>(nullptr),
           py::keep_alive<1, 10>())
      .def(py::init<const py::buffer &, const std::string &, size_t, size_t, uint64_t, uint64_t>(), py::arg("data"),
           py::arg("name"), py::arg("cache_records"), py::arg("cache_bytes") = 0, py::arg("max_record_bytes") = 0,
           py::arg("max_record_nodes") = 0)
      .def("networks", &GeoReader::networks, py::arg("db") = 0)
      .def("set_error_factory", &GeoReader::set_error_factory, py::arg("factory"))
      .def("get", &GeoReader::get, py::arg("ip"), py::arg("db") = 0)
      .def("get_with_prefix_len", &GeoReader::get_with_prefix_len, py::arg("ip"), py::arg("db") = 0)
      .def("lookup", &GeoReader::lookup, py::arg("ip"))
      .def("lookup_many", &GeoReader::lookup_many, py::arg("ips"), py::arg("coerce") = false)
      .def("fast_methods", &GeoReader::fast_methods)
      .def("metadata", &GeoReader::metadata, py::arg("db") = 0)
      .def("reload", &GeoReader::reload)
      .def("generation", &GeoReader::generation)
      .def("stats", &GeoReader::stats)
      .def("count", &GeoReader::count)
      .def("close", &GeoReader::close)
      .def_property_readonly("closed", &GeoReader::closed);
  m.def("geo_write", &geo_write, py::arg("path"), py::arg("entries"), py::arg("ip_version"), py::arg("record_size"),
        py::arg("database_type"), py::arg("description"), py::arg("languages"), py::arg("build_epoch"));
}

}  // namespace hp_py
