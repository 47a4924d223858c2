// Tracker events: client IP, the seed's consumer message, and EventLog (a
// batcher with a log-file sink). Appends keep the GIL (they never wait);
// flush and close release it while they wait.
#include <memory>
#include <string>

#include "module.h"
#include "observe.h"

namespace hp_py {

namespace {

hp_ua *g_events_ua = nullptr;  // the formatter's cached UA parser

struct Bytes {
  std::string s;
  const char *data() const { return s.empty() ? nullptr : s.data(); }
  size_t size() const { return s.size(); }
};

py::object client_ip(const std::string &push, const std::string &xff, const std::string &real,
                     const std::string &remote) {
  hp_events_request r = HP_EVENTS_REQUEST_INIT;
  r.push_ip = push.data();
  r.push_ip_len = push.size();
  r.forwarded_for = xff.data();
  r.forwarded_for_len = xff.size();
  r.real_ip = real.data();
  r.real_ip_len = real.size();
  r.remote_addr = remote.data();
  r.remote_addr_len = remote.size();
  const char *out = nullptr;
  size_t len = 0;
  check(hp_events_client_ip(&out, &len, &r));
  if (!out) return py::none();
  return py::str(out, len);
}

std::string ip_hex(const std::string &ip) {
  char out[HP_EVENTS_IP_HEX_MAX];
  int n = check(hp_events_ip_hex(out, sizeof out, ip.data(), ip.size()));
  return std::string(out, static_cast<size_t>(n));
}

hp_event make_event(const std::string &type, const std::string &query, const std::string &host, const std::string &ip,
                    const std::string &ua, const std::string &country, const std::string &city, int64_t received_ms,
                    int64_t processed_ms) {
  hp_event ev = HP_EVENT_INIT;
  ev.event_type = type.data();
  ev.event_type_len = type.size();
  ev.query = query.data();
  ev.query_len = query.size();
  ev.host = host.data();
  ev.host_len = host.size();
  ev.ip = ip.data();
  ev.ip_len = ip.size();
  ev.user_agent = ua.data();
  ev.user_agent_len = ua.size();
  ev.country = country.data();
  ev.country_len = country.size();
  ev.city = city.data();
  ev.city_len = city.size();
  ev.received_ms = received_ms;
  ev.processed_ms = processed_ms;
  return ev;
}

std::string format(const std::string &type, const std::string &query, const std::string &host, const std::string &ip,
                   const std::string &ua, const std::string &country, const std::string &city, int64_t received_ms,
                   int64_t processed_ms) {
  hp_event ev = make_event(type, query, host, ip, ua, country, city, received_ms, processed_ms);
  static thread_local char out[HP_EVENTS_MAX_MESSAGE];
  int n = check(hp_events_format(out, sizeof out, &ev, g_events_ua));
  return std::string(out, static_cast<size_t>(n));
}

// Waits for an hp_events_cb without the GIL.
int wait_cb(const std::function<int(hp_events_cb, void *)> &start) {
  auto waiter = std::make_shared<Waiter<int>>();
  auto *hold = new std::shared_ptr<Waiter<int>>(waiter);
  int rc = start(
      [](int status, void *data) {
        std::unique_ptr<std::shared_ptr<Waiter<int>>> w(static_cast<std::shared_ptr<Waiter<int>> *>(data));
        (*w)->set(status, status, status < 0 ? hp_last_error() : "");
      },
      hold);
  if (rc < 0) {
    delete hold;
    raise_error(rc);
  }
  return waiter->wait();
}

// fn(error, None) on the loop thread, for asyncio.
void start_cb(const std::function<int(hp_events_cb, void *)> &start, py::function fn) {
  auto *hold = new py::object(std::move(fn));
  int rc = start(
      [](int status, void *data) {
        py::gil_scoped_acquire gil;
        std::unique_ptr<py::object> f(static_cast<py::object *>(data));
        call_back(*f, status, status < 0 ? hp_last_error() : nullptr, py::none());
      },
      hold);
  if (rc < 0) {
    {
      py::gil_scoped_acquire gil;
      delete hold;
    }
    raise_error(rc);
  }
}

class EventLog {
 public:
  EventLog(Engine &engine, const std::string &path, uint32_t batch_events, uint32_t batch_ms, uint32_t max_pending,
           int fsync, uint32_t fsync_ms, uint64_t rotate_bytes, uint32_t keep_files) {
    hp_events_options o = HP_EVENTS_OPTIONS_INIT;
    o.batch_events = batch_events;
    o.batch_ms = batch_ms;
    o.max_pending = max_pending;
    hp_events_file_options f = HP_EVENTS_FILE_OPTIONS_INIT;
    f.fsync = fsync;
    f.fsync_ms = fsync_ms;
    f.rotate_bytes = rotate_bytes;
    f.keep_files = keep_files;
    check(hp_events_open_file(&b_, engine.get(), path.c_str(), &f, &o));
  }
  // The Redis-list sink.
  EventLog(Engine &engine, const std::string &url, uint32_t batch_events, uint32_t batch_ms, uint32_t max_pending,
           const std::string &key, uint32_t max_inflight, uint32_t connect_timeout_ms, uint32_t command_timeout_ms) {
    hp_events_options o = HP_EVENTS_OPTIONS_INIT;
    o.batch_events = batch_events;
    o.batch_ms = batch_ms;
    o.max_pending = max_pending;
    hp_events_redis_options r = HP_EVENTS_REDIS_OPTIONS_INIT;
    r.key = key.c_str();
    r.max_inflight = max_inflight;
    r.connect_timeout_ms = connect_timeout_ms;
    r.command_timeout_ms = command_timeout_ms;
    check(hp_events_open_redis(&b_, engine.get(), url.c_str(), &r, &o));
    redis_ = true;
  }
  ~EventLog() {
    if (b_) hp_events_close(b_, nullptr, nullptr);
  }

