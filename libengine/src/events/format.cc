// The consumer message of the Pushtech seed:
//   eventType type=..&browser=..&engine=..&version=..&os=..&host=..&ts=..&ip=..&klag=..&country=..&city=.. rawQuery

#include <chrono>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/ip.h"
#include "events/events.h"

namespace hp::events {

namespace {

const char kHex[] = "0123456789abcdef";

// A bounded writer; `ok` turns false once something did not fit, and `need`
// keeps counting so the caller can say how much was needed.
struct Out {
  char *p;
  size_t cap;
  size_t n = 0;
  void put(char c) {
    if (n < cap) p[n] = c;
    n++;
  }
  void put(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) put(s[i]);
  }
  void lit(const char *s) { put(s, std::strlen(s)); }
  void pct(unsigned char c) {
    put('%');
    put("0123456789ABCDEF"[c >> 4]);
    put("0123456789ABCDEF"[c & 15]);
  }
  // node's querystring.escape: unreserved bytes as they are, the rest %XX.
  void escaped(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.' || c == '!' || c == '~' || c == '*' || c == '\'' || c == '(' || c == ')';
      if (keep)
        put(static_cast<char>(c));
      else
        pct(c);
    }
  }
  // Raw text kept as it is, except what would break the line format.
  void raw(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c <= 0x20 || c == 0x7f)
        pct(c);
      else
        put(static_cast<char>(c));
    }
  }
  void number(int64_t v) {
    char buf[24];
    int len = 0;
    bool neg = v < 0;
    uint64_t u = neg ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
    do {
      buf[len++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    if (neg) put('-');
    while (len) put(buf[--len]);
  }
};

const char *type_name(int t) {
  static const char *const names[] = {"Desktop", "Mobile", "Tablet", "Smarttv", "Console", "Wearable", "Embedded", "Bot"};
  return (t >= 0 && t <= HP_UA_BOT) ? names[t] : "Desktop";
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ip_hex(const char *ip, size_t len, char *out, size_t *out_len) {
  if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') ip++, len -= 2;
  for (size_t i = 0; i < len; i++)
    if (ip[i] == '%') {
      len = i;
      break;
    }
  core::IpAddress a;
  if (!core::parse_ip(ip, len, &a)) return false;
  const uint8_t *bytes = a.bytes;
  size_t n = a.len;
  size_t first = 0;
  while (first + 1 < n && bytes[first] == 0) first++;
  size_t k = 0;
  for (size_t i = first; i < n; i++) {
    out[k++] = kHex[bytes[i] >> 4];
    out[k++] = kHex[bytes[i] & 15];
  }
  out[k] = 0;
  *out_len = k;
  return true;
}

int format(char *out, size_t cap, const hp_event &ev, hp_ua *ua) {
  using core::set_error;
  if (ev.version != HP_EVENT_VERSION)
    return set_error(HP_EINVAL, "events_format: unknown hp_event version ", std::to_string(ev.version));
  if (!ev.event_type || ev.event_type_len == 0) return set_error(HP_EINVAL, "events_format: event_type is empty");
  if (ev.event_type_len > HP_EVENTS_MAX_TYPE)
    return set_error(HP_EINVAL, "events_format: event_type is longer than ",
                     std::to_string(HP_EVENTS_MAX_TYPE), " bytes");
  if (ev.query_len > HP_EVENTS_MAX_QUERY)
    return set_error(HP_EINVAL, "events_format: query is longer than ", std::to_string(HP_EVENTS_MAX_QUERY),
                     " bytes");
  auto missing = [](const char *p, size_t n) { return !p && n > 0; };
  if (missing(ev.query, ev.query_len) || missing(ev.host, ev.host_len) || missing(ev.ip, ev.ip_len) ||
      missing(ev.user_agent, ev.user_agent_len) || missing(ev.country, ev.country_len) ||
      missing(ev.city, ev.city_len))
    return set_error(HP_EINVAL, "events_format: a string is NULL with a length");
  // Fields of unbounded length are cut so that any message fits
  // HP_EVENTS_MAX_MESSAGE (escaping can triple a byte).
  auto cut = [](size_t n, size_t max) { return n < max ? n : max; };

  hp_ua_result r = HP_UA_RESULT_INIT;
  if (ev.user_agent_len) {
    int rc = hp_ua_parse(&r, ua, ev.user_agent, ev.user_agent_len);
    if (rc < 0) return rc;
  }
  char hex[HP_EVENTS_IP_HEX_MAX];
  size_t hex_len = 0;
  if (!ev.ip_len || !ip_hex(ev.ip, ev.ip_len, hex, &hex_len)) hex_len = 0;
  int64_t processed = ev.processed_ms ? ev.processed_ms : now_ms();
  int64_t klag = processed - ev.received_ms;
  if (klag < 0) klag = 0;
  const char *os = r.os;
  if (std::strcmp(os, "Mac OS") == 0) os = "Mac";

  Out o{out, cap};
  o.raw(ev.event_type, ev.event_type_len);
  o.lit(" type=");
  o.lit(type_name(r.device_type));
  o.lit("&browser=");
  o.escaped(r.browser, std::strlen(r.browser));
  o.lit("&engine=");
  o.escaped(r.engine, std::strlen(r.engine));
  o.lit("&version=");
  o.escaped(r.browser_version, std::strlen(r.browser_version));
  o.lit("&os=");
  o.escaped(os, std::strlen(os));
  o.lit("&host=");
  o.escaped(ev.host, cut(ev.host_len, 1024));
  o.lit("&ts=");
  o.number(ev.received_ms);
  o.lit("&ip=");
  o.put(hex, hex_len);
  o.lit("&klag=");
  o.number(klag);
  o.lit("&country=");
  if (ev.country_len)
    o.escaped(ev.country, cut(ev.country_len, 64));
  else
    o.lit("XX");
  o.lit("&city=");
  if (ev.city_len)
    o.escaped(ev.city, cut(ev.city_len, 256));
  else
    o.lit("XX");
  o.put(' ');
  if (ev.query_len)
    o.raw(ev.query, ev.query_len);
  else
    o.put('e');
  if (o.n >= cap)
    return set_error(HP_ELIMIT, "events_format: the message needs ", std::to_string(o.n + 1),
                     " bytes, the buffer has ", std::to_string(cap));
  out[o.n] = 0;
  return static_cast<int>(o.n);
}

}  // namespace hp::events
