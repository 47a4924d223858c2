#include "blobs/types.h"
#include "core/error.h"

namespace hp::blobs {

int corrupt_chunk(const std::string &id, uint64_t n, const char *what) {
  return core::set_error(HP_ECORRUPT, "blobs: file ", id, " chunk ", std::to_string(n), ": ", what);
}

}  // namespace hp::blobs
