// Fuzz target: point-update messages ({"type","id","action","timestamp",
// "body"}) as they arrive from pub/sub or an admin endpoint, applied to a
// set whose tables then get read back.
#include <cstdint>

#include "recipes_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hp_fuzz::RecipeTables &tables = hp_fuzz::recipe_tables(10000);
  if (!tables.set) return 0;
  int rc = hp_recipes_update(tables.set, reinterpret_cast<const char *>(data), size);
  if (rc == HP_RECIPES_APPLIED) {
    hp_fuzz::read_back(tables.offers);
    hp_fuzz::read_back(tables.names);
  }
  return 0;
}
