// The C boundary: no C++ exception crosses it.
#pragma once

#include <exception>
#include <new>

#include "core/error.h"

namespace hp::core {

// Runs `body` (returning int) and turns any escaping exception into an
// error code with a message naming `where`.
template <class Body>
int guard(const char *where, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return set_error(HP_ENOMEM, where, ": out of memory");
  } catch (const std::exception &ex) {
    return set_error(HP_EINTERNAL, where, ": ", ex.what());
  } catch (...) {
    return set_error(HP_EINTERNAL, where, ": unknown exception");
  }
}

}  // namespace hp::core
