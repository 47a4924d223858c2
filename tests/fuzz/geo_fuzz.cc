// Fuzz target: arbitrary bytes opened as a MaxMind DB, then looked up,
// decoded and flattened. Any outcome but a crash or a sanitizer report is fine.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "hotpath.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("hp_geo_fuzz", 0);
  if (fd < 0) return 0;
  if (size && write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  hp_geo *g = nullptr;
  if (hp_geo_open(&g, nullptr, path, nullptr) == 0) {
    static const char *ips[] = {"1.1.1.1", "1.1.1.3", "0.0.0.0", "255.255.255.255", "::1.1.1.0", "::",
                                "2001:db8::1", "::ffff:1.2.3.4", "81.2.69.160", "ffff::"};
    for (const char *ip : ips) {
      hp_geo_result r = HP_GEO_RESULT_INIT;
      hp_geo_get(&r, g, 0, ip, strlen(ip));
      hp_geo_result_clear(&r);
      hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
      hp_geo_lookup(&e, g, ip, strlen(ip));
    }
    // The bytes themselves as addresses, to reach other parts of the tree.
    for (size_t i = 0; i + 16 <= size && i < 256; i += 16) {
      hp_geo_result r = HP_GEO_RESULT_INIT;
      hp_geo_get_bytes(&r, g, 0, data + i, 16);
      hp_geo_result_clear(&r);
      hp_geo_get_bytes(&r, g, 0, data + i, 4);
      hp_geo_result_clear(&r);
    }
    hp_geo_result m = HP_GEO_RESULT_INIT;
    hp_geo_metadata(&m, g, 0);
    hp_geo_result_clear(&m);
    hp_geo_close(g, NULL, NULL);
  }
  close(fd);
  return 0;
}
