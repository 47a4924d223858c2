#include "redis/url.h"

#include <cstdlib>

#include "core/error.h"

namespace hp::redis {

namespace {

bool parse_int(const std::string &s, long lo, long hi, int *out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  long v = std::strtol(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int parse_url(const std::string &url, Address *out) {
  const std::string scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return core::set_error(HP_EINVAL, "redis: '", url, "' does not start with redis://");
  std::string rest = url.substr(scheme.size());
  Address a;
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    auto colon = auth.find(':');
    a.password = colon == std::string::npos ? auth : auth.substr(colon + 1);
    rest = rest.substr(at + 1);
  }
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos && slash + 1 < rest.size() && !parse_int(rest.substr(slash + 1), 0, 1 << 20, &a.db))
    return core::set_error(HP_EINVAL, "redis: bad database number in '", url, "'");
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {  // [::1]:6379
    auto close = hostport.find(']');
    if (close == std::string::npos) return core::set_error(HP_EINVAL, "redis: bad IPv6 host in '", url, "'");
    a.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') port = hostport.substr(close + 2);
  } else {
    auto colon = hostport.rfind(':');
    a.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (a.host.empty()) a.host = "127.0.0.1";
  if (!port.empty() && !parse_int(port, 1, 65535, &a.port))
    return core::set_error(HP_EINVAL, "redis: bad port in '", url, "'");
  *out = a;
  return 0;
}

}  // namespace hp::redis
