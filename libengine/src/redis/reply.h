// A Redis reply copied out of hiredis, owned by hotpath.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;

namespace hp::redis {

struct Reply {
  enum Type { Nil, Status, Error, Integer, String, Array };
  Type type = Nil;
  int64_t integer = 0;
  std::string str;  // Status, Error and String
  std::vector<Reply> elements;

  static Reply from(const redisReply *r);
  bool is_error() const { return type == Error; }
};

// Whether hiredis's reply is an error whose text starts with `code`
// ("NOSCRIPT", "CROSSSLOT").
bool is_error(const redisReply *r, std::string_view code);

// Whether an error reply's text says the server will answer again (it is
// loading, busy, between roles, or its cluster is down): callers report
// HP_EUNAVAILABLE for these and HP_EIO for any other error.
bool is_transient_error(std::string_view text);

// Whether a reply on a subscribed connection is a published message
// (["message", channel, payload], all strings); sets the two views into it.
bool pubsub_message(const redisReply *r, std::string_view *channel, std::string_view *payload);

}  // namespace hp::redis
