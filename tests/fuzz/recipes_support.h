// One recipe set shared by the recipe fuzz targets: an integer table with
// embedded JSON and rule fields, the same with small caps, and a string
// table, on the process-wide engine.
#pragma once

#include "fuzz_support.h"
#include "hotpath.h"

namespace hp_fuzz {

struct RecipeTables {
  hp_recipes *set = nullptr;
  hp_recipe_table *offers = nullptr;  // integer keys, defaults
  hp_recipe_table *capped = nullptr;  // integer keys, small caps
  hp_recipe_table *names = nullptr;   // string keys
};

inline RecipeTables open_recipe_tables() {
  RecipeTables out;
  if (!engine() || hp_recipes_open(&out.set, engine()) != 0) return out;
  static const char *const json_fields[] = {"geoRules", "targetRules", "meta"};
  hp_recipe_table_options o = HP_RECIPE_TABLE_OPTIONS_INIT;
  o.key_field = "offerId";
  o.json_fields = json_fields;
  o.json_field_count = 3;
  o.update_type = "offer";
  hp_recipes_define(&out.offers, out.set, "offers", &o);
  o.update_type = "capped";
  o.max_items = 8;
  o.max_item_bytes = 512;
  o.max_json_bytes = 4096;
  hp_recipes_define(&out.capped, out.set, "capped", &o);
  hp_recipe_table_options s = HP_RECIPE_TABLE_OPTIONS_INIT;
  s.key_field = "name";
  s.key_type = HP_RECIPE_KEY_STRING;
  s.update_type = "name";
  hp_recipes_define(&out.names, out.set, "names", &s);
  return out;
}

// The process's set. Point updates accumulate in it, so every `renew`
// calls it starts over with a new one (0: never).
inline RecipeTables &recipe_tables(unsigned renew = 0) {
  static RecipeTables t = open_recipe_tables();
  static unsigned calls = 0;
  if (renew && ++calls % renew == 0 && t.set) {
    hp_recipes_close(t.set, nullptr, nullptr);
    t = open_recipe_tables();
  }
  return t;
}

// Reads every live record of `t` back, and evaluates its rules.
inline void read_back(hp_recipe_table *t) {
  hp_recipes_keys(
      t,
      [](const char *str, size_t len, int64_t num, void *data) -> int {
        auto *table = static_cast<hp_recipe_table *>(data);
        hp_recipe_key k{str, len, num};
        char buf[256];
        hp_recipe r = HP_RECIPE_INIT;
        r.buf = buf;
        r.cap = sizeof buf;
        hp_recipes_get(&r, table, &k);
        hp_recipes_context ctx = HP_RECIPES_CONTEXT_INIT;
        ctx.country = "FR";
        ctx.os = "Linux";
        char redirect[64];
        hp_recipes_match_result m = HP_RECIPES_MATCH_RESULT_INIT;
        m.redirect_buf = redirect;
        m.redirect_cap = sizeof redirect;
        hp_recipes_match(&m, table, &k, &ctx);
        return 0;
      },
      t);
}

}  // namespace hp_fuzz
