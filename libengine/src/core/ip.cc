#include "core/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace hp::core {

namespace {

// Dotted-quad IPv4 with inet_pton's rules (four decimal parts 0..255, no
// leading zeros, nothing else), without copying the text: the common case
// of a hot lookup. False sends the text to inet_pton.
bool parse_ipv4(const char *s, size_t n, uint8_t *out) {
  if (n < 7 || n > 15) return false;
  const char *end = s + n;
  for (int part = 0; part < 4; part++) {
    if (s == end || unsigned(*s - '0') > 9) return false;
    unsigned v = unsigned(*s++ - '0');
    if (s != end && unsigned(*s - '0') <= 9) {
      if (v == 0) return false;
      v = v * 10 + unsigned(*s++ - '0');
      if (s != end && unsigned(*s - '0') <= 9) {
        v = v * 10 + unsigned(*s++ - '0');
        if (v > 255) return false;
      }
    }
    out[part] = static_cast<uint8_t>(v);
    if (part < 3) {
      if (s == end || *s != '.') return false;
      s++;
    }
  }
  return s == end;
}

}  // namespace

bool parse_ip(const char *s, size_t n, IpAddress *out) {
  if (!s) return false;
  if (parse_ipv4(s, n, out->bytes)) {
    out->len = 4;
    return true;
  }
  char buf[64];  // the longest valid text is 45 bytes
  if (n == 0 || n >= sizeof buf || std::memchr(s, 0, n)) return false;
  std::memcpy(buf, s, n);
  buf[n] = 0;
  if (inet_pton(AF_INET, buf, out->bytes) == 1) {
    out->len = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
    out->len = 16;
    return true;
  }
  return false;
}

void unmap_ipv4(IpAddress *a) {
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a->len != 16 || std::memcmp(a->bytes, kMapped, sizeof kMapped) != 0) return;
  std::memmove(a->bytes, a->bytes + 12, 4);
  a->len = 4;
}

}  // namespace hp::core
