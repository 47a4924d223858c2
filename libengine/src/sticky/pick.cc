#include "sticky/pick.h"

#include <arpa/inet.h>
#include <farmhash.h>

#include <cstring>

#include "sticky/jump_hash.h"

namespace hp::sticky {

uint32_t pick_modulo(const char *addr, size_t len, uint32_t workers) {
  return util::Fingerprint32(addr, len) % workers;
}

bool pick_jump(const char *addr, size_t len, uint32_t workers, uint32_t *out) {
  char text[INET6_ADDRSTRLEN + 1];
  if (len >= sizeof text) return false;
  std::memcpy(text, addr, len);
  text[len] = '\0';

  unsigned char bytes[16];
  size_t n = 0;
  if (inet_pton(AF_INET, text, bytes) == 1) {
    n = 4;
  } else if (inet_pton(AF_INET6, text, bytes) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes, mapped, sizeof mapped) == 0) {
      std::memmove(bytes, bytes + 12, 4);
      n = 4;
    } else {
      n = 16;
    }
  } else {
    return false;
  }
  uint64_t key = util::Fingerprint64(reinterpret_cast<const char *>(bytes), n);
  *out = jump_hash(key, workers);
  return true;
}

}  // namespace hp::sticky
