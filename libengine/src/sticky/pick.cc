#include "sticky/pick.h"

#include <farmhash.h>

#include <cstring>

#include "core/ip.h"
#include "sticky/jump_hash.h"

namespace hp::sticky {

uint32_t pick_modulo(const char *addr, size_t len, uint32_t workers) {
  return util::Fingerprint32(addr, len) % workers;
}

bool pick_jump(const char *addr, size_t len, uint32_t workers, uint32_t *out) {
  core::IpAddress a;
  if (!core::parse_ip(addr, len, &a)) return false;
  core::unmap_ipv4(&a);  // "::ffff:10.0.0.1" picks as "10.0.0.1"
  uint64_t key = util::Fingerprint64(reinterpret_cast<const char *>(a.bytes), a.len);
  *out = jump_hash(key, workers);
  return true;
}

}  // namespace hp::sticky
