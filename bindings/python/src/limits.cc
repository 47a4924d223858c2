// Limiters. Memory checks keep the GIL (they take well under a
// microsecond); SQLite and Redis checks release it (a synchronous Redis
// call blocks in C until the engine's loop has its answer); every *_cb
// variant, for asyncio, runs on the engine's loop and reports back.
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "module.h"
#include "observe.h"

namespace hp_py {

namespace {

using Row = std::tuple<std::string, uint64_t, uint64_t>;

// Everything one call can produce, copied out of the C callback.
struct Result {
  int code = 0;
  hp_lease_result lease = HP_LEASE_RESULT_INIT;
  std::vector<Row> rows;
  hp_rate_result rate = HP_RATE_RESULT_INIT;
};

enum class Kind { Lease, Bool, Holders, Rate, None };

std::vector<Row> copy_rows(const hp_lease_info *h, size_t n) {
  std::vector<Row> v;
  v.reserve(n);
  for (size_t i = 0; i < n; i++) v.emplace_back(h[i].resource, h[i].lease_id, h[i].expires_in_ms);
  return v;
}

// A list from a synchronous call, freed when the scope ends.
using LeaseList = std::unique_ptr<hp_lease_list, decltype(&hp_lease_list_free)>;

py::list rows_to_py(const std::vector<Row> &rows) {
  py::list l;
  for (auto &[res, id, left] : rows) {
    py::dict d;
    d["resource"] = res;
    d["lease_id"] = id;
    d["expires_in_ms"] = left;
    l.append(d);
  }
  return l;
}

// Interned once and kept for the life of the process (never released: a
// static py::object would be freed after the interpreter is gone).
PyObject *key(const char *name) {
  PyObject *k = PyUnicode_InternFromString(name);
  if (!k) throw py::error_already_set();
  return k;
}

// Sets d[k] = v and drops the reference to v.
void put(PyObject *d, PyObject *k, PyObject *v) {
  if (!v || PyDict_SetItem(d, k, v) != 0) {
    Py_XDECREF(v);
    throw py::error_already_set();
  }
  Py_DECREF(v);
}

py::dict lease_to_py(const hp_lease_result &r, const std::vector<Row> &holders) {
  static PyObject *const status = key("status"), *const ok = key("ok"), *const count = key("count"),
                         *const lease_id = key("lease_id"), *const holders_key = key("holders");
  static PyObject *const missing = key("missing");
  static PyObject *const names[] = {key("granted"), key("already_held"), key("denied"), key("not_member")};
  auto d = py::reinterpret_steal<py::dict>(PyDict_New());
  if (!d) throw py::error_already_set();
  PyObject *name =
      names[r.status >= HP_LEASE_GRANTED && r.status <= HP_LEASE_NOT_MEMBER ? r.status : HP_LEASE_DENIED];
  Py_INCREF(name);
  put(d.ptr(), status, name);
  put(d.ptr(), ok, PyBool_FromLong(r.status == HP_LEASE_GRANTED || r.status == HP_LEASE_ALREADY_HELD));
  if (r.status == HP_LEASE_NOT_MEMBER) {
    put(d.ptr(), missing, PyLong_FromUnsignedLong(r.missing));
  } else {
    Py_INCREF(Py_None);
    put(d.ptr(), missing, Py_None);
  }
  put(d.ptr(), count, PyLong_FromUnsignedLong(r.count));
  put(d.ptr(), lease_id, PyLong_FromUnsignedLongLong(r.lease_id));
  put(d.ptr(), holders_key, holders.empty() ? PyList_New(0) : rows_to_py(holders).release().ptr());
  return d;
}

// Built with the C API and interned keys: the per-hit cost in Python is
// mostly this dict.
py::dict rate_to_py(const hp_rate_result &r) {
  static PyObject *const allowed = key("allowed"), *const remaining = key("remaining"),
                         *const retry = key("retry_after_ms"), *const reset = key("reset_after_ms");
  auto d = py::reinterpret_steal<py::dict>(PyDict_New());
  if (!d) throw py::error_already_set();
  put(d.ptr(), allowed, PyBool_FromLong(r.allowed != 0));
  put(d.ptr(), remaining, PyLong_FromUnsignedLong(r.remaining));
  put(d.ptr(), retry, PyLong_FromUnsignedLongLong(r.retry_after_ms));
  put(d.ptr(), reset, PyLong_FromUnsignedLongLong(r.reset_after_ms));
  return d;
}

py::object to_py(Kind kind, const Result &r) {
  switch (kind) {
    case Kind::Lease:
      return lease_to_py(r.lease, r.rows);
    case Kind::Bool:
      return py::bool_(r.code > 0);
    case Kind::Holders:
      return rows_to_py(r.rows);
    case Kind::Rate:
      return rate_to_py(r.rate);
    default:
      return py::none();
  }
}

// Where a callback's result goes: a blocked Python thread or a Python
// callable (asyncio).
struct Sink {
  Kind kind;
  std::shared_ptr<Waiter<Result>> waiter;
  py::object fn;  // touched only with the GIL

