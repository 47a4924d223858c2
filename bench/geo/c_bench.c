/* C: hp_geo_lookup vs libmaxminddb (MMDB_lookup_string + two MMDB_get_value
 * for city and country_code) on the same addresses, best of 3 by process
 * CPU time. Prints JSON.
 * Usage: c_bench DB IPS_FILE */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  FILE *f = fopen(argv[2], "r");
  if (!f) return 1;
  size_t cap = 1u << 20, n = 0;
  char(*ips)[16] = malloc(cap * sizeof *ips);
  while (n < cap && fgets(ips[n], 16, f)) {
    ips[n][strcspn(ips[n], "\n")] = 0;
    if (ips[n][0]) n++;
  }
  fclose(f);

  MMDB_s mmdb;
  if (MMDB_open(argv[1], MMDB_MODE_MMAP, &mmdb) != MMDB_SUCCESS) return 1;
  hp_geo *g = NULL;
  if (hp_geo_open(&g, NULL, argv[1], NULL) != 0) {
    fprintf(stderr, "%s\n", hp_last_error());
    return 1;
  }
  long sink = 0;
  double best_mmdb = 1e9, best_hp = 1e9;
  for (int round = 0; round < 3; round++) {
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
      int gai, err;
      MMDB_lookup_result_s r = MMDB_lookup_string(&mmdb, ips[i], &gai, &err);
      if (r.found_entry) {
        MMDB_entry_data_s d;
        if (MMDB_get_value(&r.entry, &d, "city", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
        if (MMDB_get_value(&r.entry, &d, "country_code", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
      }
    }
    double t1 = now();
    hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
    for (size_t i = 0; i < n; i++) {
      if (hp_geo_lookup(&e, g, ips[i], strlen(ips[i])) == 1 && e.str[HP_GEO_CITY]) sink += e.str[HP_GEO_CITY][0];
    }
    double t2 = now();
    if (t1 - t0 < best_mmdb) best_mmdb = t1 - t0;
    if (t2 - t1 < best_hp) best_hp = t2 - t1;
  }
  printf("{\"libmaxminddb_lookup_2_get_value\": {\"opsPerSec\": %.0f, \"nsPerOp\": %.1f}, "
         "\"hotpath_lookup\": {\"opsPerSec\": %.0f, \"nsPerOp\": %.1f}, \"sink\": %ld}\n",
         n / best_mmdb, best_mmdb * 1e9 / n, n / best_hp, best_hp * 1e9 / n, sink);
  hp_geo_close(g, NULL, NULL);
  MMDB_close(&mmdb);
  free(ips);
  return 0;
}
