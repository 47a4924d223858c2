// extern "C" definitions of the sticky subsystem.
#include <farmhash.h>

#include <string>

#include "core/error.h"
#include "sticky/jump_hash.h"
#include "sticky/pick.h"

using hp::core::set_error;

extern "C" {

int hp_fingerprint32(uint32_t *out, const void *data, size_t len) {
  if (!out) return set_error(HP_EINVAL, "fingerprint32: out is NULL");
  if (!data && len > 0) return set_error(HP_EINVAL, "fingerprint32: data is NULL but len is ", std::to_string(len));
  if (len > HP_FINGERPRINT_MAX_LEN)
    return set_error(HP_EINVAL, "fingerprint32: len ", std::to_string(len), " is over the maximum");
  *out = util::Fingerprint32(static_cast<const char *>(data), len);
  return 0;
}

int hp_fingerprint32_many(uint32_t *out, const void *data, const uint64_t *offsets, size_t count) {
  if (!offsets || (!out && count > 0)) return set_error(HP_EINVAL, "fingerprint32_many: offsets or out is NULL");
  if (count > static_cast<size_t>(INT32_MAX)) return set_error(HP_EINVAL, "fingerprint32_many: count is over INT32_MAX");
  if (offsets[0] != 0) return set_error(HP_EINVAL, "fingerprint32_many: offsets[0] is not 0");
  if (!data && offsets[count] > 0) return set_error(HP_EINVAL, "fingerprint32_many: data is NULL");
  const char *bytes = static_cast<const char *>(data);
  for (size_t i = 0; i < count; i++) {
    if (offsets[i + 1] < offsets[i])
      return set_error(HP_EINVAL, "fingerprint32_many: offsets decrease at ", std::to_string(i + 1));
    uint64_t len = offsets[i + 1] - offsets[i];
    if (len > HP_FINGERPRINT_MAX_LEN)
      return set_error(HP_EINVAL, "fingerprint32_many: string ", std::to_string(i), " is over the maximum");
    out[i] = util::Fingerprint32(bytes + offsets[i], static_cast<size_t>(len));
  }
  return static_cast<int>(count);
}

int hp_sticky_pick(uint32_t *out, const char *addr, size_t len, uint32_t workers, int mode) {
  if (!addr || !out) return set_error(HP_EINVAL, "sticky_pick: addr or out is NULL");
  if (len == 0 || len > HP_STICKY_MAX_ADDR)
    return set_error(HP_EINVAL, "sticky_pick: address length ", std::to_string(len), " is not in 1..255");
  if (workers == 0) return set_error(HP_EINVAL, "sticky_pick: workers is 0");
  switch (mode) {
    case HP_STICKY_MODULO:
      *out = hp::sticky::pick_modulo(addr, len, workers);
      return 0;
    case HP_STICKY_JUMP:
      if (!hp::sticky::pick_jump(addr, len, workers, out))
        return set_error(HP_EINVAL, "sticky_pick: '", std::string(addr, len), "' is not an IP address");
      return 0;
    default:
      return set_error(HP_EINVAL, "sticky_pick: unknown mode ", std::to_string(mode));
  }
}

int hp_jump_hash(uint32_t *out, uint64_t key, uint32_t buckets) {
  if (!out) return set_error(HP_EINVAL, "jump_hash: out is NULL");
  if (buckets == 0) return set_error(HP_EINVAL, "jump_hash: buckets is 0");
  *out = hp::sticky::jump_hash(key, buckets);
  return 0;
}

}  // extern "C"
