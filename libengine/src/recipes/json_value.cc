#include "recipes/json_value.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace hp::recipes {

namespace {

constexpr int kMaxDepth = 256;

void put_utf8(uint32_t cp, std::string *out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_hex4(const char *p, const char *end, uint32_t *out) {
  if (end - p < 4) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit(p[i]);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  *out = v;
  return true;
}

class Reader {
 public:
  explicit Reader(std::string_view s) : begin_(s.data()), p_(s.data()), end_(s.data() + s.size()) {}

  bool document(JValue *out) {
    ws();
    if (!value(out, 0)) return false;
    ws();
    if (p_ != end_) return fail("unexpected text after the JSON value");
    return true;
  }

  std::string error;

 private:
  bool fail(const char *reason) {
    error = "byte " + std::to_string(p_ - begin_) + ": " + reason;
    return false;
  }
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) p_++;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return fail("invalid literal");
    p_ += n;
    return true;
  }
  bool value(JValue *out, int depth) {
    const char *start = p_;
    bool ok = value_at(out, depth);
    if (ok) out->raw = std::string_view(start, static_cast<size_t>(p_ - start));
    return ok;
  }
  bool value_at(JValue *out, int depth) {
    if (depth > kMaxDepth) return fail("nesting is too deep");
    if (p_ >= end_) return fail("unexpected end of input");
    switch (*p_) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': out->kind = JValue::kString; return string(&out->text);
      case 't': out->kind = JValue::kBool; out->boolean = true; return literal("true");
      case 'f': out->kind = JValue::kBool; out->boolean = false; return literal("false");
      case 'n': out->kind = JValue::kNull; return literal("null");
      default: return number(out);
    }
  }
  bool object(JValue *out, int depth) {
    out->kind = JValue::kObject;
    p_++;
    ws();
    if (p_ < end_ && *p_ == '}') {
      p_++;
      return true;
    }
    for (;;) {
      ws();
      if (p_ >= end_ || *p_ != '"') return fail("expected a string key in an object");
      std::string key;
      if (!string(&key)) return false;
      ws();
      if (p_ >= end_ || *p_ != ':') return fail("expected ':' after an object key");
      p_++;
      ws();
      out->members.push_back(JMember{std::move(key), JValue()});
      if (!value(&out->members.back().second, depth + 1)) return false;
      ws();
      if (p_ < end_ && *p_ == ',') {
        p_++;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        p_++;
        return true;
      }
      return fail("expected ',' or '}' in an object");
    }
  }
  bool array(JValue *out, int depth) {
    out->kind = JValue::kArray;
    p_++;
    ws();
    if (p_ < end_ && *p_ == ']') {
      p_++;
      return true;
    }
    for (;;) {
      ws();
      out->items.emplace_back();
      if (!value(&out->items.back(), depth + 1)) return false;
      ws();
      if (p_ < end_ && *p_ == ',') {
        p_++;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        p_++;
        return true;
      }
      return fail("expected ',' or ']' in an array");
    }
  }
  bool string(std::string *out) {
    const char *start = ++p_;
    while (p_ < end_ && *p_ != '"') {
      if (static_cast<unsigned char>(*p_) < 0x20) return fail("control character in a string");
      if (*p_ == '\\') p_++;
      p_++;
    }
    if (p_ >= end_) return fail("unterminated string");
    std::string_view raw(start, static_cast<size_t>(p_ - start));
    p_++;
    if (!unescape_json_string(raw, out)) {
      p_ = start;
      return fail("invalid escape in a string");
    }
    return true;
  }
  bool number(JValue *out) {
    const char *start = p_;
    bool integral = true;
    if (p_ < end_ && *p_ == '-') p_++;
    if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid value");
    if (*p_ == '0') {
      p_++;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    }
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      p_++;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      p_++;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) p_++;
      if (p_ >= end_ || !(*p_ >= '0' && *p_ <= '9')) return fail("invalid number");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') p_++;
    }
    out->kind = JValue::kNumber;
    out->text.assign(start, static_cast<size_t>(p_ - start));
    out->number = std::strtod(out->text.c_str(), nullptr);
    if (integral) {
      errno = 0;
      long long v = std::strtoll(out->text.c_str(), nullptr, 10);
      if (errno == 0) {
        out->integral = true;
        out->integer = v;
      }
    }
    return true;
  }

  const char *begin_;
  const char *p_;
  const char *end_;
};

}  // namespace

const JValue *JValue::get(std::string_view name) const {
  if (kind != kObject) return nullptr;
  for (size_t i = members.size(); i-- > 0;)
    if (members[i].first == name) return &members[i].second;
  return nullptr;
}

bool unescape_json_string(std::string_view raw, std::string *out) {
  const char *p = raw.data();
  const char *end = p + raw.size();
  out->reserve(out->size() + raw.size());
  while (p < end) {
    const char *q = static_cast<const char *>(std::memchr(p, '\\', static_cast<size_t>(end - p)));
    if (!q) {
      out->append(p, static_cast<size_t>(end - p));
      return true;
    }
    out->append(p, static_cast<size_t>(q - p));
    p = q + 1;
    if (p >= end) return false;
    char c = *p++;
    switch (c) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!read_hex4(p, end, &cp)) return false;
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, &lo) && lo >= 0xDC00 &&
              lo <= 0xDFFF) {
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else {
            cp = 0xFFFD;  // a lone surrogate, as JSON.parse leaves it printable
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        put_utf8(cp, out);
        break;
      }
      default: return false;
    }
  }
  return true;
}

bool parse_value(std::string_view json, JValue *out, std::string *error) {
  Reader r(json);
  if (r.document(out)) return true;
  if (error) *error = r.error;
  return false;
}

}  // namespace hp::recipes
