// The load-time parser: reads one array item of a recipe file, validates it
// as JSON, and encodes it onto a tape (tape.h), with its key pulled out, its
// JSON-in-string fields expanded and its rule fields compiled.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hotpath.h"
#include "recipes/rules.h"
#include "recipes/tape.h"

namespace hp::recipes {

// How a table reads its records.
struct TableSpec {
  std::string key_field;
  bool key_is_str = false;
  std::vector<std::string> json_fields;
  std::string geo_field;     // "" for none
  std::string target_field;  // "" for none
  // Caps on one file load (and on an update's body, for max_item_bytes).
  uint64_t max_json_bytes = HP_RECIPES_MAX_JSON_BYTES;
  uint64_t max_items = HP_RECIPES_MAX_ITEMS;
  uint64_t max_item_bytes = HP_RECIPES_MAX_ITEM_BYTES;
};

// Thrown when the input ends inside a value: the caller reads more input
// and parses the item again.
struct NeedMore {};

// Thrown on malformed JSON at `pos`.
struct ParseError {
  const char *pos;
  const char *reason;
};

// One parsed item.
struct Item {
  enum Status { kRecord, kNotObject, kNoKey, kBadKey } status = kNoKey;
  int64_t num = 0;
  std::string str_key;
  TapeWriter tape;  // the record, in compact form; its text is tape.text_len() bytes
  uint32_t embedded_errors = 0;
  uint32_t rule_errors = 0;
  std::unique_ptr<Rules> rules;

  void reset() {
    status = kNoKey;
    num = 0;
    str_key.clear();
    tape.clear();
    embedded_errors = 0;
    rule_errors = 0;
    rules.reset();
  }
};

class RecordParser {
 public:
  // Records intern names and strings in `dict` (null: none).
  explicit RecordParser(const TableSpec &spec, Dict *dict = nullptr) : spec_(spec), dict_(dict) {}

  // Parses the value starting at `p` (no leading whitespace) into `item`.
  // Returns the end of the value. Throws NeedMore or ParseError.
  const char *parse_item(const char *p, const char *end, Item *item);

 private:
  const char *value(const char *p, const char *end, TapeWriter &out, int depth);
  const char *object(const char *p, const char *end, TapeWriter &out, int depth, Item *top);
  const char *array(const char *p, const char *end, TapeWriter &out, int depth);
  // Returns the end of the string at p; sets *escaped when it holds a '\\'.
  const char *string(const char *p, const char *end, bool *escaped);
  const char *number(const char *p, const char *end, TapeWriter &out);
  const char *literal(const char *p, const char *end, TapeWriter &out, const char *word, size_t n);
  void top_member(std::string_view name, const char *vstart, const char *vend, TapeMark out_start, Item *top,
                  TapeWriter &out);
  bool expand_embedded(std::string_view raw_body, TapeWriter &out);

  const TableSpec &spec_;
  Dict *dict_;
  std::string scratch_;
  std::string rule_text_;
};

// The integer a JSON number or decimal string holds, when it holds one.
bool integer_of(std::string_view text, int64_t *out);

}  // namespace hp::recipes