  void done(int status, Result r) {
    r.code = status;
    if (waiter) {
      waiter->set(status, std::move(r), status < 0 ? hp_last_error() : "");
      return;
    }
    std::string err = status < 0 ? hp_last_error() : "";
    py::gil_scoped_acquire gil;
    call_back(fn, status, status < 0 ? err.c_str() : nullptr, status < 0 ? py::object(py::none()) : to_py(kind, r));
    fn = py::object();
  }
};

void on_lease(int status, const hp_lease_result *r, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Result out;
  if (r) {
    out.lease = *r;
    out.lease.holders = nullptr;  // borrowed: copied into rows
    if (r->holders) out.rows = copy_rows(r->holders->items, r->holders->count);
  }
  s->done(status, std::move(out));
}
void on_code(int status, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  s->done(status, Result{});
}
void on_holders(int status, const hp_lease_info *h, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Result out;
  if (status > 0) out.rows = copy_rows(h, static_cast<size_t>(status));
  s->done(status, std::move(out));
}
void on_rate(int status, const hp_rate_result *r, void *data) {
  std::unique_ptr<Sink> s(static_cast<Sink *>(data));
  Result out;
  if (r) out.rate = *r;
  s->done(status, std::move(out));
}

// An acquire's requirements, from Python's [(set, member), ...] (checked
// in hotpath/limits.py); the options borrow the strings of `pairs`.
class Requirements {
 public:
  explicit Requirements(const std::vector<std::pair<std::string, std::string>> &pairs) : pairs_(pairs) {
    if (pairs_.size() > HP_LEASE_REQUIRE_MAX) raise_error(HP_EINVAL, "limits: at most 8 requirements");
    for (const auto &[set, member] : pairs_) c_.push_back(hp_lease_require{set.c_str(), member.c_str()});
    opts_.require = c_.data();
    opts_.require_count = c_.size();
  }
  const hp_lease_options *get() const { return c_.empty() ? nullptr : &opts_; }

 private:
  const std::vector<std::pair<std::string, std::string>> &pairs_;
  std::vector<hp_lease_require> c_;
  hp_lease_options opts_ = HP_LEASE_OPTIONS_INIT;
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

hp_rate_spec rate_spec(uint32_t rate, uint64_t period_ms, uint32_t burst, uint32_t cost) {
  hp_rate_spec s = HP_RATE_SPEC_INIT;
  s.rate = rate;
  s.period_ms = period_ms;
  s.burst = burst;
  s.cost = cost;
  return s;
}

class Limiter {
 public:
  Limiter(Engine &engine, const std::string &spec, uint32_t timeout_ms, const std::string &prefix,
          bool inline_, uint32_t local_budget, uint32_t local_hold_ms) {
    hp_limiter_options o = HP_LIMITER_OPTIONS_INIT;
    o.timeout_ms = timeout_ms;
    o.prefix = prefix.c_str();
    o.sqlite_inline = inline_ ? 1 : 0;
    o.local_budget = local_budget;
    o.local_hold_ms = local_hold_ms;
    local_ = local_budget > 0;
    hp_engine *e = engine.get();
    int rc;
    hp_limiter *l = nullptr;
    {
      py::gil_scoped_release release;
      rc = hp_limiter_open(&l, e, spec.c_str(), &o);
    }
    check(rc);
    ref_.set(l);
    kind_ = hp_limiter_backend(l);
  }

  std::string backend() {
    handle();
    return kind_ == HP_BACKEND_MEMORY ? "memory" : kind_ == HP_BACKEND_SQLITE ? "sqlite" : "redis";
  }
  void close() { ref_.close(); }
  bool closed() const { return ref_.get() == nullptr; }
  py::dict stats() {
    hp_limiter_stats s = HP_LIMITER_STATS_INIT;
    check(hp_limiter_stats_get(&s, handle()));
    return limiter_stats_dict(s, kind_ == HP_BACKEND_REDIS);
  }

