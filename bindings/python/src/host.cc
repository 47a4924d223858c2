// Host metrics: a snapshot now, and a CPU-load sample over a window, as a
// blocking call and with a callback for asyncio.
#include <memory>

#include "module.h"

namespace hp_py {

namespace {

py::dict to_dict(const hp_host_info &h) {
  py::dict d;
  d["free_mem"] = h.free_mem;
  d["total_mem"] = h.total_mem;
  d["used_mem"] = h.used_mem;
  d["mem_usage"] = h.mem_usage;
  d["os_type"] = h.os_type;
  d["up_time"] = h.up_time;
  d["cpu_model"] = h.cpu_model;
  d["num_cores"] = h.num_cores;
  d["cpu_speed"] = h.cpu_speed;
  d["mac"] = h.mac;
  d["cpu_load"] = h.cpu_load >= 0 ? py::object(py::float_(h.cpu_load)) : py::object(py::none());
  return d;
}

py::dict snapshot() {
  hp_host_info h = HP_HOST_INFO_INIT;
  check(hp_host_snapshot(&h));
  return to_dict(h);
}

py::dict sample(Engine &engine, uint32_t window_ms) {
  auto waiter = std::make_shared<Waiter<hp_host_info>>();
  auto *hold = new std::shared_ptr<Waiter<hp_host_info>>(waiter);
  int rc = hp_host_sample(
      engine.get(), window_ms,
      [](int status, const hp_host_info *h, void *data) {
        std::unique_ptr<std::shared_ptr<Waiter<hp_host_info>>> w(static_cast<std::shared_ptr<Waiter<hp_host_info>> *>(data));
        hp_host_info copy = HP_HOST_INFO_INIT;
        if (h) copy = *h;
        (*w)->set(status, copy, status < 0 ? hp_last_error() : "");
      },
      hold);
  if (rc < 0) {
    delete hold;
    raise_error(rc);
  }
  return to_dict(waiter->wait());
}

// fn(error, info) is called on the loop thread; asyncio wrappers hand it to
// their event loop with call_soon_threadsafe.
void sample_cb(Engine &engine, uint32_t window_ms, py::function fn) {
  auto *hold = new py::object(std::move(fn));
  int rc = hp_host_sample(
      engine.get(), window_ms,
      [](int status, const hp_host_info *h, void *data) {
        py::gil_scoped_acquire gil;
        std::unique_ptr<py::object> fn(static_cast<py::object *>(data));
        call_back(*fn, status, status < 0 ? hp_last_error() : nullptr, h ? py::object(to_dict(*h)) : py::object(py::none()));
      },
      hold);
  if (rc < 0) {
    delete hold;
    raise_error(rc);
  }
}

}  // namespace

void init_host(py::module_ &m) {
  m.def("host_snapshot", &snapshot);
  m.def("host_sample", &sample, py::arg("engine"), py::arg("window_ms"));
  m.def("host_sample_cb", &sample_cb, py::arg("engine"), py::arg("window_ms"), py::arg("callback"));
}

}  // namespace hp_py
