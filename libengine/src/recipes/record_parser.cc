#include "recipes/record_parser.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "recipes/json_value.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hp::recipes {

namespace {

constexpr int kMaxDepth = 512;

inline const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  if (p >= end) throw NeedMore{};
  return p;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Bytes that end the fast path of a string scan: '"', '\\', controls, non-ASCII.
inline bool plain8(uint64_t x) {
  constexpr uint64_t ones = 0x0101010101010101ULL;
  constexpr uint64_t highs = 0x8080808080808080ULL;
  uint64_t quote = x ^ (ones * '"');
  uint64_t slash = x ^ (ones * '\\');
  uint64_t special = ((quote - ones) & ~quote) | ((slash - ones) & ~slash) | ((x - ones * 0x20) & ~x) | x;
  return (special & highs) == 0;
}

// Length of the valid UTF-8 sequence at p, or 0.
inline int utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned char c = p[0];
  auto cont = [&](int i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;
    if (c == 0xED && p[1] > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;
    if (c == 0xF4 && p[1] > 0x8F) return 0;
    return 4;
  }
  return 0;
}

inline bool hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

bool integer_of(std::string_view text, int64_t *out) {
  if (text.empty() || text.size() > 40) return false;
  char buf[48];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  const char *s = buf;
  if (*s == '-') s++;
  if (!is_digit(*s)) return false;
  bool plain = true;
  for (const char *q = s; *q; q++)
    if (!is_digit(*q)) plain = false;
  if (plain) {
    errno = 0;
    char *endp;
    long long v = std::strtoll(buf, &endp, 10);
    if (errno != 0 || *endp) return false;
    *out = v;
    return true;
  }
  char *endp;
  double d = std::strtod(buf, &endp);
  if (*endp || !std::isfinite(d) || d != std::floor(d) || d < -9.2233720368547758e18 || d >= 9.2233720368547758e18)
    return false;
  *out = static_cast<int64_t>(d);
  return true;
}

const char *RecordParser::parse_item(const char *p, const char *end, Item *item) {
  item->reset();
  item->tape.set_dict(dict_);
  if (p >= end) throw NeedMore{};
  if (*p == '{') {
    return object(p, end, item->tape, 1, item);
  }
  const char *q = value(p, end, item->tape, 1);
  item->status = Item::kNotObject;
  return q;
}

const char *RecordParser::value(const char *p, const char *end, TapeWriter &out, int depth) {
  if (depth > kMaxDepth) throw ParseError{p, "nesting deeper than 512 levels"};
  switch (*p) {
    case '{': return object(p, end, out, depth, nullptr);
    case '[': return array(p, end, out, depth);
    case '"': {
      bool escaped;
      const char *q = string(p, end, &escaped);
      out.string(std::string_view(p + 1, static_cast<size_t>(q - p - 2)));
      return q;
    }
    case 't': return literal(p, end, out, "true", 4);
    case 'f': return literal(p, end, out, "false", 5);
    case 'n': return literal(p, end, out, "null", 4);
    default:
      if (*p == '-' || is_digit(*p)) return number(p, end, out);
      throw ParseError{p, "expected a JSON value"};
  }
}

const char *RecordParser::literal(const char *p, const char *end, TapeWriter &out, const char *word, size_t n) {
  size_t have = static_cast<size_t>(end - p);
  if (std::memcmp(p, word, have < n ? have : n) != 0) throw ParseError{p, "invalid literal"};
  if (have < n) throw NeedMore{};
  out.literal(std::string_view(word, n));
  return p + n;
}

const char *RecordParser::number(const char *p, const char *end, TapeWriter &out) {
  const char *s = p;
  if (*p == '-') {
    if (++p >= end) throw NeedMore{};
  }
  if (!is_digit(*p)) throw ParseError{p, "invalid number"};
  if (*p == '0') {
    p++;
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && *p == '.') {
    if (++p >= end) throw NeedMore{};
    if (!is_digit(*p)) throw ParseError{p, "invalid number: expected a digit after '.'"};
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    if (++p >= end) throw NeedMore{};
    if (*p == '+' || *p == '-') {
      if (++p >= end) throw NeedMore{};
    }
    if (!is_digit(*p)) throw ParseError{p, "invalid number: expected a digit in the exponent"};
    while (p < end && is_digit(*p)) p++;
  }
  // A number that touches the end of the buffer may go on in the next chunk.
  if (p >= end) throw NeedMore{};
  out.number(std::string_view(s, static_cast<size_t>(p - s)));
  return p;
}

const char *RecordParser::string(const char *p, const char *end, bool *escaped) {
  p++;
  *escaped = false;
  for (;;) {
#if defined(__SSE2__)
    // 16 bytes at a time: stop at '"', '\\', a control byte or non-ASCII.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i slash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
      // Signed compare: bytes >= 0x80 are negative, so they count as < 0x20 too.
      __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                 _mm_cmplt_epi8(v, space));
      int mask = _mm_movemask_epi8(hit);
      if (mask) {
        p += __builtin_ctz(static_cast<unsigned>(mask));
        break;
      }
      p += 16;
    }
#endif
    while (end - p >= 8) {
      uint64_t x;
      std::memcpy(&x, p, 8);
      if (!plain8(x)) break;
      p += 8;
    }
    if (p >= end) throw NeedMore{};
    unsigned char c = static_cast<unsigned char>(*p);
    if (c == '"') break;
    if (c == '\\') {
      *escaped = true;
      if (p + 1 >= end) throw NeedMore{};
      char e = p[1];
      if (e == 'u') {
        if (end - p < 6) throw NeedMore{};
        if (!hex(p[2]) || !hex(p[3]) || !hex(p[4]) || !hex(p[5])) throw ParseError{p, "invalid \\u escape"};
        p += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        p += 2;
      } else {
        throw ParseError{p, "invalid escape in a string"};
      }
    } else if (c < 0x20) {
      throw ParseError{p, "control character in a string"};
    } else if (c >= 0x80) {
      int n = utf8_len(reinterpret_cast<const unsigned char *>(p), reinterpret_cast<const unsigned char *>(end));
      if (n == 0) {
        // Maybe a sequence cut by the end of the buffer.
        if (end - p < 4) throw NeedMore{};
        throw ParseError{p, "invalid UTF-8 in a string"};
      }
      p += n;
    } else {
      p++;
    }
  }
  return p + 1;
}

