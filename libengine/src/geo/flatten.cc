#include "geo/flatten.h"

#include <cstring>

namespace hp::geo {

const hp_geo_value *map_get(const hp_geo_value *m, const char *key) {
  if (!m || m->type != HP_GEO_MAP) return nullptr;
  size_t n = std::strlen(key);
  for (uint32_t i = 0; i < m->size; i++) {
    const hp_geo_value *k = &m->v.items[2 * i];
    if (k->size == n && std::memcmp(k->v.str, key, n) == 0) return &m->v.items[2 * i + 1];
  }
  return nullptr;
}

namespace {

const hp_geo_value *path(const hp_geo_value *m, const char *a, const char *b = nullptr,
                         const char *c = nullptr) {
  const hp_geo_value *v = map_get(m, a);
  if (v && b) v = map_get(v, b);
  if (v && c) v = map_get(v, c);
  return v;
}

void set_str(Flat *f, int field, const hp_geo_value *v) {
  uint32_t bit = 1u << field;
  if (!v || v->type != HP_GEO_STRING || (f->flags & bit)) return;
  // Strings longer than the result buffer can hold are left absent.
  if (v->size >= HP_GEO_ENRICHMENT_BUF / 2 || f->text.size() + v->size > 0xffff) return;
  f->off[field] = static_cast<uint16_t>(f->text.size());
  f->len[field] = static_cast<uint16_t>(v->size);
  f->text.append(v->v.str, v->size);
  f->flags |= bit;
}

bool number(const hp_geo_value *v, double *out) {
  if (!v) return false;
  switch (v->type) {
    case HP_GEO_DOUBLE:
    case HP_GEO_FLOAT:
      *out = v->v.f64;
      return true;
    case HP_GEO_UINT16:
    case HP_GEO_UINT32:
    case HP_GEO_UINT64:
      *out = static_cast<double>(v->v.u64);
      return true;
    case HP_GEO_INT32:
      *out = static_cast<double>(v->v.i64);
      return true;
    default:
      return false;
  }
}

bool u32(const hp_geo_value *v, uint32_t *out) {
  if (!v) return false;
  if ((v->type == HP_GEO_UINT16 || v->type == HP_GEO_UINT32 || v->type == HP_GEO_UINT64) &&
      v->v.u64 <= 0xffffffffu) {
    *out = static_cast<uint32_t>(v->v.u64);
    return true;
  }
  if (v->type == HP_GEO_INT32 && v->v.i64 >= 0) {
    *out = static_cast<uint32_t>(v->v.i64);
    return true;
  }
  return false;
}

}  // namespace

void flatten(const hp_geo_value *r, Flat *f) {
  *f = Flat{};
  if (!r || r->type != HP_GEO_MAP) return;
  // Nested GeoIP2 / GeoLite2.
  set_str(f, HP_GEO_COUNTRY_CODE, path(r, "country", "iso_code"));
  set_str(f, HP_GEO_COUNTRY_NAME, path(r, "country", "names", "en"));
  set_str(f, HP_GEO_CONTINENT_CODE, path(r, "continent", "code"));
  set_str(f, HP_GEO_CONTINENT_NAME, path(r, "continent", "names", "en"));
  const hp_geo_value *subs = map_get(r, "subdivisions");
  if (subs && subs->type == HP_GEO_ARRAY && subs->size > 0) {
    set_str(f, HP_GEO_SUBDIVISION_CODE, map_get(&subs->v.items[0], "iso_code"));
    set_str(f, HP_GEO_SUBDIVISION_NAME, path(&subs->v.items[0], "names", "en"));
  }
  set_str(f, HP_GEO_CITY, path(r, "city", "names", "en"));
  set_str(f, HP_GEO_POSTAL_CODE, path(r, "postal", "code"));
  const hp_geo_value *loc = map_get(r, "location");
  set_str(f, HP_GEO_TIME_ZONE, map_get(loc, "time_zone"));
  double lat, lon;
  if (number(map_get(loc, "latitude"), &lat) && number(map_get(loc, "longitude"), &lon)) {
    f->latitude = lat;
    f->longitude = lon;
    f->flags |= HP_GEO_HAS_LOCATION;
  }
  if (u32(map_get(loc, "accuracy_radius"), &f->accuracy_radius)) f->flags |= HP_GEO_HAS_ACCURACY_RADIUS;
  // ISP / ASN databases at the top level, Enterprise under traits.
  const hp_geo_value *traits = map_get(r, "traits");
  for (const hp_geo_value *m : {r, traits}) {
    if (!m) continue;
    if (!(f->flags & HP_GEO_HAS_ASN) && u32(map_get(m, "autonomous_system_number"), &f->asn))
      f->flags |= HP_GEO_HAS_ASN;
    set_str(f, HP_GEO_AS_ORG, map_get(m, "autonomous_system_organization"));
    set_str(f, HP_GEO_ISP, map_get(m, "isp"));
    set_str(f, HP_GEO_ORG, map_get(m, "organization"));
  }
  // Flat DB-IP / ip-location-db.
  set_str(f, HP_GEO_COUNTRY_CODE, map_get(r, "country_code"));
  set_str(f, HP_GEO_SUBDIVISION_NAME, map_get(r, "state1"));
  const hp_geo_value *city = map_get(r, "city");
  if (city && city->type == HP_GEO_STRING) set_str(f, HP_GEO_CITY, city);
  set_str(f, HP_GEO_POSTAL_CODE, map_get(r, "postcode"));
  set_str(f, HP_GEO_TIME_ZONE, map_get(r, "timezone"));
  if (!(f->flags & HP_GEO_HAS_LOCATION) && number(map_get(r, "latitude"), &lat) &&
      number(map_get(r, "longitude"), &lon)) {
    f->latitude = lat;
    f->longitude = lon;
    f->flags |= HP_GEO_HAS_LOCATION;
  }
}

}  // namespace hp::geo
