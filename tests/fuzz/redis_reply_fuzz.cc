// Fuzz target: bytes from a Redis server (RESP) through hiredis's reader,
// then hotpath's copy of each reply, its error tests and the pub/sub
// message check the client runs on every reply of a subscription.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <string_view>

#include "redis/reply.h"

namespace {

// hiredis 0.14 allocates an array reply's element pointers from the count
// in its header before any element arrives (it has no maxelements yet), so
// a header like *100000000 is an allocation of hiredis's, not a parse of
// ours: such inputs are skipped.
bool huge_array(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; i++) {
    if (data[i] != '*') continue;
    uint64_t n = 0;
    for (size_t j = i + 1; j < size && data[j] >= '0' && data[j] <= '9' && n <= 4096; j++) n = n * 10 + (data[j] - '0');
    if (n > 4096) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (huge_array(data, size)) return 0;
  redisReader *reader = redisReaderCreate();
  if (!reader) return 0;
  // Feed in two pieces, as a socket would deliver them.
  size_t half = size / 2;
  redisReaderFeed(reader, reinterpret_cast<const char *>(data), half);
  for (int fed = 0; fed < 2; fed++) {
    for (;;) {
      void *reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK || !reply) break;
      auto *r = static_cast<redisReply *>(reply);
      hp::redis::Reply copy = hp::redis::Reply::from(r);
      if (copy.is_error()) hp::redis::is_transient_error(copy.str);
      hp::redis::is_error(r, "NOSCRIPT");
      std::string_view channel, message;
      hp::redis::pubsub_message(r, &channel, &message);
      freeReplyObject(reply);
    }
    if (fed == 0) redisReaderFeed(reader, reinterpret_cast<const char *>(data) + half, size - half);
  }
  redisReaderFree(reader);
  return 0;
}
