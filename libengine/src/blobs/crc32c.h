// CRC32C (Castagnoli), the checksum stored with every chunk.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::blobs {

// CRC32C of `len` bytes, continuing from `crc` (0 to start). Uses the
// SSE4.2 crc32 instruction when the CPU has it, a slice-by-8 table otherwise.
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

// The table version, always; for tests that compare both paths.
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

}  // namespace hp::blobs
