#include "core/error.h"

namespace hp::core {

namespace {
struct LastError {
  std::string text;
  int sys_errno = 0;
  std::string syscall;
  std::string path;
};
thread_local LastError last_error;
// Set instead of last_error.text when there was no memory for the message.
thread_local const char *fixed_error;
}  // namespace

int set_error_text(int code, std::string text) noexcept {
  last_error.text = std::move(text);
  last_error.sys_errno = 0;
  last_error.syscall.clear();
  last_error.path.clear();
  fixed_error = nullptr;
  return code;
}

int set_error_out_of_memory(int code) noexcept {
  last_error.text.clear();
  last_error.sys_errno = 0;
  fixed_error = "out of memory (while reporting another error)";
  return code;
}

int set_sys_error_text(int code, int sys_errno, const char *syscall, std::string path, std::string text) noexcept {
  try {
    last_error.syscall = syscall ? syscall : "";
    last_error.path = std::move(path);
  } catch (...) {
    return set_error_out_of_memory(code);
  }
  last_error.text = std::move(text);
  last_error.sys_errno = sys_errno;
  fixed_error = nullptr;
  return code;
}

void clear_error() { set_error_text(0, std::string()); }

const char *last_error_text() { return fixed_error ? fixed_error : last_error.text.c_str(); }

int last_errno(const char **syscall, const char **path) {
  if (syscall) *syscall = last_error.syscall.c_str();
  if (path) *path = last_error.path.c_str();
  return last_error.sys_errno;
}

Status Status::capture(int rc) {
  if (rc >= 0) return Status{rc, std::string(), 0, std::string(), std::string()};
  return Status{rc, last_error_text(), last_error.sys_errno, last_error.syscall, last_error.path};
}

int Status::raise() const {
  if (code >= 0) return code;
  if (sys_errno) return set_sys_error_text(code, sys_errno, syscall.c_str(), path, message);
  return set_error_text(code, message);
}

}  // namespace hp::core
