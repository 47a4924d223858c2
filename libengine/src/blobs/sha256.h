// SHA-256 of a whole file, fed chunk by chunk (libcrypto, which uses the
// CPU's SHA extensions where present).
#pragma once

#include <cstddef>
#include <string>

struct evp_md_ctx_st;

namespace hp::blobs {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256 &) = delete;
  Sha256 &operator=(const Sha256 &) = delete;

  void update(const void *data, size_t len);
  // The digest as 64 lowercase hex digits; the object is spent after it.
  std::string hex();

 private:
  evp_md_ctx_st *ctx_;
};

}  // namespace hp::blobs
