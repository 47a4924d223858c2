// A Redis reply copied out of hiredis, owned by hotpath.
#pragma once

#include <cstdint>
#include <string>
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

}  // namespace hp::redis
