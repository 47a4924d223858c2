// One uncached parse: tokenize once, then run each detector over the tokens.
#include <cstring>

#include "ua/detect.h"

namespace hp::ua {

void parse(const char *ua, uint32_t len, hp_ua_result *out) {
  unsigned version = out->version;
  std::memset(out, 0, sizeof *out);
  out->version = version;
  if (len == 0) return;
  Scan s;
  scan(s, ua, len);
  detect_browser(s, out);
  detect_engine(s, out);
  detect_os(s, out);
  detect_device(s, out);
  out->is_bot = detect_bot(s) ? 1 : 0;
  if (out->is_bot) out->device_type = HP_UA_BOT;
}

}  // namespace hp::ua
