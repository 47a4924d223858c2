// Shared pieces of the _hotpath module: errors and waiting on callbacks.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "hotpath.h"

namespace hp_py {

namespace py = pybind11;

// The system error of this thread's last failure (hp_last_errno), kept to
// raise later on another thread.
struct SysError {
  int number = 0;
  std::string syscall, path;
  static SysError last() {
    const char *syscall = "";
    const char *path = "";
    int n = hp_last_errno(&syscall, &path);
    return SysError{n, syscall, path};
  }
};

// Raises the hotpath.errors class for `code` with hp_last_error() (or
// `detail`) as message: with `sys` (or, for this thread's own last failure,
// hp_last_errno()) an I/O error is the OSError subclass of its errno.
// Never returns.
[[noreturn]] void raise_error(int code, const char *detail = nullptr, const SysError *sys = nullptr);

// Raises when rc < 0; returns rc otherwise.
inline int check(int rc) {
  if (rc < 0) raise_error(rc);
  return rc;
}

// A handle that Python threads call with the GIL released. Python code may
// close it meanwhile: close() refuses new calls at once (get() is NULL) and
// hands the C close to the last call still running, so hp_*_close never
// frees the handle under one. Every member is touched with the GIL held.
template <class H, int (*Close)(H *, hp_close_cb, void *)>
class PinnedHandle {
 public:
  PinnedHandle() = default;
  PinnedHandle(const PinnedHandle &) = delete;
  PinnedHandle &operator=(const PinnedHandle &) = delete;
  ~PinnedHandle() { close(); }

  H *get() const { return h_; }
  void set(H *h) { h_ = h; }
  void close() {
    if (!h_) return;
    closing_ = h_;
    h_ = nullptr;
    if (busy_ == 0) finish();
  }

  // Made before the GIL is released and destroyed after it is taken again
  // (declare it before the py::gil_scoped_release).
  class Pin {
   public:
    explicit Pin(PinnedHandle &p) : p_(p) { p_.busy_++; }
    ~Pin() {
      if (--p_.busy_ == 0 && p_.closing_) p_.finish();
    }
    Pin(const Pin &) = delete;
    Pin &operator=(const Pin &) = delete;

   private:
    PinnedHandle &p_;
  };

 private:
  void finish() {
    H *h = closing_;
    closing_ = nullptr;
    Close(h, nullptr, nullptr);
  }
  H *h_ = nullptr;
  H *closing_ = nullptr;
  int busy_ = 0;
};

// The engine behind the Python API: an owned loop on one background thread.
class Engine {
 public:
  Engine();
  ~Engine();
  hp_engine *get();  // raises ClosedError once closed
  void close();      // blocks (without the GIL) until pending work is done

 private:
  hp_engine *engine_ = nullptr;
};

// The outcome of one asynchronous call, filled on the loop thread and
// waited for on a Python thread without the GIL.
template <class T>
class Waiter {
 public:
  // Called in the C callback, where hp_last_errno() is that call's.
  void set(int status, T value, std::string error) {
    SysError sys = status < 0 ? SysError::last() : SysError{};
    std::lock_guard<std::mutex> lock(mu_);
    sys_ = std::move(sys);
    status_ = status;
    value_ = std::move(value);
    error_ = std::move(error);
    done_ = true;
    cv_.notify_all();
  }
  // Blocks without the GIL; raises on failure.
  T wait() {
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return done_; });
    }
    if (status_ < 0) raise_error(status_, error_.c_str(), &sys_);
    return std::move(*value_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  int status_ = 0;
  std::optional<T> value_;
  std::string error_;
  SysError sys_;
};

// Calls a Python callable from the loop thread as fn(error, value): error is
// an exception instance or None. Takes the GIL; holds no engine lock.
void call_back(const py::object &fn, int status, const char *detail, py::object value);

void init_sticky(py::module_ &m);
void init_host(py::module_ &m);
void init_ua(py::module_ &m);
void init_events(py::module_ &m);
void init_geo(py::module_ &m);
void init_recipes(py::module_ &m);
void init_limits(py::module_ &m);
void init_blobs(py::module_ &m);

}  // namespace hp_py