  // Blocking calls, one C call each: memory with the GIL, SQLite and
  // Redis without it (Redis waits for the engine's thread, never this one).
  py::dict acquire(const std::string &sub, const std::string &res, uint32_t limit, uint64_t ttl,
                   const Pairs &require) {
    hp_limiter *l = handle();
    Requirements req(require);
    hp_lease_result r = HP_LEASE_RESULT_INIT;
    check(sync([&] { return hp_limiter_acquire(&r, l, sub.c_str(), res.c_str(), limit, ttl, req.get()); }));
    LeaseList holders(r.holders, hp_lease_list_free);
    return lease_to_py(r, holders ? copy_rows(holders->items, holders->count) : std::vector<Row>());
  }
  bool release(const std::string &sub, const std::string &res) {
    hp_limiter *l = handle();
    return check(sync([&] { return hp_limiter_release(l, sub.c_str(), res.c_str()); })) > 0;
  }
  bool renew(const std::string &sub, const std::string &res, uint64_t ttl) {
    hp_limiter *l = handle();
    return check(sync([&] { return hp_limiter_renew(l, sub.c_str(), res.c_str(), ttl); })) > 0;
  }
  py::list holders(const std::string &sub) {
    hp_limiter *l = handle();
    hp_lease_list *h = nullptr;
    check(sync([&] { return hp_limiter_holders(&h, l, sub.c_str()); }));
    LeaseList list(h, hp_lease_list_free);
    return rows_to_py(copy_rows(list->items, list->count));
  }
  py::dict hit(const std::string &key, uint32_t rate, uint64_t period_ms, uint32_t burst, uint32_t cost) {
    hp_limiter *l = handle();
    hp_rate_spec spec = rate_spec(rate, period_ms, burst, cost);
    hp_rate_result r = HP_RATE_RESULT_INIT;
    // A local budget decides most hits at once, with the GIL held.
    if (local_ && check(hp_limiter_hit_local(&r, l, key.c_str(), &spec)) > 0) return rate_to_py(r);
    check(sync([&] { return hp_limiter_hit(&r, l, key.c_str(), &spec); }));
    return rate_to_py(r);
  }
  // The hit decided here and now, or None when it needs Redis.
  py::object hit_local(const std::string &key, uint32_t rate, uint64_t period_ms, uint32_t burst,
                       uint32_t cost) {
    hp_rate_spec spec = rate_spec(rate, period_ms, burst, cost);
    hp_rate_result r = HP_RATE_RESULT_INIT;
    if (check(hp_limiter_hit_local(&r, handle(), key.c_str(), &spec)) == 0) return py::none();
    return rate_to_py(r);
  }
  bool set_add(const std::string &set, const std::string &member) {
    hp_limiter *l = handle();
    return check(sync([&] { return hp_limiter_set_add(l, set.c_str(), member.c_str()); })) > 0;
  }
  bool set_has(const std::string &set, const std::string &member) {
    hp_limiter *l = handle();
    return check(sync([&] { return hp_limiter_set_has(l, set.c_str(), member.c_str()); })) > 0;
  }
  void ping() {
    hp_limiter *l = handle();
    run(Kind::None, [&](Sink *s) { return hp_limiter_ping_async(l, on_code, s); });
  }

