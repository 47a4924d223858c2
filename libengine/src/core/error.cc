#include "core/error.h"

namespace hp::core {

namespace {
thread_local std::string last_error;
// Set instead of last_error when there was no memory for the message.
thread_local const char *fixed_error;
}  // namespace

int set_error_text(int code, std::string text) noexcept {
  last_error = std::move(text);
  fixed_error = nullptr;
  return code;
}

int set_error_out_of_memory(int code) noexcept {
  last_error.clear();
  fixed_error = "out of memory (while reporting another error)";
  return code;
}

void clear_error() {
  last_error.clear();
  fixed_error = nullptr;
}

const char *last_error_text() { return fixed_error ? fixed_error : last_error.c_str(); }

}  // namespace hp::core
