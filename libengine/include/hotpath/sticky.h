/* hotpath/sticky.h: fingerprints and sticky worker choice. Include hotpath.h. */
#ifndef HOTPATH_STICKY_H
#define HOTPATH_STICKY_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest input the fingerprint functions accept (bytes). */
#define HP_FINGERPRINT_MAX_LEN ((size_t)0x7fffffff)

/**
 * Google FarmHash Fingerprint32 of `len` bytes, bit-exact with the
 * `farmhash` npm package's fingerprint32() over the same bytes (a JS string
 * is hashed as its UTF-8 bytes).
 * @param[out] out  the fingerprint.
 * @param data  borrowed for the call; may be NULL only when len is 0.
 * @return 0, or HP_EINVAL (out NULL, data NULL with len > 0, or len over
 *         HP_FINGERPRINT_MAX_LEN).
 * Thread: any; no allocation, no lock.
 */
HP_EXTERN int hp_fingerprint32(uint32_t *out, const void *data, size_t len);

/**
 * Fingerprint32 of `count` byte strings laid end to end in `data`: string i
 * is data[offsets[i] .. offsets[i+1]).
 * @param[out] out count fingerprints.
 * @param data     borrowed; NULL only when offsets[count] == 0.
 * @param offsets  count + 1 non-decreasing offsets, offsets[0] == 0.
 * @return count, or HP_EINVAL (a NULL pointer, offsets that decrease, or a
 *         string over HP_FINGERPRINT_MAX_LEN).
 * Thread: any.
 */
HP_EXTERN int hp_fingerprint32_many(uint32_t *out, const void *data, const uint64_t *offsets, size_t count);

/** How hp_sticky_pick() maps a client address to a worker. */
typedef enum hp_sticky_mode {
  /** fingerprint32(address string) % workers, the string exactly as given
   *  (e.g. "::ffff:10.0.0.1" as node reports it): the Perfload seed's rule. */
  HP_STICKY_MODULO = 0,
  /** The address is parsed and IPv4-mapped IPv6 folded to IPv4, so
   *  "::ffff:10.0.0.1" and "10.0.0.1" pick the same worker; then jump
   *  consistent hashing, so growing from n to n+1 workers moves only about
   *  1/(n+1) of the clients. */
  HP_STICKY_JUMP = 1
} hp_sticky_mode;

/** Longest address string hp_sticky_pick() accepts. */
#define HP_STICKY_MAX_ADDR 255

/**
 * Choose the worker for a client address.
 * @param[out] out the worker index, 0 .. workers-1.
 * @param addr     the address text, borrowed for the call; need not be
 *                 NUL-terminated.
 * @param len      its length, 1 .. HP_STICKY_MAX_ADDR.
 * @param workers  number of workers, >= 1.
 * @param mode     an hp_sticky_mode.
 * @return 0, or HP_EINVAL (NULL pointer, empty or oversized address,
 *         workers == 0, unknown mode, or in HP_STICKY_JUMP mode a string
 *         that is not an IPv4 or IPv6 address).
 * Thread: any; no allocation.
 */
HP_EXTERN int hp_sticky_pick(uint32_t *out, const char *addr, size_t len, uint32_t workers, int mode);

/**
 * Jump consistent hash (Lamping and Veach) of a 64-bit key into `buckets`.
 * @param[out] out  bucket index, 0 .. buckets-1.
 * @return 0, or HP_EINVAL (out NULL or buckets == 0). Thread: any.
 */
HP_EXTERN int hp_jump_hash(uint32_t *out, uint64_t key, uint32_t buckets);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_STICKY_H */
