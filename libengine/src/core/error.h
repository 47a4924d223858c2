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

}  // namespace hp::core
