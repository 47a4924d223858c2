// Operating system name and version from the comment items (and a few
// products), in ua-parser-js's order: Windows Phone, Windows, iOS, Mac OS,
// HarmonyOS, Android and the other mobile systems, Chromium OS, consoles,
// Linux distributions, BSDs and the rest.
#include "ua/detect.h"

namespace hp::ua {

namespace {

enum Rank : int {
  R_WINPHONE,
  R_WINDOWS,
  R_IOS,
  R_MAC,
  R_HARMONY,
  R_ANDROID,
  R_MOBILE_OTHER,
  R_FIREFOX_OS,
  R_WEBOS,
  R_WATCHOS,
  R_CHROMECAST,
  R_CROS,
  R_CONSOLE,
  R_DISTRO,
  R_LINUX,
  R_BSD,
  R_OTHER,
  R_NONE
};

struct Best {
  int rank = R_NONE;
  const char *name = nullptr;
  Span name_span;  // used when name is null
  Span ver;
  bool underscore = false;
  // A later item of the same rank may add the version ("Macintosh", then
  // "Intel Mac OS X 10_15_7").
  void offer(int r, const char *n, Span v, bool u = false) {
    if (r < rank || (r == rank && ver.empty() && !v.empty())) *this = Best{r, n, Span{}, v, u};
  }
  void offer_span(int r, Span n, Span v) {
    if (r < rank) *this = Best{r, nullptr, n, v, false};
  }
};

// "NT 10.0" -> "10" and so on, as ua-parser-js maps them.
Span windows_version(Span v) {
  struct Map {
    const char *from;
    const char *to;
    uint8_t from_len;
    uint8_t to_len;
  };
#define HP_UA__M(f, t) {f, t, sizeof(f) - 1, sizeof(t) - 1}
  static const Map map[] = {HP_UA__M("nt 10.0", "10"),    HP_UA__M("nt 6.4", "10"),   HP_UA__M("nt 6.3", "8.1"),
                            HP_UA__M("nt 6.2", "8"),      HP_UA__M("nt 6.1", "7"),    HP_UA__M("nt 6.0", "Vista"),
                            HP_UA__M("nt 5.2", "XP"),     HP_UA__M("nt 5.1", "XP"),   HP_UA__M("nt 5.01", "2000"),
                            HP_UA__M("nt 5.0", "2000"),   HP_UA__M("nt 4.0", "NT4.0"), HP_UA__M("4.90", "ME"),
                            HP_UA__M("ce", "CE"),         HP_UA__M("arm", "RT")};
#undef HP_UA__M
  for (const Map &m : map)
    if (v.n == m.from_len && ieq_n(v.p, m.from, m.from_len)) return Span{m.to, m.to_len};
  return v;
}

// The word after `prefix_len` bytes, then its version run.
Span after_word(Span t, uint32_t at) {
  Span rest = sub(t, at);
  while (rest.n && (rest.p[0] == ' ' || rest.p[0] == '/' || rest.p[0] == '-')) rest = sub(rest, 1);
  return version_run(rest);
}

void from_item(Span t, Best &b, bool xbox) {
  if (istarts(t, "windows phone") || istarts(t, "windows mobile") || istarts(t, "windows iot")) {
    uint32_t name_len = istarts(t, "windows phone os") ? 16 : (istarts(t, "windows iot") ? 11 : (istarts(t, "windows phone") ? 13 : 14));
    Span ver = trim(sub(t, name_len));
    b.offer_span(R_WINPHONE, Span{t.p, name_len}, ver);
    return;
  }
  if (istarts(t, "windows") && !xbox) {
    Span rest = trim(sub(t, 7));
    b.offer(R_WINDOWS, "Windows", windows_version(rest));
    return;
  }
  if (istarts(t, "win") && t.n > 3 && (t.p[3] == '9' || t.p[3] == '3' || lower(t.p[3]) == 'n') && !istarts(t, "win64") &&
      !xbox) {
    b.offer(R_WINDOWS, "Windows", windows_version(sub(t, 3)));
    return;
  }
  const char c0 = lower(t.p[0]);
  int like = (c0 == 'c' || c0 == 'i') ? ifind(t, "like mac os x") : -1;
  if (like > 0) {
    // "CPU iPhone OS 17_1 like Mac OS X", "CPU OS 16_0 like Mac OS X"
    int os = ifind(t, "os ");
    if (os >= 0 && os < like) {
      b.offer(R_IOS, "iOS", version_run(sub(t, static_cast<uint32_t>(os) + 3)), true);
      return;
    }
  }
  int mac = (c0 == 'i' || c0 == 'p' || c0 == 'm') ? ifind(t, "mac os x") : -1;
  if (mac >= 0) {
    Span v = trim(sub(t, static_cast<uint32_t>(mac) + 8));
    uint32_t n = 0;
    while (n < v.n && (is_word(v.p[n]) || v.p[n] == '.')) n++;
    b.offer(R_MAC, "Mac OS", Span{v.p, n}, true);
    return;
  }
  if (ieq(t, "macintosh") || istarts(t, "mac_powerpc")) {
    b.offer(R_MAC, "Mac OS", Span{});
    return;
  }
  if (istarts(t, "harmonyos")) {
    b.offer(R_HARMONY, "HarmonyOS", Span{});
    return;
  }
  if (istarts(t, "android")) {
    Span rest = sub(t, 7);
    while (rest.n && (rest.p[0] == ' ' || rest.p[0] == '/' || rest.p[0] == '-' || rest.p[0] == ';')) rest = sub(rest, 1);
    b.offer(R_ANDROID, "Android", digits_run(rest));
    return;
  }
  if (istarts(t, "linux") && ifind(t, "android") > 0) {
    b.offer(R_ANDROID, "Android", digits_run(sub(t, static_cast<uint32_t>(ifind(t, "android")) + 8)));
    return;
  }
  if (istarts(t, "blackberry")) return b.offer(R_MOBILE_OTHER, "BlackBerry", Span{});
  if (ieq(t, "bb10")) return b.offer(R_MOBILE_OTHER, "BlackBerry", Span{"10", 2});
  if (istarts(t, "kaios")) return b.offer(R_MOBILE_OTHER, "KAIOS", after_word(t, 5));
  if (istarts(t, "tizen")) return b.offer(R_MOBILE_OTHER, "Tizen", after_word(t, 5));
  if (istarts(t, "sailfish")) return b.offer(R_MOBILE_OTHER, "Sailfish", Span{});
  if (istarts(t, "symbianos") || istarts(t, "symbian")) return b.offer(R_MOBILE_OTHER, "Symbian", Span{});
  if (istarts(t, "web0s") || istarts(t, "webos")) return b.offer(R_WEBOS, "webOS", Span{});
  if (istarts(t, "cros ")) {
    // "CrOS x86_64 14541.0.0": the version is the third word.
    Span rest = sub(t, 5);
    int sp = ifind(rest, " ");
    b.offer(R_CROS, "Chromium OS", sp >= 0 ? version_run(sub(rest, static_cast<uint32_t>(sp) + 1)) : Span{});
    return;
  }
  if (istarts(t, "playstation ")) return b.offer(R_CONSOLE, "PlayStation", version_run(sub(t, 12)));
  if (istarts(t, "nintendo ")) return b.offer(R_CONSOLE, "Nintendo", version_run(sub(t, 9)));
  if (istarts(t, "xbox ")) return b.offer(R_CONSOLE, "Xbox", trim(sub(t, 5)));
  struct Distro {
    const char *lit;
    const char *name;
    uint32_t n;
  };
#define HP_UA__D(l, n) {l, n, sizeof(l) - 1}
  static const Distro distros[] = {HP_UA__D("ubuntu", "Ubuntu"),     HP_UA__D("kubuntu", "Kubuntu"),
                                   HP_UA__D("xubuntu", "Xubuntu"),   HP_UA__D("debian", "Debian"),
                                   HP_UA__D("fedora", "Fedora"),     HP_UA__D("centos", "CentOS"),
                                   HP_UA__D("gentoo", "Gentoo"),     HP_UA__D("opensuse", "openSUSE"),
                                   HP_UA__D("suse", "SUSE"),         HP_UA__D("mint", "Mint"),
                                   HP_UA__D("manjaro", "Manjaro"),   HP_UA__D("red hat", "Red Hat"),
                                   HP_UA__D("raspbian", "Raspbian"), HP_UA__D("slackware", "Slackware")};
#undef HP_UA__D
  const char first = lower(t.p[0]);
  for (const Distro &d : distros) {
    if (d.lit[0] != first) continue;
    size_t n = d.n;
    if (t.n >= n && ieq_n(t.p, d.lit, n) && (t.n == n || !is_alpha(t.p[n]))) {
      Span rest = sub(t, static_cast<uint32_t>(n));
      if (rest.n && (rest.p[0] == '/' || rest.p[0] == ' ' || rest.p[0] == '-')) rest = sub(rest, 1);
      Span ver = version_run(rest);
      if (istarts(ver, "linux") || istarts(ver, "chrom")) ver = Span{};
      b.offer(R_DISTRO, d.name, ver);
      return;
    }
  }
  if (istarts(t, "linux")) {
    Span rest = trim(sub(t, 5));
    // "Linux x86_64", "Linux armv8l": the architecture is not a version.
    if (istarts(rest, "x86") || istarts(rest, "arm") || istarts(rest, "i686") || istarts(rest, "aarch") ||
        istarts(rest, "mips"))
      rest = Span{};
    b.offer(R_LINUX, "Linux", version_run(rest));
    return;
  }
  if (istarts(t, "freebsd")) return b.offer(R_BSD, "FreeBSD", Span{});
  if (istarts(t, "openbsd")) return b.offer(R_BSD, "OpenBSD", Span{});
  if (istarts(t, "netbsd")) return b.offer(R_BSD, "NetBSD", Span{});
  if (istarts(t, "sunos")) return b.offer(R_OTHER, "Solaris", after_word(t, 5));
  if (istarts(t, "fuchsia")) return b.offer(R_OTHER, "Fuchsia", Span{});
  if (istarts(t, "haiku")) return b.offer(R_OTHER, "Haiku", Span{});
}

}  // namespace

void detect_os(const Scan &s, hp_ua_result *out) {
  Best b;
  bool xbox = false;
  for (int i = 0; i < s.nitem; i++)
    if (istarts(s.item[i].text, "xbox")) xbox = true;
  for (int i = 0; i < s.nitem; i++)
    if (s.item[i].text.n) from_item(s.item[i].text, b, xbox);
  // "GNU/Linux" and the like.
  for (int i = 0; i < s.nitem && b.rank > R_LINUX; i++)
    if (ifind(s.item[i].text, "linux") > 0) b.offer(R_LINUX, "Linux", Span{});
  if (b.rank > R_IOS && s.has(P_CFNETWORK) && s.has(P_DARWIN)) b.offer(R_IOS, "iOS", Span{});
  if (b.rank > R_CHROMECAST && s.has(P_CRKEY)) b.offer(R_CHROMECAST, "Chromecast", digits_run(s.ver(P_CRKEY)));
  if (b.rank > R_MOBILE_OTHER && s.has(P_KAIOS)) b.offer(R_MOBILE_OTHER, "KAIOS", s.ver(P_KAIOS));
  if (b.rank > R_FIREFOX_OS && s.nitem > 0 && s.has(P_GECKO) && s.has(P_FIREFOX)) {
    Span first = s.item[0].text;
    if ((ieq(first, "mobile") || ieq(first, "tablet") || ieq(first, "tv")) && s.nitem >= 2 &&
        istarts(s.item[s.nitem - 1].text, "rv:"))
      b.offer(R_FIREFOX_OS, "Firefox OS", s.ver(P_GECKO));
  }
  if (b.rank == R_NONE) return;
  if (b.name) {
    put(out->os, Span{b.name, static_cast<uint32_t>(std::strlen(b.name))});
  } else {
    put(out->os, b.name_span);
  }
  put(out->os_version, b.ver, b.underscore);
}

}  // namespace hp::ua
