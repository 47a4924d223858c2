// Device type, vendor and model. Known vendors are recognised by the model
// names they put in the Android comment (SM-*, Pixel, moto, CPH, ...);
// televisions, consoles, wearables and cars by their markers; the rest by
// the generic rule of ua-parser-js: an Android model followed by
// "Mobile Safari" is a phone, by "Safari" alone a tablet.
#include "ua/detect.h"

namespace hp::ua {

namespace {

struct Dev {
  int type = -1;  // -1: not decided
  const char *vendor = nullptr;
  Span model;
  const char *model_lit = nullptr;
};

void set_out(hp_ua_result *out, const Dev &d) {
  out->device_type = d.type < 0 ? HP_UA_DESKTOP : d.type;
  if (d.vendor) put(out->vendor, Span{d.vendor, static_cast<uint32_t>(std::strlen(d.vendor))});
  if (d.model_lit)
    put(out->model, Span{d.model_lit, static_cast<uint32_t>(std::strlen(d.model_lit))});
  else
    put(out->model, d.model);
}

bool digit_at(Span m, uint32_t i) { return i < m.n && is_digit(m.p[i]); }

// Huawei's model codes: 2-4 letters/digits, an optional 'e', '-', an
// optional [atu], then [ln], [0-9x], [012359c] ("ELE-L29", "CTR-L81").
bool huawei_code(Span m) {
  int dash = ifind(m, "-");
  if (dash < 2 || dash > 5) return false;
  for (int i = 0; i < dash; i++)
    if (!is_word(m.p[i])) return false;
  uint32_t i = static_cast<uint32_t>(dash) + 1;
  if (i < m.n && (lower(m.p[i]) == 'a' || lower(m.p[i]) == 't' || lower(m.p[i]) == 'u')) i++;
  if (!(i < m.n && (lower(m.p[i]) == 'l' || lower(m.p[i]) == 'n'))) return false;
  i++;
  if (!(i < m.n && (is_digit(m.p[i]) || lower(m.p[i]) == 'x'))) return false;
  i++;
  if (!(i < m.n && (m.p[i] == '0' || m.p[i] == '1' || m.p[i] == '2' || m.p[i] == '3' || m.p[i] == '5' ||
                    m.p[i] == '9' || lower(m.p[i]) == 'c')))
    return false;
  i++;
  if (i < m.n && (lower(m.p[i]) == 'a' || lower(m.p[i]) == 'd' || lower(m.p[i]) == 'n')) i++;
  return i == m.n || !is_word(m.p[i]);
}

// Xiaomi's numeric model names: "23127PN0CC", "2201117TG", "M2012K11AG".
bool xiaomi_numeric(Span m) {
  uint32_t i = 0;
  if (i < m.n && lower(m.p[i]) == 'm') i++;
  if (!(i < m.n && (m.p[i] == '1' || m.p[i] == '2'))) return false;
  i++;
  if (!digit_at(m, i) || m.p[i] == '4' || m.p[i] == '5' || m.p[i] == '6' || m.p[i] == '7') return false;
  i++;
  if (!(i < m.n && (m.p[i] == '0' || m.p[i] == '1'))) return false;
  i++;
  uint32_t rest = m.n - i;
  if (rest < 4 || rest > 7) return false;
  for (uint32_t k = i; k < m.n; k++)
    if (!is_word(m.p[k])) return false;
  char last = lower(m.p[m.n - 1]);
  return last >= 'c' && last <= 'y';
}

// Vendor (and type) from an Android model name.
void vendor_of(Span m, Dev &d) {
  if (m.empty()) return;
  if (istarts(m, "samsung ") || istarts(m, "samsung-")) {
    vendor_of(sub(m, 8), d);
    if (!d.vendor) d = Dev{HP_UA_MOBILE, "Samsung", Span{}};
    return;
  }
  auto is = [&](const char *v, int type) {
    d.vendor = v;
    d.type = type;
  };
  if ((istarts(m, "sm-") && m.n > 3 && (lower(m.p[3]) == 'p' || lower(m.p[3]) == 't' || lower(m.p[3]) == 'x')) ||
      (istarts(m, "gt-") && m.n > 4 && (lower(m.p[3]) == 'p' || lower(m.p[3]) == 'n') && digit_at(m, 4)) ||
      istarts(m, "sch-i8") || istarts(m, "sch-i9") || ieq(m, "nexus 10"))
    return is("Samsung", HP_UA_TABLET);
  if (istarts(m, "sm-") && m.n > 3 && (lower(m.p[3]) == 'r' || lower(m.p[3]) == 'l') && digit_at(m, 4))
    return is("Samsung", HP_UA_WEARABLE);
  if (istarts(m, "sm-") || istarts(m, "gt-") || istarts(m, "sch-") || istarts(m, "sgh-") || istarts(m, "sph-") ||
      istarts(m, "scg") || ieq(m, "galaxy nexus") || istarts(m, "samsung"))
    return is("Samsung", HP_UA_MOBILE);
  if (istarts(m, "pixel c") || istarts(m, "pixel tablet")) return is("Google", HP_UA_TABLET);
  if (istarts(m, "pixel")) return is("Google", HP_UA_MOBILE);
  if (istarts(m, "nexus 4") || istarts(m, "nexus 5") || istarts(m, "lm-") || istarts(m, "lg-") ||
      istarts(m, "lg "))
    return is("LG", HP_UA_MOBILE);
  if (istarts(m, "nexus 6p") || istarts(m, "huawei")) return is("Huawei", HP_UA_MOBILE);
  if (istarts(m, "nexus 6")) return is("Motorola", HP_UA_MOBILE);
  if (istarts(m, "nexus 7")) return is("ASUS", HP_UA_TABLET);
  if (istarts(m, "nexus 9")) return is("HTC", HP_UA_TABLET);
  if (istarts(m, "honor")) return is("Honor", HP_UA_MOBILE);
  if (istarts(m, "moto 360")) return is("Motorola", HP_UA_WEARABLE);
  if (istarts(m, "moto") || istarts(m, "motorola") || istarts(m, "mot-") ||
      (istarts(m, "xt") && digit_at(m, 2) && digit_at(m, 3) && digit_at(m, 4)))
    return is("Motorola", HP_UA_MOBILE);
  if (istarts(m, "mi pad") || istarts(m, "redmi pad") || istarts(m, "mipad")) return is("Xiaomi", HP_UA_TABLET);
  if (istarts(m, "redmi") || istarts(m, "poco") || istarts(m, "mi ") || istarts(m, "mi-") || istarts(m, "mi_") ||
      istarts(m, "hm note") || xiaomi_numeric(m))
    return is("Xiaomi", HP_UA_MOBILE);
  if ((istarts(m, "cph") && digit_at(m, 3) && digit_at(m, 6)) || istarts(m, "oppo")) return is("OPPO", HP_UA_MOBILE);
  if (istarts(m, "rmx") && digit_at(m, 3)) return is("Realme", HP_UA_MOBILE);
  if (istarts(m, "vivo")) return is("Vivo", HP_UA_MOBILE);
  if (istarts(m, "oneplus")) return is("OnePlus", HP_UA_MOBILE);
  if (istarts(m, "kf") && m.n >= 6 && istarts(sub(m, 4), "wi")) return is("Amazon", HP_UA_TABLET);
  if (istarts(m, "aft")) return is("Amazon", HP_UA_SMARTTV);
  if (istarts(m, "nokia")) return is("Nokia", HP_UA_MOBILE);
  if (istarts(m, "htc")) return is("HTC", HP_UA_MOBILE);
  if (istarts(m, "zte")) return is("ZTE", HP_UA_MOBILE);
  if (istarts(m, "asus") || istarts(m, "zenfone")) return is("ASUS", HP_UA_MOBILE);
  if (istarts(m, "lenovo tb") || istarts(m, "tb-")) return is("Lenovo", HP_UA_TABLET);
  if (istarts(m, "lenovo")) return is("Lenovo", HP_UA_MOBILE);
  if (istarts(m, "tecno")) return is("TECNO", HP_UA_MOBILE);
  if (istarts(m, "infinix")) return is("Infinix", HP_UA_MOBILE);
  if (istarts(m, "so-") || istarts(m, "xq-")) return is("Sony", HP_UA_MOBILE);
  if (huawei_code(m)) return is("Huawei", HP_UA_MOBILE);
}

}  // namespace

void detect_device(const Scan &s, hp_ua_result *out) {
  Dev d;
  // Apple, televisions, consoles, wearables, cars: markers in the comments.
  for (int i = 0; i < s.nitem && d.type < 0; i++) {
    Span t = s.item[i].text;
    if (istarts(t, "iphone") || istarts(t, "ipod")) {
      d = Dev{HP_UA_MOBILE, "Apple", t};
    } else if (istarts(t, "ipad")) {
      d = Dev{HP_UA_TABLET, "Apple", t};
    } else if (istarts(t, "smart-tv") || istarts(t, "smarttv") || istarts(t, "smart tv") ||
               istarts(t, "googletv") || istarts(t, "hbbtv") || istarts(t, "netcast") || istarts(t, "web0s") ||
               icontains(t, "android tv") || istarts(t, "opera tv") || istarts(t, "bravia") ||
               istarts(t, "aquos") || istarts(t, "roku")) {
      d.type = HP_UA_SMARTTV;
      if (icontains(s.all, "samsung")) d.vendor = "Samsung";
      if (istarts(t, "netcast") || icontains(s.all, "lg browser")) d.vendor = "LG";
    } else if (istarts(t, "appletv") || istarts(t, "apple tv")) {
      d = Dev{HP_UA_SMARTTV, "Apple", Span{}, "Apple TV"};
    } else if (istarts(t, "playstation ")) {
      d = Dev{HP_UA_CONSOLE, "Sony", Span{t.p, 12 + version_run(sub(t, 12)).n}};
    } else if (istarts(t, "nintendo")) {
      d = Dev{HP_UA_CONSOLE, "Nintendo", trim(sub(t, 8))};
    } else if (istarts(t, "xbox")) {
      // "Xbox; Xbox One": the longer item names the model.
      if (i + 1 < s.nitem && istarts(s.item[i + 1].text, "xbox ")) t = s.item[i + 1].text;
      d = Dev{HP_UA_CONSOLE, "Microsoft", t};
    } else if (istarts(t, "watch") && t.n > 5 && (is_digit(t.p[5]) || t.p[5] == ' ')) {
      d = Dev{HP_UA_WEARABLE, "Apple", Span{t.p, 5}};
    } else if (istarts(t, "quest")) {
      d = Dev{HP_UA_WEARABLE, "Facebook", t};
    } else if (istarts(t, "windows iot")) {
      d.type = HP_UA_EMBEDDED;
    } else if (ieq(t, "macintosh")) {
      d.vendor = "Apple";
      d.model = t;
    }
  }
  if (d.type < 0 && s.has(P_CRKEY)) d = Dev{HP_UA_SMARTTV, "Google", Span{}, "Chromecast"};
  if (d.type < 0 && (s.has(P_TESLA) || s.has(P_QTCARBROWSER))) d = Dev{HP_UA_EMBEDDED, "Tesla", Span{}};
  if (d.type >= 0 || d.vendor) return set_out(out, d);

  // Android: the model is the item with " Build/", or the comment's last
  // item ("; wv" skipped) when the comment is followed by AppleWebKit.
  bool android = out->os[0] == 'A' || std::strcmp(out->os, "HarmonyOS") == 0;
  int android_item = -1;
  for (int i = 0; i < s.nitem; i++)
    if (ifind(s.item[i].text, "android") >= 0) {
      android_item = i;
      break;
    }
  Span model;
  if (android_item >= 0) {
    uint8_t group = s.item[android_item].comment;
    int last = -1;
    for (int i = android_item + 1; i < s.nitem && s.item[i].comment == group; i++) {
      Span t = s.item[i].text;
      int build = ifind(t, " build/");
      if (build < 0 && istarts(t, "build/")) build = 0;
      if (build >= 0) {
        model = trim(Span{t.p, static_cast<uint32_t>(build)});
        last = -2;
        break;
      }
      last = i;
    }
    if (last >= 0) {
      int k = last;
      if (ieq(s.item[k].text, "wv") && k - 1 > android_item) k--;
      Span t = s.item[k].text;
      // Only when the comment is followed by AppleWebKit (or "wv" closes it).
      int next_prod = s.item[k].after;
      bool webkit = next_prod < s.nprod && s.prod[next_prod].id == P_APPLEWEBKIT;
      if (webkit && !ieq(t, "wv") && !istarts(t, "rv:") && !ieq(t, "mobile") && !ieq(t, "tablet")) model = t;
    }
    if (!model.empty()) {
      // "ONEPLUS A6013", "HUAWEI ELE-L29", "SAMSUNG SM-G991B": names as they are.
      vendor_of(model, d);
      d.model = (d.type == HP_UA_SMARTTV && istarts(model, "aft")) ? sub(model, 3) : model;
    }
  }
  if (d.type < 0 && android && !model.empty()) {
    // Generic: "... Mobile Safari" is a phone, "... Safari" a tablet.
    int safari = s.find(P_SAFARI);
    if (safari >= 0) {
      bool mobile_safari = safari > 0 && s.prod[safari - 1].id == P_MOBILE && s.prod[safari - 1].ver.empty();
      d.type = mobile_safari ? HP_UA_MOBILE : HP_UA_TABLET;
    }
  }
  if (d.type < 0) {
    // Unidentified devices: "Tablet;" / "Mobile;" markers.
    for (int i = 0; i < s.nitem && d.type < 0; i++) {
      Span t = s.item[i].text;
      if (ieq(t, "tablet") || ieq(t, "tab")) d.type = HP_UA_TABLET;
      else if (ieq(t, "mobile") || icontains(t, "phone")) d.type = HP_UA_MOBILE;
    }
    for (int i = 0; i < s.nprod && d.type < 0; i++) {
      const Product &p = s.prod[i];
      if (p.id == P_MOBILE && (!p.ver.empty() || s.find(P_SAFARI) > i)) d.type = HP_UA_MOBILE;
      else if (p.id == P_FOCUS)
        d.type = HP_UA_TABLET;
    }
  }
  set_out(out, d);
}

}  // namespace hp::ua
