// Rendering engine name and version, in ua-parser-js's order: EdgeHTML,
// ArkWeb, Blink, Presto, WebKit/Trident, then Gecko by its rv: version.
#include "ua/detect.h"

namespace hp::ua {

namespace {

template <size_t M>
void set(hp_ua_result *out, const char (&name)[M], Span ver) {
  put(out->engine, name);
  put(out->engine_version, version_run(ver));
}

bool windows(const Scan &s) {
  for (int i = 0; i < s.nitem; i++)
    if (istarts(s.item[i].text, "windows")) return true;
  return false;
}

}  // namespace

void detect_engine(const Scan &s, hp_ua_result *out) {
  int i;
  if (s.has(P_EDGE) && windows(s)) return set(out, "EdgeHTML", s.ver(P_EDGE));
  if (s.has(P_ARKWEB)) return set(out, "ArkWeb", s.ver(P_ARKWEB));
  if ((i = s.find(P_APPLEWEBKIT)) >= 0 && istarts(s.prod[i].ver, "537.36")) {
    for (int k = i + 1; k < s.nprod; k++)
      if ((s.prod[k].id == P_CHROME || s.prod[k].id == P_HEADLESSCHROME) && !istarts(s.prod[k].ver, "27")) return set(out, "Blink", s.prod[k].ver);
  }
  if (s.has(P_PRESTO)) return set(out, "Presto", s.ver(P_PRESTO));
  if (s.has(P_APPLEWEBKIT)) return set(out, "WebKit", s.ver(P_APPLEWEBKIT));
  if (s.has(P_WEBKIT)) return set(out, "WebKit", s.ver(P_WEBKIT));
  if (s.has(P_TRIDENT)) return set(out, "Trident", s.ver(P_TRIDENT));
  if (s.has(P_NETFRONT)) return set(out, "NetFront", s.ver(P_NETFRONT));
  for (int k = 0; k < s.nitem; k++) {
    Span t = s.item[k].text;
    if (istarts(t, "trident/")) return set(out, "Trident", sub(t, 8));
  }
  if (s.has(P_GECKO)) {
    for (int k = 0; k < s.nitem; k++) {
      Span t = s.item[k].text;
      if (istarts(t, "rv:")) return set(out, "Gecko", trim(sub(t, 3)));
    }
  }
}

}  // namespace hp::ua
