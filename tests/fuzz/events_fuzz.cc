// Fuzz target: what a tracking request carries from outside — the client IP
// headers, the event type, the raw query, Host and User-Agent — through
// client IP selection, the ip= hex form and the message formatter.
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "hotpath.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hp_fuzz::Reader in(data, size);
  std::string_view push = in.field(), forwarded = in.field(), real = in.field(), remote = in.field();
  std::string_view type = in.field(), host = in.field(), ua = in.field();
  std::string_view query = in.rest();

  hp_events_request req = HP_EVENTS_REQUEST_INIT;
  req.push_ip = push.data();
  req.push_ip_len = push.size();
  req.forwarded_for = forwarded.data();
  req.forwarded_for_len = forwarded.size();
  req.real_ip = real.data();
  req.real_ip_len = real.size();
  req.remote_addr = remote.data();
  req.remote_addr_len = remote.size();
  const char *ip = nullptr;
  size_t ip_len = 0;
  if (hp_events_client_ip(&ip, &ip_len, &req) != 0) __builtin_trap();

  char hex[HP_EVENTS_IP_HEX_MAX];
  if (ip) {
    int n = hp_events_ip_hex(hex, sizeof hex, ip, ip_len);
    if (n >= static_cast<int>(sizeof hex)) __builtin_trap();
  }

  hp_event ev = HP_EVENT_INIT;
  ev.event_type = type.data();
  ev.event_type_len = type.size();
  ev.query = query.data();
  ev.query_len = query.size();
  ev.host = host.data();
  ev.host_len = host.size();
  ev.ip = ip;
  ev.ip_len = ip_len;
  ev.user_agent = ua.data();
  ev.user_agent_len = ua.size();
  ev.received_ms = 1510826008003;
  ev.processed_ms = 1510826008269;
  static char out[HP_EVENTS_MAX_MESSAGE];
  int n = hp_events_format(out, sizeof out, &ev, nullptr);
  if (n >= static_cast<int>(sizeof out)) __builtin_trap();
  // A buffer that is too small must say so, never overrun.
  char small[64];
  hp_events_format(small, sizeof small, &ev, nullptr);
  return 0;
}
