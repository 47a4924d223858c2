#include "core/error.h"

namespace hp::core {

namespace {
thread_local std::string last_error;
}

int set_error_text(int code, std::string text) {
  last_error = std::move(text);
  return code;
}

void clear_error() { last_error.clear(); }

const char *last_error_text() { return last_error.c_str(); }

}  // namespace hp::core
