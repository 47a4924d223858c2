#include "redis/url.h"

#include <cstdlib>

#include "core/error.h"

namespace hp::redis {

namespace {

constexpr const char *kSchemes[] = {"redis://", "redis+cluster://", "redis+unix://", "unix://"};

bool parse_int(const std::string &s, long lo, long hi, int *out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  long v = std::strtol(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

// The scheme's length, or 0.
size_t scheme_of(const std::string &url) {
  for (const char *s : kSchemes) {
    std::string_view scheme(s);
    if (url.compare(0, scheme.size(), scheme) == 0) return scheme.size();
  }
  return 0;
}

// "host[:port]" or "[v6][:port]".
bool parse_endpoint(const std::string &text, Endpoint *out) {
  std::string port;
  Endpoint e;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    e.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
    }
  } else {
    auto colon = text.rfind(':');
    e.host = text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
  }
  if (e.host.empty()) e.host = "127.0.0.1";
  if (!port.empty() && !parse_int(port, 1, 65535, &e.port)) return false;
  *out = e;
  return true;
}

}  // namespace

std::string host_port(const std::string &host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Address::where() const { return unix_path.empty() ? host_port(host, port) : unix_path; }

bool is_url(const std::string &spec) { return scheme_of(spec) != 0; }

std::string redact(const std::string &url) {
  size_t from = scheme_of(url);
  if (from == 0) from = url.find("://") == std::string::npos ? 0 : url.find("://") + 3;
  auto at = url.find('@', from);
  if (at == std::string::npos) return url;
  return url.substr(0, from) + "***" + url.substr(at);
}

int parse_url(const std::string &url, Address *out) {
  size_t skip = scheme_of(url);
  if (skip == 0)
    return core::set_error(HP_EINVAL, "redis: '", redact(url),
                           "' does not start with redis://, redis+cluster://, redis+unix:// or unix://");
  std::string scheme = url.substr(0, skip);
  std::string rest = url.substr(skip);
  Address a;
  // Credentials end at the last '@' (a password may hold one).
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    auto colon = auth.find(':');
    if (colon == std::string::npos) {
      a.password = auth;
    } else {
      a.user = auth.substr(0, colon);
      a.password = auth.substr(colon + 1);
    }
    rest = rest.substr(at + 1);
  }
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (scheme == "unix://" || scheme == "redis+unix://") {
    if (rest.empty() || rest[0] != '/')
      return core::set_error(HP_EINVAL, "redis: '", redact(url), "' names no socket path (unix:///path/redis.sock)");
    a.unix_path = rest;
  } else {
    auto slash = rest.find('/');
    std::string hosts = rest.substr(0, slash);
    if (slash != std::string::npos && slash + 1 < rest.size() &&
        !parse_int(rest.substr(slash + 1), 0, 1 << 20, &a.db))
      return core::set_error(HP_EINVAL, "redis: bad database number in '", redact(url), "'");
    a.cluster = scheme == "redis+cluster://";
    size_t from = 0;
    do {
      size_t comma = a.cluster ? hosts.find(',', from) : std::string::npos;
      Endpoint e;
      if (!parse_endpoint(hosts.substr(from, comma == std::string::npos ? comma : comma - from), &e))
        return core::set_error(HP_EINVAL, "redis: bad host or port in '", redact(url), "'");
      a.seeds.push_back(e);
      from = comma == std::string::npos ? comma : comma + 1;
    } while (from != std::string::npos);
    a.host = a.seeds[0].host;
    a.port = a.seeds[0].port;
    if (!a.cluster) a.seeds.clear();
    if (a.cluster && a.db != 0)
      return core::set_error(HP_EINVAL, "redis: '", redact(url), "': a Redis Cluster has database 0 only");
  }
  if (!query.empty()) {
    if (query.compare(0, 3, "db=") != 0 || !parse_int(query.substr(3), 0, 1 << 20, &a.db))
      return core::set_error(HP_EINVAL, "redis: unknown query in '", redact(url), "' (only ?db=N)");
  }
  *out = a;
  return 0;
}

}  // namespace hp::redis
