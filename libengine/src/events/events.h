// Internals of the events subsystem shared between its files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hotpath.h"

namespace hp::events {

void client_ip(const hp_events_request &r, const char **out, size_t *out_len);

// Lower-case hex of the address bytes, leading zero bytes dropped; false when
// `ip` is not an address. out holds HP_EVENTS_IP_HEX_MAX bytes.
bool ip_hex(const char *ip, size_t len, char *out, size_t *out_len);

// Formats into out (cap bytes). Returns the length, or a negative code with
// the message set. Validates ev.
int format(char *out, size_t cap, const hp_event &ev, hp_ua *ua);

// Wall clock in epoch milliseconds.
int64_t now_ms();

}  // namespace hp::events
