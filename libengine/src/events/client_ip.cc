// The client address of a tracking request, chosen as the seed's tracker
// does: x-push-ip > first of x-forwarded-for > x-real-ip > socket address.
#include "events/events.h"

namespace hp::events {

namespace {

bool space(char c) { return c == ' ' || c == '\t'; }

bool pick(const char *p, size_t n, const char **out, size_t *out_len) {
  if (!p) return false;
  while (n && space(*p)) p++, n--;
  while (n && space(p[n - 1])) n--;
  if (!n) return false;
  *out = p;
  *out_len = n;
  return true;
}

}  // namespace

void client_ip(const hp_events_request &r, const char **out, size_t *out_len) {
  *out = nullptr;
  *out_len = 0;
  if (pick(r.push_ip, r.push_ip_len, out, out_len)) return;
  if (r.forwarded_for) {
    size_t n = 0;
    while (n < r.forwarded_for_len && r.forwarded_for[n] != ',') n++;
    if (pick(r.forwarded_for, n, out, out_len)) return;
  }
  if (pick(r.real_ip, r.real_ip_len, out, out_len)) return;
  pick(r.remote_addr, r.remote_addr_len, out, out_len);
}

}  // namespace hp::events
