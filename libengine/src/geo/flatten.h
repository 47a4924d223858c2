// The flat enrichment fields of one record, from the nested GeoIP2 layout
// (country.iso_code, location.latitude, ...) or the flat DB-IP /
// ip-location-db layout (country_code, state1, city, postcode, ...).
#pragma once

#include "geo/record_cache.h"

namespace hp::geo {

void flatten(const hp_geo_value *root, Flat *out);

// Looks up `key` in a map value; nullptr when absent or `m` is not a map.
const hp_geo_value *map_get(const hp_geo_value *m, const char *key);

}  // namespace hp::geo
