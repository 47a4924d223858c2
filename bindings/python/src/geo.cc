// The geo reader and writer. Values convert to the types the maxminddb
// package returns (dict, list, str, int, float, bool, bytes); map keys and
// short strings are interned per reader. Single lookups keep the GIL;
// lookup_many releases it while the C library fills the columns.
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "module.h"

namespace hp_py {

namespace {

const char *const kFields[HP_GEO_STRING_FIELDS] = {
    "country_code", "country_name", "continent_code", "continent_name", "subdivision_code", "subdivision_name",
    "city",         "postal_code",  "time_zone",      "as_org",         "isp",              "org"};

class GeoReader {
 public:
  GeoReader(const std::string &path, const std::vector<std::string> &extra, size_t cache_records) {
    std::vector<const char *> ptrs;
    for (auto &s : extra) ptrs.push_back(s.c_str());
    hp_geo_options o = HP_GEO_OPTIONS_INIT;
    o.extra_paths = ptrs.data();
    o.extra_count = ptrs.size();
    o.cache_records = cache_records;
    int rc;
    {
      py::gil_scoped_release release;
      rc = hp_geo_open(&geo_, nullptr, path.c_str(), &o);
    }
    check(rc);
  }
  ~GeoReader() {
    clear_strings();
    hp_geo_close(geo_);
  }

  hp_geo *handle() {
    if (!geo_) raise_error(HP_ECLOSED, "Attempt to read from a closed MaxMind DB.");
    return geo_;
  }

  // (record or None, prefix length)
  py::tuple get_with_prefix_len(py::handle ip, size_t db) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = query(ip, db, &r);
    PyObject *v = rc == 1 ? convert(r.value) : (Py_INCREF(Py_None), Py_None);
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    PyObject *p = PyLong_FromUnsignedLong(r.prefix_len);
    return py::reinterpret_steal<py::tuple>(PyTuple_Pack(2, py::reinterpret_steal<py::object>(v).ptr(),
                                                         py::reinterpret_steal<py::object>(p).ptr()));
  }

  py::object get(py::handle ip, size_t db) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    int rc = query(ip, db, &r);
    if (rc == 0) return py::none();
    PyObject *v = convert(r.value);
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(v);
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

  // Columns for many addresses. Strings are collected as indexes into a
  // per-column table without the GIL, then made into str objects once each.
  py::dict lookup_many(const std::vector<std::string> &ips) {
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
      py::gil_scoped_release release;
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      for (size_t i = 0; i < n; i++) {
        rc = hp_geo_lookup(&e, g, ips[i].data(), ips[i].size());
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

  py::object metadata(size_t db) {
    hp_geo_result r = HP_GEO_RESULT_INIT;
    check(hp_geo_metadata(&r, handle(), db));
    PyObject *v = convert(r.value);
    hp_geo_result_clear(&r);
    if (!v) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(v);
  }

  void reload() {
    hp_geo *g = handle();
    int rc;
    {
      py::gil_scoped_release release;
      rc = hp_geo_reload(g);
    }
    check(rc);
  }

  uint64_t generation() { return hp_geo_generation(handle()); }
  size_t count() { return hp_geo_count(handle()); }
  bool closed() const { return geo_ == nullptr; }

  void close() {
    clear_strings();
    hp_geo *g = geo_;
    geo_ = nullptr;
    if (g) {
      py::gil_scoped_release release;
      hp_geo_close(g);
    }
  }

 private:
  int query(py::handle ip, size_t db, hp_geo_result *r) {
    int rc;
    if (PyUnicode_Check(ip.ptr())) {
      Py_ssize_t len;
      const char *s = PyUnicode_AsUTF8AndSize(ip.ptr(), &len);
      if (!s) throw py::error_already_set();
      rc = hp_geo_get(r, handle(), db, s, static_cast<size_t>(len));
    } else if (PyBytes_Check(ip.ptr())) {
      rc = hp_geo_get_bytes(r, handle(), db, reinterpret_cast<const uint8_t *>(PyBytes_AS_STRING(ip.ptr())),
                            static_cast<size_t>(PyBytes_GET_SIZE(ip.ptr())));
    } else if (PyObject_HasAttrString(ip.ptr(), "packed")) {  // ipaddress.IPv4Address / IPv6Address
      py::object packed = py::reinterpret_borrow<py::object>(ip).attr("packed");
      if (!PyBytes_Check(packed.ptr())) throw py::type_error("argument 1 must be a string or ipaddress object");
      return query(packed, db, r);
    } else {
      throw py::type_error("argument 1 must be a string or ipaddress object");
    }
    if (rc < 0) {
      hp_geo_result_clear(r);
      raise_error(rc);
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

  hp_geo *geo_ = nullptr;
  std::deque<std::string> store_;
  std::unordered_map<std::string_view, PyObject *> strings_;
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
        unsigned char bytes[16];
        if (_PyLong_AsByteArray(reinterpret_cast<PyLongObject *>(o), bytes, 16, 0, 0) != 0)
          throw py::error_already_set();
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
  o.database_type = database_type.c_str();
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
  py::class_<GeoReader>(m, "GeoReader")
      .def(py::init<const std::string &, const std::vector<std::string> &, size_t>(), py::arg("path"),
           py::arg("extra_paths"), py::arg("cache_records"))
      .def("get", &GeoReader::get, py::arg("ip"), py::arg("db") = 0)
      .def("get_with_prefix_len", &GeoReader::get_with_prefix_len, py::arg("ip"), py::arg("db") = 0)
      .def("lookup", &GeoReader::lookup, py::arg("ip"))
      .def("lookup_many", &GeoReader::lookup_many, py::arg("ips"))
      .def("metadata", &GeoReader::metadata, py::arg("db") = 0)
      .def("reload", &GeoReader::reload)
      .def("generation", &GeoReader::generation)
      .def("count", &GeoReader::count)
      .def("close", &GeoReader::close)
      .def_property_readonly("closed", &GeoReader::closed);
  m.def("geo_write", &geo_write, py::arg("path"), py::arg("entries"), py::arg("ip_version"), py::arg("record_size"),
        py::arg("database_type"), py::arg("description"), py::arg("languages"), py::arg("build_epoch"));
}

}  // namespace hp_py
