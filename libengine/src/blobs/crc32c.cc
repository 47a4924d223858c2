#include "blobs/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace hp::blobs {

namespace {

constexpr uint32_t kPoly = 0x82f63b78u;  // Castagnoli, reflected

// table[k][b]: the CRC of byte b followed by k zero bytes, for slice-by-8.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t c = b;
      for (int i = 0; i < 8; i++) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++)
      for (int k = 1; k < 8; k++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
};

constexpr Tables kTables;

uint32_t portable(uint32_t crc, const uint8_t *p, size_t len) {
  const auto &t = kTables.t;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian hosts only (x86-64, arm64)
    v ^= crc;
    crc = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^ t[4][(v >> 24) & 0xff] ^
          t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^ t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles but can start one per cycle, so
// three independent streams over three blocks run about three times as
// fast as one. The CRC register is linear: the CRC of A followed by B is
// the CRC of A shifted over |B| zero bytes, xor the CRC of B from zero.
constexpr size_t kBlock = 8192;

// "Append kBlock zero bytes" as a linear map of the 32-bit register,
// applied a byte at a time through four tables.
struct ZeroShift {
  std::array<std::array<uint32_t, 256>, 4> t{};
  ZeroShift() {
    std::array<uint32_t, 32> col{};  // the image of each register bit
    for (int i = 0; i < 32; i++) {
      uint32_t s = 1u << i;
      col[i] = (s >> 8) ^ kTables.t[0][s & 0xff];  // one zero byte
    }
    auto apply = [](const std::array<uint32_t, 32> &m, uint32_t s) {
      uint32_t r = 0;
      for (int i = 0; i < 32; i++)
        if ((s >> i) & 1) r ^= m[i];
      return r;
    };
    for (size_t n = 1; n < kBlock; n *= 2) {  // squaring: 2n zero bytes
      std::array<uint32_t, 32> sq{};
      for (int i = 0; i < 32; i++) sq[i] = apply(col, col[i]);
      col = sq;
    }
    for (int k = 0; k < 4; k++)
      for (uint32_t b = 0; b < 256; b++) t[k][b] = apply(col, b << (8 * k));
  }
  uint32_t operator()(uint32_t s) const {
    return t[0][s & 0xff] ^ t[1][(s >> 8) & 0xff] ^ t[2][(s >> 16) & 0xff] ^ t[3][s >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t hardware(uint32_t crc, const uint8_t *p, size_t len) {
  uint64_t c = crc;
  if (len >= 3 * kBlock) {
    static const ZeroShift shift;
    do {
      uint64_t a = c, b = 0, d = 0;
      for (size_t i = 0; i < kBlock; i += 8) {
        uint64_t va, vb, vd;
        std::memcpy(&va, p + i, 8);
        std::memcpy(&vb, p + kBlock + i, 8);
        std::memcpy(&vd, p + 2 * kBlock + i, 8);
        a = _mm_crc32_u64(a, va);
        b = _mm_crc32_u64(b, vb);
        d = _mm_crc32_u64(d, vd);
      }
      uint32_t ab = shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
      c = shift(ab) ^ static_cast<uint32_t>(d);
      p += 3 * kBlock;
      len -= 3 * kBlock;
    } while (len >= 3 * kBlock);
  }
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

bool have_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

}  // namespace

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len) {
  return ~portable(~crc, static_cast<const uint8_t *>(data), len);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
  if (have_sse42()) return ~hardware(~crc, static_cast<const uint8_t *>(data), len);
#endif
  return crc32c_portable(crc, data, len);
}

}  // namespace hp::blobs
