#include "redis/reply.h"

#include <hiredis/hiredis.h>

namespace hp::redis {

Reply Reply::from(const redisReply *r) {
  Reply out;
  if (!r) return out;
  switch (r->type) {
    case REDIS_REPLY_STATUS:
      out.type = Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; i++) out.elements.push_back(from(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

bool is_error(const redisReply *r, std::string_view code) {
  return r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with(code);
}

bool is_transient_error(std::string_view text) {
  for (std::string_view code : {"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY"})
    if (text.starts_with(code)) return true;
  return false;
}

bool pubsub_message(const redisReply *r, std::string_view *channel, std::string_view *payload) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) return false;
  for (size_t i = 0; i < 3; i++)
    if (r->element[i]->type != REDIS_REPLY_STRING) return false;
  if (std::string_view(r->element[0]->str, r->element[0]->len) != "message") return false;
  *channel = std::string_view(r->element[1]->str, r->element[1]->len);
  *payload = std::string_view(r->element[2]->str, r->element[2]->len);
  return true;
}

}  // namespace hp::redis
