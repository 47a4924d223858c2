// SHA-1 of a Lua script: the name Redis gives it for EVALSHA.
#pragma once

#include <string>
#include <string_view>

namespace hp::redis {

// Lower-case hex SHA-1 (FIPS 180-4) of `data`.
std::string sha1_hex(std::string_view data);

}  // namespace hp::redis
