// extern "C" definitions of the ua subsystem.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/guard.h"
#include "core/handle.h"
#include "ua/cache.h"
#include "ua/detect.h"
#include "ua/text.h"

using hp::core::set_error;

// A parser has no engine: its close finishes on the thread that ends the
// last parse in flight.
struct hp_ua : hp::core::Handle {
  hp_ua() : Handle(nullptr) {}
  std::unique_ptr<hp::ua::Cache> cache;  // null: caching disabled
};

using Call = hp::core::Handle::Call;

static int closed(const char *what) { return set_error(HP_ECLOSED, what, ": the parser is closed"); }

extern "C" {

int hp_ua_new(hp_ua **out, const hp_ua_options *opts) {
  if (!out) return set_error(HP_EINVAL, "ua_new: out is NULL");
  *out = nullptr;
  hp_ua_options o = HP_UA_OPTIONS_INIT;
  if (opts) {
    if (opts->version != HP_UA_OPTIONS_VERSION)
      return set_error(HP_EINVAL, "ua_new: unknown hp_ua_options version ", std::to_string(opts->version));
    o = *opts;
  }
  if (o.cache_entries > HP_UA_MAX_CACHE)
    return set_error(HP_EINVAL, "ua_new: cache_entries ", std::to_string(o.cache_entries), " is over ",
                     std::to_string(HP_UA_MAX_CACHE));
  return hp::core::guard("ua_new", [&] {
    auto p = std::make_unique<hp_ua>();
    if (o.cache_entries > 0) p->cache = std::make_unique<hp::ua::Cache>(o.cache_entries);
    *out = p.release();
    return 0;
  });
}

int hp_ua_close(hp_ua *p, hp_close_cb cb, void *data) { return p ? p->close(cb, data) : 0; }

// A version 1 result is a version 2 one without its last field, cpu.
static int parse_v1(hp_ua_result *out, hp_ua *p, const char *ua, size_t len) {
  hp_ua_result full = HP_UA_RESULT_INIT;
  int rc = hp_ua_parse(&full, p, ua, len);
  if (rc >= 0) {
    std::memcpy(out, &full, offsetof(hp_ua_result, cpu));
    out->version = 1;
  }
  return rc;
}

int hp_ua_parse(hp_ua_result *out, hp_ua *p, const char *ua, size_t len) {
  if (!out) return set_error(HP_EINVAL, "ua_parse: out is NULL");
  if (out->version == 1) return parse_v1(out, p, ua, len);
  if (out->version != HP_UA_RESULT_VERSION)
    return set_error(HP_EINVAL, "ua_parse: unknown hp_ua_result version ", std::to_string(out->version));
  if (!ua && len > 0) return set_error(HP_EINVAL, "ua_parse: ua is NULL but len is ", std::to_string(len));
  if (!ua) ua = "";  // the parser and the cache may read (and copy) zero bytes from it
  uint32_t n = len > HP_UA_MAX_LEN ? HP_UA_MAX_LEN : static_cast<uint32_t>(len);
  Call call(p);
  if (p && !call) return closed("ua_parse");
  hp::ua::Cache *cache = p ? p->cache.get() : nullptr;
  if (!cache || n > HP_UA_CACHE_KEY_MAX) {
    hp::ua::parse(ua, n, out);
    return 0;
  }
  uint64_t h = hp::ua::hash_ua(ua, n);
  if (cache->get(h, ua, n, out)) return 1;
  hp::ua::parse(ua, n, out);
  cache->put(h, ua, n, *out);
  return 0;
}

int hp_ua_stats_get(hp_ua_stats *out, const hp_ua *p) {
  if (!out || !p) return set_error(HP_EINVAL, "ua_stats_get: out or parser is NULL");
  if (out->version != HP_UA_STATS_VERSION)
    return set_error(HP_EINVAL, "ua_stats_get: unknown hp_ua_stats version ", std::to_string(out->version));
  Call call(const_cast<hp_ua *>(p));
  if (!call) return closed("ua_stats_get");
  out->hits = p->cache ? p->cache->hits() : 0;
  out->misses = p->cache ? p->cache->misses() : 0;
  out->capacity = p->cache ? p->cache->capacity() : 0;
  return 0;
}

const char *hp_ua_device_type_name(int type) {
  static const char *const names[] = {"desktop", "mobile", "tablet", "smarttv", "console", "wearable", "embedded", "bot"};
  if (type < 0 || type > HP_UA_BOT) return "";
  return names[type];
}

}  // extern "C"
