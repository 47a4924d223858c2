// CRC32C (Castagnoli), the checksum stored with every chunk.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::blobs {

// CRC32C of `len` bytes, continuing from `crc` (0 to start). Uses carry-
// less multiplication folding (AVX-512 VPCLMULQDQ) when the CPU has it, the
// SSE4.2 crc32 instruction otherwise, a slice-by-8 table without either.
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

// The crc32 instruction path (the table without SSE4.2), and whether
// crc32c() folds; for tests that compare every path.
uint32_t crc32c_instruction(uint32_t crc, const void *data, size_t len);
bool crc32c_folds();

// The table version, always; for tests that compare both paths.
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

}  // namespace hp::blobs
