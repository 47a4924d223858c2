// Error codes and the thread-local last-error message.
#pragma once

#include <string>
#include <string_view>

#include "hotpath.h"

namespace hp::core {

// Sets this thread's last-error message and returns `code`, so a failure
// reads `return set_error(HP_EINVAL, "geo: ", ip, " is not an IP address");`.
// It clears the system error of hp_last_errno(). Never throws: out of
// memory for the text, the message says only that.
int set_error_text(int code, std::string text) noexcept;
int set_error_out_of_memory(int code) noexcept;

// The parts of a message, joined (may throw std::bad_alloc).
template <class... Parts>
std::string join_parts(const Parts &...parts) {
  std::string text;
  (text.append(std::string_view(parts)), ...);
  return text;
}

template <class... Parts>
int set_error(int code, const Parts &...parts) noexcept {
  try {
    return set_error_text(code, join_parts(parts...));
  } catch (...) {
    return set_error_out_of_memory(code);
  }
}

// A failed system call: sets the message as set_error() does and keeps
// `sys_errno`, the call's name ("open") and the path for hp_last_errno(),
// so the bindings can raise what their platform raises (ENOENT,
// FileNotFoundError). Returns `code` (HP_EIO, or HP_ENOTFOUND where a
// missing file is an expected answer).
int set_sys_error_text(int code, int sys_errno, const char *syscall, std::string path, std::string text) noexcept;

template <class... Parts>
int set_sys_error(int code, int sys_errno, const char *syscall, const std::string &path,
                  const Parts &...parts) noexcept {
  try {
    return set_sys_error_text(code, sys_errno, syscall, path, join_parts(parts...));
  } catch (...) {
    return set_error_out_of_memory(code);
  }
}

// Clears the message: a call that succeeds leaves "" behind.
void clear_error();

const char *last_error_text();
// The system error behind this thread's last failure (0 when none); see
// hp_last_errno().
int last_errno(const char **syscall, const char **path);

// A result code with its message and system error, carried from the thread
// that failed (a pool job) to the one that reports it (the loop, in a
// callback).
struct Status {
  int code = 0;
  std::string message;
  int sys_errno = 0;
  std::string syscall;
  std::string path;
  // This thread's last failure, when `rc` is one.
  static Status capture(int rc);
  // Makes the message (and system error) this thread's last error again;
  // returns the code.
  int raise() const;
};

}  // namespace hp::core
