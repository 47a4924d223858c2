// File ids: 24 lowercase hex digits, like a GridFS ObjectId: 4 bytes of
// seconds since the epoch (ids sort roughly by creation) and 8 random bytes,
// so hosts sharing a Redis store never need to agree on a counter.
#pragma once

#include <string>
#include <string_view>

namespace hp::blobs {

std::string new_file_id();
bool valid_file_id(std::string_view id);

}  // namespace hp::blobs
