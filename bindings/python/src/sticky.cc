// fingerprint32 and worker choice.
#include <string>
#include <string_view>
#include <vector>

#include "module.h"

namespace hp_py {

namespace {

// str is hashed as its UTF-8 bytes, bytes-like objects as they are.
uint32_t fingerprint32(py::handle data) {
  uint32_t out = 0;
  if (PyUnicode_Check(data.ptr())) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize(data.ptr(), &len);
    if (!s) throw py::error_already_set();
    check(hp_fingerprint32(&out, s, static_cast<size_t>(len)));
  } else {
    py::buffer_info buf = py::reinterpret_borrow<py::buffer>(data).request();
    check(hp_fingerprint32(&out, buf.ptr, static_cast<size_t>(buf.size * buf.itemsize)));
  }
  return out;
}

std::vector<uint32_t> fingerprint32_many(const std::vector<std::string> &items) {
  std::string all;
  std::vector<uint64_t> offsets{0};
  offsets.reserve(items.size() + 1);
  for (const auto &s : items) {
    all += s;
    offsets.push_back(all.size());
  }
  std::vector<uint32_t> out(items.size());
  check(hp_fingerprint32_many(out.data(), all.data(), offsets.data(), items.size()));
  return out;
}

uint32_t sticky_pick(std::string_view addr, uint32_t workers, int mode) {
  uint32_t out = 0;
  check(hp_sticky_pick(&out, addr.data(), addr.size(), workers, mode));
  return out;
}

}  // namespace

void init_sticky(py::module_ &m) {
  m.def("fingerprint32", &fingerprint32, py::arg("data"));
  m.def("fingerprint32_many", &fingerprint32_many, py::arg("items"));
  m.def("sticky_pick", &sticky_pick, py::arg("address"), py::arg("workers"), py::arg("mode"));
  m.attr("STICKY_MODULO") = static_cast<int>(HP_STICKY_MODULO);
  m.attr("STICKY_JUMP") = static_cast<int>(HP_STICKY_JUMP);
}

}  // namespace hp_py
