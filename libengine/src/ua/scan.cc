#include "ua/scan.h"

#include <cstring>

namespace hp::ua {

namespace {

struct NameTable {
  static constexpr int kSlots = 512;  // power of two, well over P_COUNT
  struct Slot {
    const char *name = nullptr;
    uint8_t len = 0;
    uint8_t id = P_NONE;
  };
  Slot slots[kSlots];

  static uint32_t hash(const char *p, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ static_cast<uint8_t>(lower(p[i]))) * 16777619u;
    return h;
  }

  NameTable() {
    static const char *const names[] = {
#define HP_UA__NAME(id, name) name,
        HP_UA_PRODUCTS(HP_UA__NAME)
#undef HP_UA__NAME
    };
    for (uint8_t id = 0; id < P_COUNT; id++) {
      const char *name = names[id];
      uint32_t n = static_cast<uint32_t>(std::strlen(name));
      uint32_t i = hash(name, n) & (kSlots - 1);
      while (slots[i].name) i = (i + 1) & (kSlots - 1);
      slots[i] = Slot{name, static_cast<uint8_t>(n), id};
    }
  }

  uint8_t find(Span s) const {
    if (s.n == 0 || s.n > 32) return P_NONE;
    uint32_t i = hash(s.p, s.n) & (kSlots - 1);
    while (slots[i].name) {
      if (slots[i].len == s.n && ieq_n(s.p, slots[i].name, s.n)) return slots[i].id;
      i = (i + 1) & (kSlots - 1);
    }
    return P_NONE;
  }
};

const NameTable &names() {
  static const NameTable table;
  return table;
}

}  // namespace

uint8_t product_id(Span name) { return names().find(name); }

void scan(Scan &s, const char *ua, uint32_t len) {
  const NameTable &table = names();
  s.all = Span{ua, len};
  s.nprod = 0;
  s.nitem = 0;
  std::memset(s.at, -1, sizeof s.at);
  uint8_t comment = 0;
  uint32_t i = 0;
  while (i < len) {
    char c = ua[i];
    if (c == ' ' || c == '\t' || c == ',' || c == ';' || c == ')') {
      i++;
      continue;
    }
    if (c == '(' || c == '[') {
      // A comment: items split on ';' at depth 1; nested parentheses stay
      // inside their item. An unclosed comment ends with the string.
      const char close = c == '(' ? ')' : ']';
      int depth = 1;
      uint32_t start = ++i;
      while (i < len && depth > 0) {
        char d = ua[i];
        if (d == c) {
          depth++;
        } else if (d == close) {
          if (--depth == 0) break;
        } else if (d == ';' && depth == 1) {
          if (s.nitem < kMaxItems)
            s.item[s.nitem++] = Item{trim(Span{ua + start, i - start}), comment, static_cast<uint8_t>(s.nprod)};
          start = i + 1;
        }
        i++;
      }
      if (s.nitem < kMaxItems) {
        Span last = trim(Span{ua + start, i - start});
        if (!last.empty()) s.item[s.nitem++] = Item{last, comment, static_cast<uint8_t>(s.nprod)};
      }
      if (i < len) i++;  // the closing bracket
      if (comment < 255) comment++;
      continue;
    }
    // A product: name[/version] up to a space or a bracket.
    uint32_t start = i;
    uint32_t slash = UINT32_MAX;
    while (i < len) {
      char d = ua[i];
      if (d == ' ' || d == '\t' || d == '(' || d == '[' || d == ')' || d == ';') break;
      if (d == '/' && slash == UINT32_MAX) slash = i;
      i++;
    }
    // "XiaoMi/MiuiBrowser/13.5.40": a product whose version is another
    // product; the outer name is recorded and the rest scanned again.
    if (slash != UINT32_MAX && slash + 1 < i && is_alpha(ua[slash + 1])) {
      uint32_t second = slash + 1;
      while (second < i && ua[second] != '/') second++;
      if (second < i) {
        Product outer;
        outer.name = Span{ua + start, slash - start};
        outer.id = table.find(outer.name);
        if (s.nprod < kMaxProducts) {
          if (outer.id != P_NONE && s.at[outer.id] < 0) s.at[outer.id] = static_cast<int8_t>(s.nprod);
          s.prod[s.nprod++] = outer;
        }
        start = slash + 1;
        slash = second;
      }
    }
    Product p;
    if (slash != UINT32_MAX) {
      p.name = Span{ua + start, slash - start};
      p.ver = Span{ua + slash + 1, i - slash - 1};
    } else {
      p.name = Span{ua + start, i - start};
      // "Instagram 300.0.0.29.110": a bare name followed by a number.
      if (i + 1 < len && ua[i] == ' ' && is_digit(ua[i + 1])) {
        uint32_t v = i + 1;
        while (v < len && ua[v] != ' ' && ua[v] != '(' && ua[v] != ';' && ua[v] != ')') v++;
        p.ver = Span{ua + i + 1, v - i - 1};
      }
    }
    // Trailing commas and the like are not part of a name ("KHTML,").
    while (p.name.n && !is_word(p.name.p[p.name.n - 1]) && p.name.p[p.name.n - 1] != '-') p.name.n--;
    p.id = table.find(p.name);
    if (s.nprod < kMaxProducts) {
      if (p.id != P_NONE && s.at[p.id] < 0) s.at[p.id] = static_cast<int8_t>(s.nprod);
      s.prod[s.nprod++] = p;
    }
  }
}

}  // namespace hp::ua