  // Callback variants for asyncio: fn(error, value) on the loop thread.
  void acquire_cb(const std::string &sub, const std::string &res, uint32_t limit, uint64_t ttl,
                  const Pairs &require, py::function fn) {
    hp_limiter *l = handle();
    Requirements req(require);
    start(Kind::Lease, fn, [&](Sink *s) {
      return hp_limiter_acquire_async(l, sub.c_str(), res.c_str(), limit, ttl, req.get(), on_lease, s);
    });
  }
  void release_cb(const std::string &sub, const std::string &res, py::function fn) {
    hp_limiter *l = handle();
    start(Kind::Bool, fn, [&](Sink *s) { return hp_limiter_release_async(l, sub.c_str(), res.c_str(), on_code, s); });
  }
  void renew_cb(const std::string &sub, const std::string &res, uint64_t ttl, py::function fn) {
    hp_limiter *l = handle();
    start(Kind::Bool, fn,
          [&](Sink *s) { return hp_limiter_renew_async(l, sub.c_str(), res.c_str(), ttl, on_code, s); });
  }
  void holders_cb(const std::string &sub, py::function fn) {
    hp_limiter *l = handle();
    start(Kind::Holders, fn, [&](Sink *s) { return hp_limiter_holders_async(l, sub.c_str(), on_holders, s); });
  }
  void hit_cb(const std::string &key, uint32_t rate, uint64_t period_ms, uint32_t burst, uint32_t cost,
              py::function fn) {
    hp_limiter *l = handle();
    hp_rate_spec spec = rate_spec(rate, period_ms, burst, cost);
    start(Kind::Rate, fn, [&](Sink *s) { return hp_limiter_hit_async(l, key.c_str(), &spec, on_rate, s); });
  }
  void set_add_cb(const std::string &set, const std::string &member, py::function fn) {
    hp_limiter *l = handle();
    start(Kind::Bool, fn,
          [&](Sink *s) { return hp_limiter_set_add_async(l, set.c_str(), member.c_str(), on_code, s); });
  }
  void set_has_cb(const std::string &set, const std::string &member, py::function fn) {
    hp_limiter *l = handle();
    start(Kind::Bool, fn,
          [&](Sink *s) { return hp_limiter_set_has_async(l, set.c_str(), member.c_str(), on_code, s); });
  }
  void ping_cb(py::function fn) {
    hp_limiter *l = handle();
    start(Kind::None, fn, [&](Sink *s) { return hp_limiter_ping_async(l, on_code, s); });
  }

 private:
  hp_limiter *handle() {
    hp_limiter *l = ref_.get();
    if (!l) raise_error(HP_ECLOSED, "limits: the limiter is closed");
    return l;
  }

  template <class F>
  int sync(F &&f) {
    if (kind_ == HP_BACKEND_MEMORY) return f();
    // SQLite waits on its lock and Redis for its answer without the GIL; a
    // close meanwhile waits for the call.
    Ref::Pin pin(ref_);
    py::gil_scoped_release release;
    return f();
  }

  template <class Start>
  py::object run(Kind kind, Start &&begin) {
    auto waiter = std::make_shared<Waiter<Result>>();
    auto *s = new Sink{kind, waiter, py::object()};
    int rc = begin(s);
    if (rc < 0) {
      delete s;
      raise_error(rc);
    }
    Result r = waiter->wait();
    return to_py(kind, r);
  }

  template <class Start>
  void start(Kind kind, py::function fn, Start &&begin) {
    auto *s = new Sink{kind, nullptr, std::move(fn)};
    int rc = begin(s);
    if (rc < 0) {
      delete s;
      raise_error(rc);
    }
  }

  using Ref = PinnedHandle<hp_limiter, hp_limiter_close>;
  Ref ref_;
  int kind_ = 0;
  bool local_ = false;
};

}  // namespace

void init_limits(py::module_ &m) {
  py::class_<Limiter>(m, "Limiter")
      .def(py::init<Engine &, const std::string &, uint32_t, const std::string &, bool, uint32_t, uint32_t>(),
           py::arg("engine"), py::arg("spec"), py::arg("timeout_ms"), py::arg("prefix"),
           py::arg("sqlite_inline"), py::arg("local_budget") = 0, py::arg("local_hold_ms") = 0)
      .def("backend", &Limiter::backend)
      .def("stats", &Limiter::stats)
      .def("close", &Limiter::close)
      .def_property_readonly("closed", &Limiter::closed)
      .def("acquire", &Limiter::acquire)
      .def("release", &Limiter::release)
      .def("renew", &Limiter::renew)
      .def("holders", &Limiter::holders)
      .def("hit", &Limiter::hit)
      .def("hit_local", &Limiter::hit_local)
      .def("set_add", &Limiter::set_add)
      .def("set_has", &Limiter::set_has)
      .def("ping", &Limiter::ping)
      .def("acquire_cb", &Limiter::acquire_cb)
      .def("release_cb", &Limiter::release_cb)
      .def("renew_cb", &Limiter::renew_cb)
      .def("holders_cb", &Limiter::holders_cb)
      .def("hit_cb", &Limiter::hit_cb)
      .def("set_add_cb", &Limiter::set_add_cb)
      .def("set_has_cb", &Limiter::set_has_cb)
      .def("ping_cb", &Limiter::ping_cb);
}

}  // namespace hp_py
