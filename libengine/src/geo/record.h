// One decoded record: its value tree and the flat fields hp_geo_lookup reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hotpath.h"

namespace hp::geo {

// The flat fields of one record (hp_geo_lookup's view), strings as
// (offset, length) into `text`.
struct Flat {
  uint32_t flags = 0;
  uint32_t asn = 0;
  uint32_t accuracy_radius = 0;
  double latitude = 0, longitude = 0;
  uint16_t off[HP_GEO_STRING_FIELDS] = {};
  uint16_t len[HP_GEO_STRING_FIELDS] = {};
  std::string text;
};

struct Record {
  uint32_t offset = 0;
  uint32_t id = 0;
  std::unique_ptr<hp_geo_value[]> nodes;
  size_t count = 0;
  Flat flat;
  const hp_geo_value *root() const { return nodes.get(); }
  // Memory it holds, as the record cache counts it.
  size_t bytes() const { return sizeof(Record) + count * sizeof(hp_geo_value) + flat.text.capacity(); }
};

}  // namespace hp::geo
