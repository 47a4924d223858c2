// Observability for Python: the stats dicts of every handle kind, and the
// engine's background events handed to hotpath._log, which logs them on
// the "hotpath" logger.
#include "observe.h"

#include <atomic>
#include <initializer_list>
#include <utility>

namespace hp_py {

namespace {

// Cleared by hotpath._log at exit (atexit runs before the interpreter
// finalizes): an event after it is not logged.
std::atomic<bool> logging_on{true};

// Runs on the engine's loop thread, which holds no hotpath lock here, so
// taking the GIL cannot deadlock against a Python thread inside an hp_*
// call (those release the GIL before they wait on the loop).
void on_event(const hp_engine_event *ev, void *) {
  if (!logging_on.load(std::memory_order_acquire) || !Py_IsInitialized() || finalizing()) return;
  py::gil_scoped_acquire gil;
  try {
    py::module_::import("hotpath._log")
        .attr("emit")(hp_event_kind_name(ev->kind), hp_handle_kind_name(ev->handle_kind), ev->status,
                      ev->status < 0 ? py::object(py::str(hp_err_name(ev->status))) : py::object(py::none()),
                      py::str(ev->message), py::str(ev->source));
  } catch (py::error_already_set &err) {
    err.discard_as_unraisable("hotpath event");
  }
}

// {name: count, ..., "redis": ...}: the shape of the limiter's and the store's stats.
py::dict counters(std::initializer_list<std::pair<const char *, uint64_t>> counts, py::object redis) {
  py::dict d;
  for (auto &[name, n] : counts) d[name] = n;
  d["redis"] = std::move(redis);
  return d;
}

}  // namespace

bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

void watch_events(hp_engine *e) { hp_engine_set_event_cb(e, on_event, nullptr); }

py::object redis_stats_dict(const hp_redis_stats &r, bool present) {
  if (!present) return py::none();
  py::dict d;
  d["commands"] = r.commands;
  d["in_flight"] = r.in_flight;
  d["timeouts"] = r.timeouts;
  d["disconnects"] = r.disconnects;
  d["reconnects"] = r.reconnects;
  d["connected"] = r.connected;
  return d;
}

py::dict geo_stats_dict(const hp_geo_stats &s) {
  py::dict d;
  d["lookups"] = s.lookups;
  d["cache_hits"] = s.cache_hits;
  d["cache_misses"] = s.cache_misses;
  d["reloads"] = s.reloads;
  d["reload_failures"] = s.reload_failures;
  d["generation"] = s.generation;
  d["last_reload_at"] = s.last_reload_at_ms ? py::object(py::int_(s.last_reload_at_ms)) : py::object(py::none());
  if (s.last_reload_error < 0) {
    py::dict err;
    err["code"] = hp_err_name(s.last_reload_error);
    err["message"] = py::str(s.last_reload_message);
    d["last_reload_error"] = err;
  } else {
    d["last_reload_error"] = py::none();
  }
  return d;
}

py::dict limiter_stats_dict(const hp_limiter_stats &s, bool redis) {
  return counters({{"checks", s.checks}, {"granted", s.granted}, {"denied", s.denied}, {"store_errors", s.store_errors}},
                  redis_stats_dict(s.redis, redis));
}

py::dict blobs_stats_dict(const hp_blobs_stats &s, bool redis) {
  return counters({{"bytes_in", s.bytes_in}, {"bytes_out", s.bytes_out}, {"commits", s.commits},
                   {"corrupt_reads", s.corrupt_reads}},
                  redis_stats_dict(s.redis, redis));
}

void init_observe(py::module_ &m) {
  m.def("stop_event_logging", [] { logging_on.store(false, std::memory_order_release); });
}

}  // namespace hp_py
