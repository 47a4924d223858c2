#include "recipes/value_end.h"

namespace hp::recipes {

namespace {

inline bool scalar_byte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '+' ||
         c == '-';
}

}  // namespace

const char *ValueEnd::scan(const char *start, const char *end) {
  const char *p = start + pos_;
  if (pos_ == 0 && p < end && *p != '{' && *p != '[' && *p != '"') {
    // A number or literal: ends before the first byte that is not part of one.
    while (p < end && scalar_byte(*p)) p++;
    if (p < end) return p;
    // Stay at 0 only when nothing was scanned, so active() tells.
    pos_ = static_cast<size_t>(p - start);
    return nullptr;
  }
  if (pos_ != 0 && depth_ == 0 && !in_string_) {
    // Resuming a scalar.
    while (p < end && scalar_byte(*p)) p++;
    pos_ = static_cast<size_t>(p - start);
    return p < end ? p : nullptr;
  }
  for (; p < end; p++) {
    char c = *p;
    if (in_string_) {
      if (escape_) {
        escape_ = false;
      } else if (c == '\\') {
        escape_ = true;
      } else if (c == '"') {
        in_string_ = false;
        if (depth_ == 0) return p + 1;  // a string on its own
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      depth_++;
    } else if ((c == '}' || c == ']') && depth_ > 0 && --depth_ == 0) {
      return p + 1;
    }
  }
  pos_ = static_cast<size_t>(p - start);
  return nullptr;
}

}  // namespace hp::recipes
