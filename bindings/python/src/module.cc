// _hotpath: the private native module; the public API is the hotpath package.
#include "module.h"
#include "observe.h"

#include <cstring>
#include <string>

namespace hp_py {

namespace {

// hotpath.errors.from_code, handed over once when hotpath.errors is imported
// (a strong reference kept for the life of the process: the interpreter may
// raise from it until it ends).
PyObject *g_from_code = nullptr;

py::object from_code() {
  if (!g_from_code) py::module_::import("hotpath.errors");  // registers itself
  if (!g_from_code) throw std::runtime_error("hotpath.errors did not register its error factory");
  return py::reinterpret_borrow<py::object>(g_from_code);
}

py::object error_for(int code, const char *detail, const SysError *saved) {
  const char *text = detail && detail[0] ? detail : hp_last_error();
  if (!text[0]) text = hp_strerror(code);
  // A detail passed in is this thread's last failure only when it is the
  // same text (a callback passing hp_last_error() on); else its system
  // error is the one saved with it, if any.
  SysError sys = saved ? *saved : SysError{};
  if (!saved && (!detail || !detail[0] || std::strcmp(detail, hp_last_error()) == 0)) sys = SysError::last();
  return from_code()(code, hp_err_name(code), text, sys.number, sys.syscall, sys.path);
}

}  // namespace

void raise_error(int code, const char *detail, const SysError *sys) {
  py::object exc = error_for(code, detail, sys);
  PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

void call_back(const py::object &fn, int status, const char *detail, py::object value) {
  py::gil_scoped_acquire gil;
  try {
    if (status < 0)
      fn(error_for(status, detail, nullptr), py::none());
    else
      fn(py::none(), value);
  } catch (py::error_already_set &err) {
    // A callback has nowhere to raise to; report it like an unraisable error.
    err.discard_as_unraisable("hotpath callback");
  }
}

Engine::Engine() {
  check(hp_engine_new(&engine_, nullptr));
  watch_events(engine_);
}

Engine::~Engine() {
  if (engine_) {
    py::gil_scoped_release release;
    hp_engine_free(engine_);
  }
}

hp_engine *Engine::get() {
  if (!engine_) raise_error(HP_ECLOSED, "engine: closed");
  return engine_;
}

void Engine::close() {
  hp_engine *e = engine_;
  engine_ = nullptr;
  if (e) {
    // Pending callbacks take the GIL: wait without it.
    py::gil_scoped_release release;
    hp_engine_free(e);
  }
}

}  // namespace hp_py

PYBIND11_MODULE(_hotpath, m) {
  namespace py = pybind11;
  m.doc() = "hotpath's native module; use the hotpath package.";
  m.attr("__version__") = hp_version_string();
  m.attr("version_hex") = hp_version();
  py::dict codes;
#define HP__PY_CODE(name, value, text) codes["HP_" #name] = value;
  HP_ERRNO_MAP(HP__PY_CODE)
#undef HP__PY_CODE
  m.attr("codes") = codes;
  m.def("strerror", &hp_strerror, py::arg("code"));
  m.def(
      "_set_error_factory",
      [](py::object fn) {
        Py_XDECREF(hp_py::g_from_code);
        hp_py::g_from_code = fn.release().ptr();
      },
      py::arg("factory"));

  py::class_<hp_py::Engine>(m, "Engine")
      .def(py::init<>())
      .def("close", &hp_py::Engine::close);

  hp_py::init_sticky(m);
  hp_py::init_host(m);
  hp_py::init_ua(m);
  hp_py::init_events(m);
  hp_py::init_geo(m);
  hp_py::init_recipes(m);
  hp_py::init_limits(m);
  hp_py::init_blobs(m);
  hp_py::init_observe(m);
}
