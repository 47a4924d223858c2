// One uncached parse: tokenize once; strings whose tokens the detectors
// vouch for are read from the tokens (the device of an Android model and
// the cpu by the generated tables), all others by the tables. Bots are the
// bot patterns' answer either way.
#include <cstring>

#include "ua/detect.h"
#include "ua/long_tail.h"

namespace hp::ua {

void parse(const char *ua, uint32_t len, hp_ua_result *out, bool tables_only) {
  unsigned version = out->version;
  std::memset(out, 0, sizeof *out);
  out->version = version;
  if (len == 0) return;
  Scan s;
  scan(s, ua, len);
  LongTail lt;
  const FastPath fast = tables_only ? FAST_NONE : fast_path(s);
  if (fast == FAST_NONE) {
    match_tables(ua, len, kAllParts, &lt);
    fill_parts(lt, kAllParts, out);
  } else {
    detect_browser(s, out);
    detect_engine(s, out);
    detect_os(s, out);
    unsigned parts = 1u << PART_CPU;
    if (fast == FAST_ALL)
      detect_device(s, out);
    else
      parts |= 1u << PART_DEVICE;
    match_tables(ua, len, parts, &lt);
    fill_parts(lt, parts, out);
  }
  out->is_bot = lt.bot ? 1 : 0;
  if (out->is_bot) out->device_type = HP_UA_BOT;
}

}  // namespace hp::ua
