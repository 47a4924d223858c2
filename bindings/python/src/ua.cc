// User-agent parsing: parse() keeps the GIL (a cached parse is ~0.1 us);
// parse_many() converts the strings, then parses them all without the GIL.
#include <string>
#include <vector>

#include "module.h"

namespace hp_py {

namespace {

hp_ua *g_parser = nullptr;  // one cached parser for the module; thread-safe

py::object str_or_none(const char *s) {
  if (!s[0]) return py::none();
  return py::str(s);
}

// ua-parser-js's browser.major: the version without characters other than
// digits and dots, up to its first dot.
py::object major_of(const char *version) {
  if (!version[0]) return py::none();
  std::string major;
  for (const char *c = version; *c && *c != '.'; c++)
    if (*c >= '0' && *c <= '9') major += *c;
    else if (*c == '.') break;
  return py::str(major);
}

py::dict to_dict(const hp_ua_result &r) {
  py::dict d;
  d["browser"] = str_or_none(r.browser);
  d["browser_version"] = str_or_none(r.browser_version);
  d["browser_major"] = major_of(r.browser_version);
  d["engine"] = str_or_none(r.engine);
  d["engine_version"] = str_or_none(r.engine_version);
  d["os"] = str_or_none(r.os);
  d["os_version"] = str_or_none(r.os_version);
  d["device_type"] = hp_ua_device_type_name(r.device_type);
  d["vendor"] = str_or_none(r.vendor);
  d["model"] = str_or_none(r.model);
  d["is_bot"] = py::bool_(r.is_bot != 0);
  d["cpu"] = str_or_none(r.cpu);
  return d;
}

py::dict parse(py::handle ua) {
  Py_ssize_t len = 0;
  const char *s = PyUnicode_AsUTF8AndSize(ua.ptr(), &len);
  if (!s) throw py::error_already_set();
  hp_ua_result r = HP_UA_RESULT_INIT;
  check(hp_ua_parse(&r, g_parser, s, static_cast<size_t>(len)));
  return to_dict(r);
}

py::list parse_many(const py::list &items) {
  size_t n = items.size();
  std::vector<std::string> strings;
  strings.reserve(n);
  for (size_t i = 0; i < n; i++) {
    py::handle item = items[i];
    Py_ssize_t len = 0;
    const char *s = PyUnicode_Check(item.ptr()) ? PyUnicode_AsUTF8AndSize(item.ptr(), &len) : nullptr;
    if (!s) {
      PyErr_Clear();
      raise_error(HP_EINVAL, ("ua.parse_many: item " + std::to_string(i) + " is not a str").c_str());
    }
    strings.emplace_back(s, static_cast<size_t>(len));
  }
  std::vector<hp_ua_result> results(n);
  int rc = 0;
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < n && rc >= 0; i++) {
      results[i].version = HP_UA_RESULT_VERSION;
      rc = hp_ua_parse(&results[i], g_parser, strings[i].data(), strings[i].size());
    }
  }
  check(rc);
  py::list out(n);
  for (size_t i = 0; i < n; i++) out[i] = to_dict(results[i]);
  return out;
}

py::dict stats() {
  hp_ua_stats s = HP_UA_STATS_INIT;
  check(hp_ua_stats_get(&s, g_parser));
  py::dict d;
  d["hits"] = s.hits;
  d["misses"] = s.misses;
  d["capacity"] = s.capacity;
  return d;
}

}  // namespace

void init_ua(py::module_ &m) {
  check(hp_ua_new(&g_parser, nullptr));
  // Freed with the module.
  m.attr("_ua_parser") = py::capsule(g_parser, [](void *p) {
    hp_ua_close(static_cast<hp_ua *>(p), nullptr, nullptr);
    if (g_parser == p) g_parser = nullptr;
  });
  m.def("ua_parse", &parse, py::arg("ua"));
  m.def("ua_parse_many", &parse_many, py::arg("items"));
  m.def("ua_stats", &stats);
}

}  // namespace hp_py