  void push(py::handle msg) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize(msg.ptr(), &len);
    if (!s) throw py::error_already_set();
    check(hp_events_push(get(), s, static_cast<size_t>(len)));
  }

  int append(const std::string &type, const std::string &query, const std::string &host, const std::string &ip,
             const std::string &ua, const std::string &country, const std::string &city, int64_t received_ms,
             int64_t processed_ms) {
    hp_event ev = make_event(type, query, host, ip, ua, country, city, received_ms, processed_ms);
    return check(hp_events_append(get(), &ev, g_events_ua));
  }

  void flush() {
    hp_events *b = get();
    wait_cb([b](hp_events_cb cb, void *data) { return hp_events_flush(b, cb, data); });
  }

  void flush_cb(py::function fn) {
    hp_events *b = get();
    start_cb([b](hp_events_cb cb, void *data) { return hp_events_flush(b, cb, data); }, std::move(fn));
  }

  py::dict stats() {
    hp_events_stats s = HP_EVENTS_STATS_INIT;
    check(hp_events_stats_get(&s, get()));
    py::dict d;
    d["appended"] = s.appended;
    d["written"] = s.written;
    d["dropped"] = s.dropped;
    d["pending"] = s.pending;
    d["batches"] = s.batches;
    d["errors"] = s.errors;
    d["rotations"] = s.rotations;
    d["redis"] = redis_stats_dict(s.redis, redis_);
    return d;
  }

  void close() {
    hp_events *b = b_;
    if (!b) return;  // closing twice is a no-op
    b_ = nullptr;
    wait_cb([b](hp_events_cb cb, void *data) { return hp_events_close(b, cb, data); });
  }

  void close_cb(py::function fn) {
    hp_events *b = b_;
    if (!b) raise_error(HP_ECLOSED, "events: the log is closed");
    b_ = nullptr;
    start_cb([b](hp_events_cb cb, void *data) { return hp_events_close(b, cb, data); }, std::move(fn));
  }

  bool closed() const { return b_ == nullptr; }

 private:
  hp_events *get() {
    if (!b_) raise_error(HP_ECLOSED, "events: the log is closed");
    return b_;
  }
  hp_events *b_ = nullptr;
  bool redis_ = false;  // a Redis list sink: stats() has its client's figures
};

}  // namespace

void init_events(py::module_ &m) {
  hp_ua_options uo = HP_UA_OPTIONS_INIT;
  uo.cache_entries = 1024;
  check(hp_ua_new(&g_events_ua, &uo));
  m.attr("_events_ua_parser") = py::capsule(g_events_ua, [](void *p) {
    hp_ua_close(static_cast<hp_ua *>(p), nullptr, nullptr);
    if (g_events_ua == p) g_events_ua = nullptr;
  });
  m.def("events_client_ip", &client_ip, py::arg("push_ip"), py::arg("forwarded_for"), py::arg("real_ip"),
        py::arg("remote_addr"));
  m.def("events_ip_hex", &ip_hex, py::arg("ip"));
  m.def("events_format", &format, py::arg("event_type"), py::arg("query"), py::arg("host"), py::arg("ip"),
        py::arg("user_agent"), py::arg("country"), py::arg("city"), py::arg("received_ms"), py::arg("processed_ms"));
  m.attr("EVENTS_FSYNC_NONE") = static_cast<int>(HP_EVENTS_FSYNC_NONE);
  m.attr("EVENTS_FSYNC_BATCH") = static_cast<int>(HP_EVENTS_FSYNC_BATCH);
  m.attr("EVENTS_FSYNC_INTERVAL") = static_cast<int>(HP_EVENTS_FSYNC_INTERVAL);
  py::class_<EventLog>(m, "EventLog")
      .def(py::init<Engine &, const std::string &, uint32_t, uint32_t, uint32_t, int, uint32_t, uint64_t, uint32_t>(),
           py::arg("engine"), py::arg("path"), py::arg("batch_events"), py::arg("batch_ms"), py::arg("max_pending"),
           py::arg("fsync"), py::arg("fsync_ms"), py::arg("rotate_bytes"), py::arg("keep_files"))
      .def_static(
          "redis",
          [](Engine &engine, const std::string &url, uint32_t batch_events, uint32_t batch_ms, uint32_t max_pending,
             const std::string &key, uint32_t max_inflight, uint32_t connect_timeout_ms, uint32_t command_timeout_ms) {
            return std::make_unique<EventLog>(engine, url, batch_events, batch_ms, max_pending, key, max_inflight,
                                              connect_timeout_ms, command_timeout_ms);
          },
          py::arg("engine"), py::arg("url"), py::arg("batch_events"), py::arg("batch_ms"), py::arg("max_pending"),
          py::arg("key"), py::arg("max_inflight"), py::arg("connect_timeout_ms"), py::arg("command_timeout_ms"))
      .def("push", &EventLog::push, py::arg("message"))
      .def("append", &EventLog::append, py::arg("event_type"), py::arg("query"), py::arg("host"), py::arg("ip"),
           py::arg("user_agent"), py::arg("country"), py::arg("city"), py::arg("received_ms"), py::arg("processed_ms"))
      .def("flush", &EventLog::flush)
      .def("flush_cb", &EventLog::flush_cb, py::arg("callback"))
      .def("stats", &EventLog::stats)
      .def("close", &EventLog::close)
      .def("close_cb", &EventLog::close_cb, py::arg("callback"))
      .def_property_readonly("closed", &EventLog::closed);
}

}  // namespace hp_py
