#include "blobs/file_id.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>

namespace hp::blobs {

namespace {

std::mt19937_64 seeded() {
  std::random_device rd;
  std::seed_seq seq{rd(), rd(), rd(), rd()};
  return std::mt19937_64(seq);
}

uint64_t random64() {
  static std::mutex mu;
  static std::mt19937_64 gen = seeded();
  static pid_t owner = getpid();
  std::lock_guard<std::mutex> lock(mu);
  // A forked child reseeds: it must not repeat its parent's ids.
  if (getpid() != owner) {
    owner = getpid();
    gen = seeded();
  }
  return gen();
}

void put_hex(std::string &out, uint64_t v, int digits) {
  static const char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; i--) out.push_back(hex[(v >> (i * 4)) & 15]);
}

}  // namespace

std::string new_file_id() {
  auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  std::string id;
  id.reserve(24);
  put_hex(id, static_cast<uint64_t>(secs.count()) & 0xffffffffu, 8);
  put_hex(id, random64(), 16);
  return id;
}

bool valid_file_id(std::string_view id) {
  if (id.size() != 24) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace hp::blobs