const char *RecordParser::array(const char *p, const char *end, TapeWriter &out, int depth) {
  out.begin_array();
  p = skip_ws(p + 1, end);
  if (*p == ']') {
    out.end_array();
    return p + 1;
  }
  for (;;) {
    p = value(p, end, out, depth + 1);
    p = skip_ws(p, end);
    if (*p == ',') {
      out.separator();
      p = skip_ws(p + 1, end);
      continue;
    }
    if (*p == ']') {
      out.end_array();
      return p + 1;
    }
    throw ParseError{p, "expected ',' or ']' in an array"};
  }
}

const char *RecordParser::object(const char *p, const char *end, TapeWriter &out, int depth, Item *top) {
  if (depth > kMaxDepth) throw ParseError{p, "nesting deeper than 512 levels"};
  out.begin_object();
  p = skip_ws(p + 1, end);
  if (*p == '}') {
    out.end_object();
    return p + 1;
  }
  for (;;) {
    if (*p != '"') throw ParseError{p, "expected a string key in an object"};
    const char *kstart = p;
    bool escaped;
    p = string(p, end, &escaped);
    std::string_view name(kstart + 1, static_cast<size_t>(p - kstart - 2));
    out.name(name);
    if (escaped && top) {
      scratch_.clear();
      unescape_json_string(name, &scratch_);
      name = scratch_;
    }
    p = skip_ws(p, end);
    if (*p != ':') throw ParseError{p, "expected ':' after an object key"};
    p = skip_ws(p + 1, end);
    TapeMark out_start = out.mark();
    const char *vstart = p;
    p = value(p, end, out, depth + 1);
    // `name` points into the input or scratch_, which nested values never touch.
    if (top) top_member(name, vstart, p, out_start, top, out);
    p = skip_ws(p, end);
    if (*p == ',') {
      out.separator();
      p = skip_ws(p + 1, end);
      continue;
    }
    if (*p == '}') {
      out.end_object();
      return p + 1;
    }
    throw ParseError{p, "expected ',' or '}' in an object"};
  }
}

void RecordParser::top_member(std::string_view name, const char *vstart, const char *vend, TapeMark out_start,
                              Item *top, TapeWriter &out) {
  if (name == spec_.key_field) {
    top->status = Item::kBadKey;
    if (*vstart == '"') {
      std::string_view raw(vstart + 1, static_cast<size_t>(vend - vstart - 2));
      std::string key;
      if (!unescape_json_string(raw, &key)) return;
      if (spec_.key_is_str) {
        top->str_key = std::move(key);
        top->status = Item::kRecord;
      } else if (integer_of(key, &top->num)) {
        top->status = Item::kRecord;
      }
    } else if (*vstart == '-' || is_digit(*vstart)) {
      std::string_view text(vstart, static_cast<size_t>(vend - vstart));
      if (spec_.key_is_str) {
        top->str_key.assign(text);
        top->status = Item::kRecord;
      } else if (integer_of(text, &top->num)) {
        top->status = Item::kRecord;
      }
    }
    return;
  }
  bool embedded = false;
  for (const std::string &f : spec_.json_fields)
    if (name == f) embedded = true;
  if (embedded && *vstart == '"') {
    std::string_view raw(vstart + 1, static_cast<size_t>(vend - vstart - 2));
    out.rewind(out_start);
    if (!expand_embedded(raw, out)) {
      out.rewind(out_start);
      out.string(raw);
      top->embedded_errors++;
    }
  }
  bool geo = !spec_.geo_field.empty() && name == spec_.geo_field;
  bool target = !spec_.target_field.empty() && name == spec_.target_field;
  if (!geo && !target) return;
  tape_text(reinterpret_cast<const uint8_t *>(out.tape().data()) + out_start.bytes, out.dict(),
            out.text_len() - out_start.text_len, &rule_text_);
  std::string_view text = rule_text_;
  if (text == "null" || text == "\"\"") return;
  JValue v;
  if (!parse_value(text, &v, nullptr) || v.kind != JValue::kObject) {
    top->rule_errors++;
    return;
  }
  if (!top->rules) top->rules = std::make_unique<Rules>();
  bool ok = geo ? compile_geo(v, top->rules.get()) : compile_target(v, top->rules.get());
  if (!ok) top->rule_errors++;
}

bool RecordParser::expand_embedded(std::string_view raw, TapeWriter &out) {
  std::string body;
  if (!unescape_json_string(raw, &body)) return false;
  // Pad with a space so a number at the very end is not taken as cut off.
  body.push_back(' ');
  const char *p = body.data();
  const char *end = p + body.size();
  TapeMark start = out.mark();
  try {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    if (p >= end) return false;
    p = value(p, end, out, 2);
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    if (p != end) {
      out.rewind(start);
      return false;
    }
    return true;
  } catch (const NeedMore &) {
  } catch (const ParseError &) {
  }
  out.rewind(start);
  return false;
}

}  // namespace hp::recipes
