// Error codes and the thread-local last-error message.
#pragma once

#include <string>
#include <string_view>

#include "hotpath.h"

namespace hp::core {

// Sets this thread's last-error message and returns `code`, so a failure
// reads `return set_error(HP_EINVAL, "geo: ", ip, " is not an IP address");`.
// Never throws: out of memory for the text, the message says only that.
int set_error_text(int code, std::string text) noexcept;
int set_error_out_of_memory(int code) noexcept;

template <class... Parts>
int set_error(int code, const Parts &...parts) noexcept {
  try {
    std::string text;
    (text.append(std::string_view(parts)), ...);
    return set_error_text(code, std::move(text));
  } catch (...) {
    return set_error_out_of_memory(code);
  }
}

// Clears the message: a call that succeeds leaves "" behind.
void clear_error();

const char *last_error_text();

// A result code with its message, carried from the thread that failed (a
// pool job) to the one that reports it (the loop, in a callback).
struct Status {
  int code = 0;
  std::string message;
  // This thread's last failure, when `rc` is one.
  static Status capture(int rc) { return {rc, rc < 0 ? std::string(last_error_text()) : std::string()}; }
  // Makes the message this thread's last error again; returns the code.
  int raise() const { return code < 0 ? set_error_text(code, message) : code; }
};

}  // namespace hp::core
