// Browser name and version. Precedence follows ua-parser-js's list: the
// first rule that applies wins, whatever the order of tokens in the string.
#include "ua/detect.h"

namespace hp::ua {

namespace {

template <size_t M>
void set(hp_ua_result *out, const char (&name)[M], Span ver) {
  put(out->browser, name);
  put(out->browser_version, version_run(ver));
}

// A comment item "<name> <version>" or "<name>/<version>" (MSIE 10.0,
// Opera Mini/36.2): the version after the name.
template <size_t N>
bool item_version(const Scan &s, const char (&name)[N], Span *ver) {
  for (int i = 0; i < s.nitem; i++) {
    Span t = s.item[i].text;
    if (istarts(t, name) && t.n > N - 1 && (t.p[N - 1] == ' ' || t.p[N - 1] == '/')) {
      *ver = version_run(sub(t, N));
      return true;
    }
  }
  return false;
}

template <size_t N>
bool has_item_eq(const Scan &s, const char (&lit)[N]) {
  for (int i = 0; i < s.nitem; i++)
    if (ieq(s.item[i].text, lit)) return true;
  return false;
}

template <size_t N>
bool has_item_start(const Scan &s, const char (&lit)[N]) {
  for (int i = 0; i < s.nitem; i++)
    if (istarts(s.item[i].text, lit)) return true;
  return false;
}

bool is_android(const Scan &s) {
  for (int i = 0; i < s.nitem; i++)
    if (icontains(s.item[i].text, "droid")) return true;
  return false;
}

// The first product after index `from` with this id, or -1.
int after(const Scan &s, int from, uint8_t id) {
  for (int i = from + 1; i < s.nprod; i++)
    if (s.prod[i].id == id) return i;
  return -1;
}

}  // namespace

void detect_browser(const Scan &s, hp_ua_result *out) {
  Span v;
  int i;
  if ((i = s.find(P_CRIOS)) >= 0 || (i = s.find(P_CRMO)) >= 0) return set(out, "Chrome", s.prod[i].ver);
  if ((i = s.find(P_EDG)) >= 0 || (i = s.find(P_EDGE)) >= 0 || (i = s.find(P_EDGA)) >= 0 ||
      (i = s.find(P_EDGIOS)) >= 0)
    return set(out, "Edge", s.prod[i].ver);
  if (item_version(s, "opera mini", &v)) return set(out, "Opera Mini", v);
  if (s.has(P_OPERA)) {
    // Presto: "Opera/9.80 (...) Presto/2.12 Version/12.16".
    Span ver = s.has(P_VERSION) ? s.ver(P_VERSION) : s.ver(P_OPERA);
    if (item_version(s, "opera mobi", &v)) return set(out, "Opera Mobi", s.has(P_VERSION) ? ver : v);
    if (item_version(s, "opera tablet", &v)) return set(out, "Opera Tablet", s.has(P_VERSION) ? ver : v);
    return set(out, "Opera", ver);
  }
  if (s.has(P_OPIOS)) return set(out, "Opera Mini", s.ver(P_OPIOS));
  if (s.has(P_OPX)) return set(out, "Opera GX", s.ver(P_OPX));
  if (s.has(P_OPRGX)) return set(out, "Opera GX", s.ver(P_OPRGX));
  if (s.has(P_OPR)) return set(out, "Opera", s.ver(P_OPR));
  if (s.has(P_BAIDUBOXAPP)) return set(out, "Baidu", s.ver(P_BAIDUBOXAPP));
  if (s.has(P_BIDUBROWSER)) return set(out, "Baidu", s.ver(P_BIDUBROWSER));
  if (s.has(P_BAIDUBROWSER)) return set(out, "Baidu", s.ver(P_BAIDUBROWSER));
  if (s.has(P_MXBROWSER)) return set(out, "Maxthon", s.ver(P_MXBROWSER));
  if (s.has(P_MXIOS)) return set(out, "Maxthon", s.ver(P_MXIOS));
  if (s.has(P_KINDLE)) return set(out, "Kindle", s.ver(P_KINDLE));
  if (s.has(P_MAXTHON)) return set(out, "Maxthon", s.ver(P_MAXTHON));
  if (s.has(P_NETFRONT)) return set(out, "NetFront", s.ver(P_NETFRONT));
  if (s.has(P_SLEIPNIR)) return set(out, "Sleipnir", s.ver(P_SLEIPNIR));
  if (s.has(P_IEMOBILE)) return set(out, "IEMobile", s.ver(P_IEMOBILE));
  if (item_version(s, "iemobile", &v)) return set(out, "IEMobile", v);
  if (item_version(s, "msie", &v)) return set(out, "IE", v);
  if (s.has(P_SILK)) return set(out, "Silk", s.ver(P_SILK));
  if (s.has(P_IRON)) return set(out, "Iron", s.ver(P_IRON));
  if (s.has(P_VIVALDI)) return set(out, "Vivaldi", s.ver(P_VIVALDI));
  if (s.has(P_PHANTOMJS)) return set(out, "PhantomJS", s.ver(P_PHANTOMJS));
  if (s.has(P_FALKON)) return set(out, "Falkon", s.ver(P_FALKON));
  if (s.has(P_QUPZILLA)) return set(out, "QupZilla", s.ver(P_QUPZILLA));
  if (s.has(P_PUFFIN)) return set(out, "Puffin", s.ver(P_PUFFIN));
  if (s.has(P_EPIPHANY)) return set(out, "Epiphany", s.ver(P_EPIPHANY));
  if (s.has(P_MIDORI)) return set(out, "Midori", s.ver(P_MIDORI));
  if (s.has(P_BRAVE) && !s.ver(P_BRAVE).empty()) return set(out, "Brave", s.ver(P_BRAVE));
  if (s.has(P_WHALE)) return set(out, "Whale", s.ver(P_WHALE));
  if (s.has(P_DUCKDUCKGO)) return set(out, "DuckDuckGo", s.ver(P_DUCKDUCKGO));
  if (s.has(P_KLAR)) return set(out, "Klar", s.ver(P_KLAR));
  if (s.has(P_HEYTAPBROWSER)) return set(out, "HeyTap", s.ver(P_HEYTAPBROWSER));
  if (s.has(P_QUARK)) return set(out, "Quark", s.ver(P_QUARK));
  if (s.has(P_DDG)) return set(out, "DuckDuckGo", s.ver(P_DDG));
  if (s.has(P_UCBROWSER)) return set(out, "UCBrowser", s.ver(P_UCBROWSER));
  if (s.has(P_UBROWSER)) return set(out, "UCBrowser", s.ver(P_UBROWSER));
  if (s.has(P_MICROMESSENGER)) return set(out, "WeChat", s.ver(P_MICROMESSENGER));
  if (s.has(P_KONQUEROR)) return set(out, "Konqueror", s.ver(P_KONQUEROR));
  if (s.has(P_TRIDENT) || has_item_start(s, "trident/")) {
    for (int k = 0; k < s.nitem; k++)
      if (istarts(s.item[k].text, "rv:") || istarts(s.item[k].text, "rv "))
        return set(out, "IE", sub(s.item[k].text, 3));
  }
  if (s.has(P_YABROWSER)) return set(out, "Yandex", s.ver(P_YABROWSER));
  if (s.has(P_YASEARCHBROWSER)) return set(out, "Yandex", s.ver(P_YASEARCHBROWSER));
  if (s.has(P_SLBROWSER)) return set(out, "Smart Lenovo Browser", s.ver(P_SLBROWSER));
  if (s.has(P_AVAST)) return set(out, "Avast Secure Browser", s.ver(P_AVAST));
  if (s.has(P_AVG)) return set(out, "AVG Secure Browser", s.ver(P_AVG));
  if (s.has(P_FOCUS)) return set(out, "Firefox Focus", s.ver(P_FOCUS));
  if (s.has(P_OPT)) return set(out, "Opera Touch", s.ver(P_OPT));
  if (s.has(P_COCCOC)) return set(out, "Coc Coc", s.ver(P_COCCOC));
  if (s.has(P_DOLFIN)) return set(out, "Dolphin", s.ver(P_DOLFIN));
  if (s.has(P_COAST)) return set(out, "Opera Coast", s.ver(P_COAST));
  if (s.has(P_MIUIBROWSER)) return set(out, "MIUI Browser", s.ver(P_MIUIBROWSER));
  if (s.has(P_FXIOS)) return set(out, "Firefox", s.ver(P_FXIOS));
  if (s.has(P_QIHOOBROWSER)) return set(out, "360", s.ver(P_QIHOOBROWSER));
  if (s.has(P_QQ)) return set(out, "QQBrowser", s.ver(P_QQ));
  if (s.has(P_HUAWEIBROWSER)) return set(out, "Huawei Browser", s.ver(P_HUAWEIBROWSER));
  if (s.has(P_VIVOBROWSER)) return set(out, "Vivo Browser", s.ver(P_VIVOBROWSER));
  if (s.has(P_OCULUSBROWSER)) return set(out, "Oculus Browser", s.ver(P_OCULUSBROWSER));
  if (s.has(P_SAMSUNGBROWSER)) return set(out, "Samsung Internet", s.ver(P_SAMSUNGBROWSER));
  if (s.has(P_SOGOUMOBILEBROWSER)) return set(out, "Sogou Mobile", s.ver(P_SOGOUMOBILEBROWSER));
  if ((i = s.find(P_ELECTRON)) >= 0 && after(s, i, P_SAFARI) == i + 1) return set(out, "Electron", s.prod[i].ver);
  if (s.has(P_TESLA) || s.has(P_QTCARBROWSER)) return set(out, "Tesla", s.ver(P_TESLA));
  if (s.has(P_QQBROWSER)) return set(out, "QQBrowser", s.ver(P_QQBROWSER));
  if (s.has(P_MQQBROWSER)) return set(out, "QQBrowser", s.ver(P_MQQBROWSER));
  // In-app browsers.
  for (int k = 0; k < s.nitem; k++) {
    Span t = s.item[k].text;
    if (istarts(t, "fbav/")) return set(out, "Facebook", sub(t, 5));
  }
  for (int k = 0; k < s.nitem; k++) {
    Span t = s.item[k].text;
    if (istarts(t, "fban/fbios") || istarts(t, "fb_iab/fb4a")) return set(out, "Facebook", Span{});
  }
  if (s.has(P_FBAN) || s.has(P_FB_IAB)) return set(out, "Facebook", Span{});
  if (s.has(P_KLARNA)) return set(out, "Klarna", s.ver(P_KLARNA));
  if (s.has(P_KAKAOTALK)) return set(out, "KAKAOTALK", s.ver(P_KAKAOTALK));
  if ((i = s.find(P_LINE)) >= 0 &&
      ((i > 0 && s.prod[i - 1].id == P_SAFARI && s.prod[i - 1].ver.empty()) || icontains(s.prod[i].ver, "/iab")))
    return set(out, "Line", s.prod[i].ver);
  if (s.has(P_CHROMIUM)) return set(out, "Chromium", s.ver(P_CHROMIUM));
  if (s.has(P_INSTAGRAM)) return set(out, "Instagram", s.ver(P_INSTAGRAM));
  if (s.has(P_SNAPCHAT)) return set(out, "Snapchat", s.ver(P_SNAPCHAT));
  if ((i = s.find(P_GSA)) >= 0 && after(s, i, P_SAFARI) > i) return set(out, "GSA", s.prod[i].ver);
  if (s.has(P_TIKTOK) || s.has(P_BYTELOCALE)) return set(out, "TikTok", Span{});
  if (s.has(P_HEADLESSCHROME)) return set(out, "Chrome Headless", s.ver(P_HEADLESSCHROME));
  if (s.has(P_CHROME) && has_item_eq(s, "wv")) return set(out, "Chrome WebView", s.ver(P_CHROME));
  if ((i = s.find(P_VERSION)) >= 0 && after(s, i, P_SAFARI) > i && is_android(s))
    return set(out, "Android Browser", s.prod[i].ver);
  if (s.has(P_CHROME)) return set(out, "Chrome", s.ver(P_CHROME));
  if ((i = s.find(P_VERSION)) >= 0) {
    int safari = after(s, i, P_SAFARI);
    if (safari < 0) safari = after(s, i, P_MOBILESAFARI);
    if (safari > i) {
      // "Version/17.0 Mobile/15E148 Safari/604.1" is Mobile Safari.
      for (int k = i + 1; k < safari; k++)
        if (s.prod[k].id == P_MOBILE && !s.prod[k].ver.empty()) return set(out, "Mobile Safari", s.prod[i].ver);
      if (s.prod[safari].id == P_MOBILESAFARI) return set(out, "Mobile Safari", s.prod[i].ver);
      return set(out, "Safari", s.prod[i].ver);
    }
  }
  if ((i = s.find(P_APPLEWEBKIT)) >= 0) {
    int safari = after(s, i, P_SAFARI);
    if (safari > i) {
      bool mobile = s.prod[safari - 1].id == P_MOBILE && s.prod[safari - 1].ver.empty();
      if (mobile) return set(out, "Mobile Safari", Span{});
      return set(out, "Safari", Span{});
    }
    return set(out, "WebKit", s.prod[i].ver);
  }
  if (s.has(P_NETSCAPE)) return set(out, "Netscape", s.ver(P_NETSCAPE));
  if (s.has(P_NAVIGATOR)) return set(out, "Netscape", s.ver(P_NAVIGATOR));
  if (s.has(P_WOLVIC)) return set(out, "Wolvic", s.ver(P_WOLVIC));
  if (s.has(P_LIBREWOLF)) return set(out, "LibreWolf", s.ver(P_LIBREWOLF));
  if (s.has(P_FIREFOX) && has_item_start(s, "mobile vr")) {
    for (int k = 0; k < s.nitem; k++)
      if (istarts(s.item[k].text, "rv:")) return set(out, "Firefox Reality", sub(s.item[k].text, 3));
  }
  if (s.has(P_ICEWEASEL)) return set(out, "Iceweasel", s.ver(P_ICEWEASEL));
  if (s.has(P_FENNEC)) return set(out, "Fennec", s.ver(P_FENNEC));
  if (s.has(P_SEAMONKEY)) return set(out, "SeaMonkey", s.ver(P_SEAMONKEY));
  if (s.has(P_PALEMOON)) return set(out, "PaleMoon", s.ver(P_PALEMOON));
  if (s.has(P_WATERFOX)) return set(out, "Waterfox", s.ver(P_WATERFOX));
  if (s.has(P_FIREFOX)) return set(out, "Firefox", s.ver(P_FIREFOX));
  if (s.has(P_MOZILLA) && s.has(P_GECKO) && has_item_start(s, "rv:")) return set(out, "Mozilla", s.ver(P_MOZILLA));
}

}  // namespace hp::ua
