// Finds where one JSON value ends in input that arrives in pieces, without
// parsing it: the loader runs it over an array item that did not fit in the
// buffer, so each byte of a large item is looked at once while it streams
// in, and the item is parsed (and validated) once it is complete.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::recipes {

class ValueEnd {
 public:
  // Scans [start + scanned(), end), where `start` is the value's first byte
  // (the same value as before; the buffer may have moved). Returns the
  // value's end (one past its last byte) once known, else nullptr: read
  // more and call again. A scalar ends at the first byte that cannot
  // continue it, so it needs that byte to be present.
  const char *scan(const char *start, const char *end);
  size_t scanned() const { return pos_; }
  bool active() const { return pos_ != 0; }
  void reset() { *this = ValueEnd(); }

 private:
  size_t pos_ = 0;
  uint64_t depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

}  // namespace hp::recipes
