// Fuzz target: bytes from a Redis server (RESP) through hiredis's reader,
// then hotpath's copy of each reply, its error tests and the pub/sub
// message check the client runs on every reply of a subscription.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <string_view>

#include "redis/reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
