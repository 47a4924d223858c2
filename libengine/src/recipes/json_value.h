// A small JSON tree for small documents: point-update messages and rule
// fields. Record data never goes through it (see record_parser.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hp::recipes {

struct JMember;

struct JValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;  // the number had no fraction or exponent
  int64_t integer = 0;    // its value when integral and in range
  std::string text;       // string value (unescaped), or a number's raw text
  std::string_view raw;   // the value's JSON text, inside the parsed input
  std::vector<JValue> items;
  std::vector<JMember> members;  // a struct, not std::pair: pair needs a complete JValue

  // The member called `name`, or nullptr (the last one wins on duplicates).
  const JValue *get(std::string_view name) const;
  bool is_string() const { return kind == kString; }
};

struct JMember {
  std::string first;  // the name
  JValue second;
};

// Parses `json` as one JSON document. Returns false with `error` set to
// "byte N: reason" on malformed input.
bool parse_value(std::string_view json, JValue *out, std::string *error);

// Unescapes the contents of a JSON string (without quotes). Returns false on
// a bad escape. Appends to `out`.
bool unescape_json_string(std::string_view raw, std::string *out);

}  // namespace hp::recipes
