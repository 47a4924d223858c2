#include "blobs/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
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

// Folding with carry-less multiplication (AVX-512 VPCLMULQDQ): four 64-byte
// registers hold the last 256 bytes read, and each step folds them forward
// over the next 256 bytes, about four times the crc32 instruction's bytes
// per cycle. A register's 16-byte lanes are blocks of the message, low
// quadword first; the state after the last step is a 256-byte block whose
// CRC is that of everything folded, so the crc32 instruction finishes.
constexpr size_t kFold = 256;

// x^n mod P, bit-reversed into a 64-bit multiplier: coefficient d at bit
// 63 - d, so that a carry-less product with a reflected quadword lands in
// the reflected layout (shifted by one degree, which n - 1 below makes up).
uint64_t fold_constant(unsigned n) {
  uint64_t r = 1;  // normal order: bit d is the coefficient of x^d
  for (unsigned i = 0; i < n; i++) {
    r <<= 1;
    if (r >> 32) r ^= 0x11edc6f41ull;  // Castagnoli, normal order
  }
  uint64_t out = 0;
  for (int d = 0; d < 32; d++)
    if ((r >> d) & 1) out |= 1ull << (63 - d);
  return out;
}

#define HP_FOLD_TARGET __attribute__((target("avx512f,vpclmulqdq,sse4.2")))

// One step: x (a register of the state) moved over the next 256 bytes and
// added to the 64 of them at `next` that take its place.
HP_FOLD_TARGET inline __m512i fold_step(__m512i x, __m512i k, const uint8_t *next) {
  __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00), hi = _mm512_clmulepi64_epi128(x, k, 0x11);
  return _mm512_ternarylogic_epi64(lo, hi, _mm512_loadu_si512(next), 0x96);  // three-way xor
}

HP_FOLD_TARGET uint32_t folded(uint32_t crc, const uint8_t *p, size_t len) {
  if (len < 2 * kFold) return hardware(crc, p, len);
  // The low quadword of a lane comes first in the message: it moves
  // 64 + 8 * kFold bits forward, the high one 8 * kFold.
  static const uint64_t k_low = fold_constant(64 + 8 * kFold - 1), k_high = fold_constant(8 * kFold - 1);
  const __m512i k = _mm512_set_epi64(static_cast<long long>(k_high), static_cast<long long>(k_low),
                                     static_cast<long long>(k_high), static_cast<long long>(k_low),
                                     static_cast<long long>(k_high), static_cast<long long>(k_low),
                                     static_cast<long long>(k_high), static_cast<long long>(k_low));
  __m512i x0 = _mm512_loadu_si512(p), x1 = _mm512_loadu_si512(p + 64), x2 = _mm512_loadu_si512(p + 128),
          x3 = _mm512_loadu_si512(p + 192);
  x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(crc))));
  p += kFold;
  len -= kFold;
  while (len >= kFold) {
    x0 = fold_step(x0, k, p);
    x1 = fold_step(x1, k, p + 64);
    x2 = fold_step(x2, k, p + 128);
    x3 = fold_step(x3, k, p + 192);
    p += kFold;
    len -= kFold;
  }
  alignas(64) uint8_t state[kFold];
  _mm512_store_si512(state, x0);
  _mm512_store_si512(state + 64, x1);
  _mm512_store_si512(state + 128, x2);
  _mm512_store_si512(state + 192, x3);
  return hardware(hardware(0, state, kFold), p, len);
}

bool have_vpclmul() {
  static const bool yes =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") && have_sse42();
  return yes;
}
#endif

}  // namespace

uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len) {
  return ~portable(~crc, static_cast<const uint8_t *>(data), len);
}

uint32_t crc32c_instruction(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
  if (have_sse42()) return ~hardware(~crc, static_cast<const uint8_t *>(data), len);
#endif
  return crc32c_portable(crc, data, len);
}

bool crc32c_folds() {
#if defined(__x86_64__)
  return have_vpclmul();
#else
  return false;
#endif
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
  if (have_vpclmul()) return ~folded(~crc, static_cast<const uint8_t *>(data), len);
#endif
  return crc32c_instruction(crc, data, len);
}

}  // namespace hp::blobs
