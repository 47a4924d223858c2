// One uncached parse: tokenize once; strings whose tokens the detectors
// vouch for are read from the tokens, all others by the generated tables.
// Bots are the bot patterns' answer either way.
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
  if (!tables_only && fast_path(s)) {
    detect_browser(s, out);
    detect_engine(s, out);
    detect_os(s, out);
    detect_device(s, out);
    match_tables(ua, len, true, &lt);
    put(out->cpu, Span{lt.part[PART_CPU][tables::F_ARCH].value.data(),
                       static_cast<uint32_t>(lt.part[PART_CPU][tables::F_ARCH].value.size())});
  } else {
    match_tables(ua, len, false, &lt);
    fill_result(lt, out);
  }
  out->is_bot = lt.bot ? 1 : 0;
  if (out->is_bot) out->device_type = HP_UA_BOT;
}

}  // namespace hp::ua
