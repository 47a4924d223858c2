// Redis URLs into connection settings:
//   redis://[[user]:password@]host[:port][/db]
//   unix:///path/redis.sock[?db=N]   redis+unix://[[user]:password@]/path[?db=N]
//   redis+cluster://[[user]:password@]host:port[,host:port...]
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hp::redis {

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
};

struct Address {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // set: a Unix socket instead of host and port
  int db = 0;
  std::string user;  // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;
  // redis+cluster://: the seed nodes (host and port above are the first).
  bool cluster = false;
  std::vector<Endpoint> seeds;
  // "host:port" or the socket path, for messages (never the password).
  std::string where() const;
};

// "host:port", "[v6]:port".
std::string host_port(const std::string &host, int port);

// Whether `spec` names a Redis server by one of the schemes above.
bool is_url(const std::string &spec);

// The URL with its user and password replaced by "***", for messages.
std::string redact(const std::string &url);

// Returns 0 or HP_EINVAL with a message naming what is wrong (the URL in
// it redacted).
int parse_url(const std::string &url, Address *out);

}  // namespace hp::redis
