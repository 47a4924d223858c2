// The tokenizer: one left-to-right pass that splits a User-Agent string into
// product tokens ("Chrome/120.0", "Instagram 300.0") and comment items (the
// ';'-separated parts inside parentheses), and marks which known products
// occur. Everything lives in a fixed-size struct on the caller's stack.
#pragma once

#include <cstdint>

#include "ua/text.h"

namespace hp::ua {

// Known product names (compared case-insensitively). The order is free; the
// detection code decides precedence.
#define HP_UA_PRODUCTS(X)                                                                   \
  X(CRIOS, "crios") X(CRMO, "crmo") X(EDGE, "edge") X(EDG, "edg") X(EDGA, "edga")           \
  X(EDGIOS, "edgios") X(OPERA, "opera") X(OPIOS, "opios") X(OPX, "opx") X(OPRGX, "oprgx")   \
  X(OPR, "opr") X(BAIDUBOXAPP, "baiduboxapp") X(BIDUBROWSER, "bidubrowser")                 \
  X(BAIDUBROWSER, "baidubrowser") X(MXBROWSER, "mxbrowser") X(MXIOS, "mxios")               \
  X(KINDLE, "kindle") X(MAXTHON, "maxthon") X(NETFRONT, "netfront")                         \
  X(SLEIPNIR, "sleipnir") X(IEMOBILE, "iemobile") X(SILK, "silk") X(VIVALDI, "vivaldi")     \
  X(BRAVE, "brave") X(WHALE, "whale") X(DUCKDUCKGO, "duckduckgo") X(PUFFIN, "puffin")       \
  X(IRON, "iron") X(EPIPHANY, "epiphany") X(MIDORI, "midori") X(PHANTOMJS, "phantomjs")     \
  X(FALKON, "falkon") X(QUPZILLA, "qupzilla") X(KLAR, "klar") X(HEYTAPBROWSER, "heytapbrowser") \
  X(QUARK, "quark") X(DDG, "ddg") X(UCBROWSER, "ucbrowser") X(UBROWSER, "ubrowser")         \
  X(MICROMESSENGER, "micromessenger") X(KONQUEROR, "konqueror") X(YABROWSER, "yabrowser")   \
  X(YASEARCHBROWSER, "yasearchbrowser") X(SLBROWSER, "slbrowser") X(AVAST, "avast")         \
  X(AVG, "avg") X(FOCUS, "focus") X(OPT, "opt") X(COCCOC, "coc_coc_browser")                \
  X(DOLFIN, "dolfin") X(COAST, "coast") X(MIUIBROWSER, "miuibrowser") X(FXIOS, "fxios")     \
  X(QIHOOBROWSER, "qihoobrowser") X(QQ, "qq") X(HUAWEIBROWSER, "huaweibrowser")             \
  X(VIVOBROWSER, "vivobrowser") X(OCULUSBROWSER, "oculusbrowser")                           \
  X(SAMSUNGBROWSER, "samsungbrowser") X(SOGOUMOBILEBROWSER, "sogoumobilebrowser")           \
  X(ELECTRON, "electron") X(QQBROWSER, "qqbrowser") X(MQQBROWSER, "mqqbrowser")             \
  X(KLARNA, "klarna") X(KAKAOTALK, "kakaotalk") X(LINE, "line") X(INSTAGRAM, "instagram")   \
  X(SNAPCHAT, "snapchat") X(CHROMIUM, "chromium") X(GSA, "gsa")                             \
  X(HEADLESSCHROME, "headlesschrome") X(CHROME, "chrome") X(VERSION, "version")             \
  X(MOBILE, "mobile") X(SAFARI, "safari") X(MOBILESAFARI, "mobilesafari")                   \
  X(APPLEWEBKIT, "applewebkit") X(WEBKIT, "webkit") X(NETSCAPE, "netscape")                 \
  X(NAVIGATOR, "navigator") X(WOLVIC, "wolvic") X(LIBREWOLF, "librewolf")                   \
  X(SEAMONKEY, "seamonkey") X(PALEMOON, "palemoon") X(WATERFOX, "waterfox")                 \
  X(ICEWEASEL, "iceweasel") X(FENNEC, "fennec") X(FIREFOX, "firefox") X(GECKO, "gecko")     \
  X(TRIDENT, "trident") X(PRESTO, "presto") X(ARKWEB, "arkweb") X(CRKEY, "crkey")           \
  X(KAIOS, "kaios") X(MOZILLA, "mozilla") X(CFNETWORK, "cfnetwork") X(DARWIN, "darwin")     \
  X(TESLA, "tesla") X(QTCARBROWSER, "qtcarbrowser") X(FBAN, "fban") X(FB_IAB, "fb_iab")     \
  X(TIKTOK, "musical_ly") X(BYTELOCALE, "bytelocale")

enum ProductId : uint8_t {
#define HP_UA__ENUM(id, name) P_##id,
  HP_UA_PRODUCTS(HP_UA__ENUM)
#undef HP_UA__ENUM
  P_COUNT,
  P_NONE = 255
};

struct Product {
  Span name;
  Span ver;  // after '/', or a following word that starts with a digit
  uint8_t id;
};

struct Item {
  Span text;        // trimmed
  uint8_t comment;  // which parenthesised group, from 0
  uint8_t after;    // number of products before this item
};

constexpr int kMaxProducts = 48;
constexpr int kMaxItems = 64;

struct Scan {
  Span all;
  Product prod[kMaxProducts];
  int nprod = 0;
  Item item[kMaxItems];
  int nitem = 0;
  int8_t at[P_COUNT];  // index of the first product with that id, or -1

  // Index of the first product among the ids, or -1.
  int find(uint8_t id) const { return at[id]; }
  bool has(uint8_t id) const { return at[id] >= 0; }
  Span ver(uint8_t id) const { return at[id] >= 0 ? prod[at[id]].ver : Span{}; }
};

// Fills `s` from the string. Linear in len.
void scan(Scan &s, const char *ua, uint32_t len);

// The id of a product name, or P_NONE.
uint8_t product_id(Span name);

}  // namespace hp::ua
