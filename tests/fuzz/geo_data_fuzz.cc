// Structure-aware fuzz target for the mmdb data decoder: every input becomes
// a database with a valid search tree and metadata, so the bytes reach the
// data section instead of dying in the file checks. Input: a flags byte,
// eight 16-bit record offsets, then the data section itself. Pointer
// fan-out (maps of pointers to one large value) is seeded in the corpus.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "hotpath.h"
#include "support/mmdb_craft.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hp_fuzz::Reader in(data, size);
  uint8_t flags = in.byte();
  std::vector<uint32_t> records(8);
  for (auto &r : records) r = in.u16();
  std::string section(in.rest());
  if (section.empty()) return 0;
  for (auto &r : records) r %= section.size();
  hp_fuzz::MemFile file(hp_test::mmdb::file(section, records));
  if (!file.ok()) return 0;

  hp_geo_options opts = HP_GEO_OPTIONS_INIT;
  // Small budgets and caches as well as the defaults, so the limit paths
  // and the uncached path run too.
  if (flags & 1) opts.max_record_nodes = 1 + (flags >> 4) * 16;
  if (flags & 2) opts.max_record_bytes = 1 + (flags >> 4) * 256;
  if (flags & 4) opts.cache_bytes = 1 + (flags >> 4) * 512;
  if (flags & 8) opts.cache_records = 1 + (flags >> 4);
  hp_geo *g = nullptr;
  if (hp_geo_open(&g, nullptr, file.path(), &opts) != 0) return 0;
  for (int pass = 0; pass < 2; pass++) {  // the second pass reads the cache
    for (unsigned i = 0; i < records.size(); i++) {
      std::string ip = hp_test::mmdb::address_of(i);
      hp_geo_result r = HP_GEO_RESULT_INIT;
      hp_geo_get(&r, g, 0, ip.data(), ip.size());
      hp_geo_result_clear(&r);
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      hp_geo_lookup(&e, g, ip.data(), ip.size());
    }
  }
  hp_geo_close(g, nullptr, nullptr);
  return 0;
}
