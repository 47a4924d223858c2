// The long-tail tables, generated from package data into tables_data.cc by
// packaging/gen-ua-tables.js: ua-parser-js 1.x's rules as RE2 patterns with
// what each capture sets, and isbot's bot patterns.
#pragma once

#include <cstdint>

namespace hp::ua::tables {

enum Field : uint8_t { F_NAME, F_VERSION, F_MODEL, F_VENDOR, F_TYPE, F_ARCH, F_COUNT };

// What a rule's property does with its capture (property i reads capture
// i + 1, whatever its op, as ua-parser-js does).
enum Op : uint8_t {
  OP_CAPTURE,            // the capture itself
  OP_CONST,              // a: the value
  OP_LOWER,              // the capture, lower case
  OP_TRIM,               // the capture without leading white space
  OP_MAP,                // map: the key whose needle the capture contains
  OP_REPLACE,            // the capture with the first match of a rewritten to b
  OP_REPLACE_ALL,        // ... every match
  OP_REPLACE_LOWER,      // OP_REPLACE, then lower case
  OP_REPLACE_ALL_LOWER,  // OP_REPLACE_ALL, then lower case
};

struct Prop {
  uint8_t field;
  uint8_t op;
  uint8_t map;
  const char *a;
  const char *b;
};

// One pattern of ua-parser-js (or one of the RE2 patterns a pattern with a
// lookaround became). `unless`: a match where this also matches, anchored at
// the match's start, does not count. `clear_group`: when non-zero, that
// capture is dropped if `clear_if` matches at its start.
struct Rule {
  const char *re;
  const char *unless;
  uint8_t clear_group;
  const char *clear_if;
  uint8_t nprops;
  const Prop *props;
};

struct Category {
  const Rule *rules;
  uint32_t n;
};

// strMapper's table, in its iteration order: the first entry whose needle
// the value contains (case-insensitively) gives its key (nullptr: no value);
// no entry: the fallback when there is one, else the value unchanged.
struct MapEntry {
  const char *key;
  const char *needle;
};
struct Map {
  const MapEntry *entries;
  uint32_t n;
  const char *fallback;
};

struct Strings {
  const char *const *items;
  uint32_t n;
};

extern const Category kBrowser, kCpu, kDevice, kEngine, kOs;
extern const Map kMaps[];
extern const Strings kBots;

}  // namespace hp::ua::tables
