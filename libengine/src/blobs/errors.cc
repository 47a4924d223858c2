#include "blobs/types.h"
#include "core/error.h"

namespace hp::blobs {

int corrupt_chunk(const std::string &id, uint64_t n, const char *what) {
  return core::set_error(HP_ECORRUPT, "blobs: file ", id, " chunk ", std::to_string(n), ": ", what);
}

int range_too_long(const FileInfo &f, uint64_t bytes, uint64_t max_bytes) {
  return core::set_error(HP_ELIMIT, "blobs_get: the range holds ", std::to_string(bytes), " bytes (file ",
                         f.id, " of ", std::to_string(f.length), "), more than the ",
                         std::to_string(max_bytes), " allowed");
}

}  // namespace hp::blobs
