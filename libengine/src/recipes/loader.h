// Reads a recipe file (a JSON array of objects) into a new Base, item by
// item, with bounded extra memory. Runs on a thread-pool thread.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "recipes/record_parser.h"
#include "recipes/source.h"
#include "recipes/store.h"

namespace hp::recipes {

struct LoadOutcome {
  core::Status status;  // code < 0: the failure, with the system error of a failed open
  std::shared_ptr<Base> base;
  FileSig sig;
  uint64_t items = 0, skipped = 0, duplicates = 0, embedded_errors = 0, rule_errors = 0;
  uint64_t json_bytes = 0;
  // Bytes the item parser went through, attempts cut short by the end of
  // the buffer included: linear in json_bytes (an item is parsed at most
  // twice), whatever the size of the items.
  uint64_t parsed_bytes = 0;
  double ms = 0;
};

// `previous` (may be null) lends record versions to records whose JSON is
// unchanged, so caches keyed by version survive a reload.
LoadOutcome load_file(const TableSpec &spec, const std::string &path, int64_t timestamp, uint64_t whole_inflate_max,
                      std::shared_ptr<const Base> previous);

// Stores one parsed record in `base` (arena + index), reusing the version of
// an identical record in `previous`. Returns true when it replaced a key.
bool store_item(Base *base, const Base *previous, bool key_is_str, Item *item, int64_t timestamp);

}  // namespace hp::recipes
