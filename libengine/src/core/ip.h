// The one parser of IP address text (geo lookups, the geo writer, events'
// ip= field, sticky worker choice).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::core {

struct IpAddress {
  uint8_t bytes[16];  // network order; the first `len` are used
  unsigned len;       // 4 or 16
};

// Parses `n` bytes of IPv4 dotted-quad or IPv6 text with inet_pton's rules
// (no brackets, zone or prefix); false when it is not one, including text
// with a NUL inside. Allocation-free.
bool parse_ip(const char *s, size_t n, IpAddress *out);

// The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:a.b.c.d), in
// place; other addresses are left as they are.
void unmap_ipv4(IpAddress *a);

}  // namespace hp::core
