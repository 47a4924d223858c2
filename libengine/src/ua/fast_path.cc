// Which strings the detectors answer instead of the tables: the common
// shapes of Chrome, Edge, Firefox, Opera and Safari on Windows, macOS,
// desktop Linux, Android (the reduced "Android 10; K" form and Firefox's
// "Mobile"/"Tablet") and iOS (Safari, Chrome, Firefox and Edge), every product
// and comment item of which is one the detectors read as ua-parser-js does;
// on Android also with a "<model> Build/<id>" item, whose device the tables
// read (the detectors still answer browser, engine and OS; so the item may
// hold nothing the browser, engine and OS rules look for). Anything else,
// even one unknown token, goes to the tables. (The ua tests check the two
// paths agree on every corpus string this admits.)
#include <cstring>

#include "ua/detect.h"
#include "ua/long_tail.h"

namespace hp::ua {

namespace {

bool version_like(Span v, bool underscores = false) {
  if (v.empty() || !is_digit(v.p[0])) return false;
  for (uint32_t i = 0; i < v.n; i++)
    if (!is_digit(v.p[i]) && v.p[i] != '.' && !(underscores && v.p[i] == '_')) return false;
  return true;
}

// "<prefix><version><suffix>"
template <size_t A, size_t B>
bool wraps_version(Span t, const char (&prefix)[A], const char (&suffix)[B]) {
  if (!istarts(t, prefix) || t.n < (A - 1) + (B - 1)) return false;
  Span tail = sub(t, t.n - (B - 1));
  if (!ieq_n(tail.p, suffix, B - 1)) return false;
  return version_like(sub(t, A - 1, t.n - (A - 1) - (B - 1)), true);
}

bool known_item(Span t) {
  static const char *const words[] = {"win64", "x64", "wow64", "macintosh", "x11", "linux x86_64",
                                      "linux", "k", "iphone", "ipad", "khtml, like gecko", "mobile",
                                      "tablet", "ubuntu", "linux i686"};
  for (const char *w : words) {
    size_t n = std::strlen(w);
    if (t.n == n && ieq_n(t.p, w, n)) return true;
  }
  if (istarts(t, "windows nt ")) return version_like(sub(t, 11));
  if (istarts(t, "rv:")) return version_like(sub(t, 3));
  if (istarts(t, "android ")) return version_like(sub(t, 8));
  if (istarts(t, "intel mac os x ")) return version_like(sub(t, 15), true);
  return wraps_version(t, "cpu iphone os ", " like mac os x") || wraps_version(t, "cpu os ", " like mac os x");
}

// "Pixel 7 Build/TQ3A.230805.001": an Android model name (letters, digits,
// spaces, '-', '_', '.') and its build id.
bool model_item(Span t) {
  const int build = ifind(t, " build/");
  if (build <= 0 || (!is_alpha(t.p[0]) && !is_digit(t.p[0]))) return false;
  for (int i = 0; i < build; i++) {
    const char c = t.p[i];
    if (!is_word(c) && c != ' ' && c != '-' && c != '.') return false;
  }
  Span id = sub(t, static_cast<uint32_t>(build) + 7);
  if (id.empty()) return false;
  for (uint32_t i = 0; i < id.n; i++)
    if (!is_word(id.p[i]) && id.p[i] != '.' && id.p[i] != '-') return false;
  return true;
}

bool known_product(const Product &p, int index) {
  switch (p.id) {
    case P_MOZILLA:
      return index == 0 && ieq(p.ver, "5.0");
    case P_MOBILE:  // "Mobile/15E148" on iOS, a bare "Mobile" on Android
      for (uint32_t i = 0; i < p.ver.n; i++)
        if (!is_digit(p.ver.p[i]) && !is_alpha(p.ver.p[i])) return false;
      return true;
    case P_APPLEWEBKIT:
    case P_CRIOS:
    case P_FXIOS:
    case P_EDGIOS:
    case P_OPR:
    case P_CHROME:
    case P_SAFARI:
    case P_VERSION:
    case P_GECKO:
    case P_FIREFOX:
    case P_EDG:
      return index > 0 && version_like(p.ver);
    default:
      return false;
  }
}

}  // namespace

FastPath fast_path(const Scan &s) {
  if (s.nprod < 2 || s.nprod >= kMaxProducts || s.nitem >= kMaxItems) return FAST_NONE;
  for (int i = 0; i < s.nprod; i++)
    if (!known_product(s.prod[i], i)) return FAST_NONE;
  bool android = false, model = false;
  for (int i = 0; i < s.nitem; i++) {
    if (s.item[i].comment > 1) return FAST_NONE;
    if (known_item(s.item[i].text)) {
      android = android || istarts(s.item[i].text, "android ");
    } else if (!model && model_item(s.item[i].text) &&
               only_device_rules_read(s.item[i].text.p, s.item[i].text.n)) {
      model = true;
    } else {
      return FAST_NONE;
    }
  }
  if (!model) return FAST_ALL;
  return android ? FAST_BUT_DEVICE : FAST_NONE;
}

}  // namespace hp::ua
