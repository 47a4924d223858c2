// redis://[:password@]host[:port][/db] into connection settings.
#pragma once

#include <cstdint>
#include <string>

namespace hp::redis {

struct Address {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
};

// Returns 0 or HP_EINVAL with a message naming what is wrong.
int parse_url(const std::string &url, Address *out);

}  // namespace hp::redis
