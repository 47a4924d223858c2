// Worker choice for sticky sessions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hp::sticky {

// The seed's rule: fingerprint32 of the address text, modulo workers.
uint32_t pick_modulo(const char *addr, size_t len, uint32_t workers);

// Parses the address (IPv4-mapped IPv6 folded to IPv4) and jump-hashes the
// fingerprint of its canonical bytes. Returns false if it is not an address.
bool pick_jump(const char *addr, size_t len, uint32_t workers, uint32_t *out);

}  // namespace hp::sticky
