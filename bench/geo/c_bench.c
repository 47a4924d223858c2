/* C: hp_geo_lookup vs libmaxminddb (MMDB_lookup_string + two MMDB_get_value
 * for city and country_code) on the same addresses, by process CPU time,
 * three alternating rounds per workload:
 *   uniform: the 1M uniformly random addresses (every lookup misses the caches)
 *   hot:     1M draws from the first 10,000 of them (a working set that
 *            stays in the CPU caches, as a busy service's clients do)
 *   zipf:    the 1M Zipf(1) draws from 100,000 addresses (prepare.js)
 * and the resident memory of the process before and after hp_geo_open and
 * after hotpath's first pass over the uniform addresses. Prints JSON.
 * Usage: c_bench DB IPS_FILE ZIPF_FILE */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath.h"

#define ROUNDS 3
#define HOT_SET 10000

typedef char ip_text[16];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

static size_t read_ips(const char *path, ip_text *ips, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = 0;
  if (!f) return 0;
  while (n < cap && fgets(ips[n], sizeof ips[n], f)) {
    ips[n][strcspn(ips[n], "\n")] = 0;
    if (ips[n][0]) n++;
  }
  fclose(f);
  return n;
}

static long sink;

static double run_mmdb(MMDB_s *mmdb, ip_text *ips, size_t n) {
  double t0 = now();
  for (size_t i = 0; i < n; i++) {
    int gai, err;
    MMDB_lookup_result_s r = MMDB_lookup_string(mmdb, ips[i], &gai, &err);
    if (r.found_entry) {
      MMDB_entry_data_s d;
      if (MMDB_get_value(&r.entry, &d, "city", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
      if (MMDB_get_value(&r.entry, &d, "country_code", NULL) == MMDB_SUCCESS && d.has_data) sink += d.data_size;
    }
  }
  return (now() - t0) * 1e9 / n;
}

static double run_hotpath(hp_geo *g, ip_text *ips, size_t n) {
  hp_geo_enrichment e = HP_GEO_ENRICHMENT_INIT;
  double t0 = now();
  for (size_t i = 0; i < n; i++)
    if (hp_geo_lookup(&e, g, ips[i], strlen(ips[i])) == 1 && e.str[HP_GEO_CITY]) sink += e.str[HP_GEO_CITY][0];
  return (now() - t0) * 1e9 / n;
}

static double best(const double *v) {
  double b = v[0];
  for (int i = 1; i < ROUNDS; i++)
    if (v[i] < b) b = v[i];
  return b;
}

static void print_rounds(const char *name, const double *v) {
  printf("\"%s\": {\"nsPerOp\": %.1f, \"opsPerSec\": %.0f, \"rounds\": [", name, best(v), 1e9 / best(v));
  for (int i = 0; i < ROUNDS; i++) printf("%s%.1f", i ? ", " : "", v[i]);
  printf("]}");
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  size_t cap = 1u << 20;
  ip_text *uniform = malloc(cap * sizeof *uniform), *hot = malloc(cap * sizeof *hot),
          *zipf = malloc(cap * sizeof *zipf);
  size_t n = read_ips(argv[2], uniform, cap), nz = read_ips(argv[3], zipf, cap);
  if (n < HOT_SET || nz == 0) return 1;
  /* Fixed-seed draws from the first HOT_SET addresses. */
  unsigned long long x = 20240601;
  for (size_t i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    memcpy(hot[i], uniform[(x >> 33) % HOT_SET], sizeof hot[i]);
  }

  MMDB_s mmdb;
  if (MMDB_open(argv[1], MMDB_MODE_MMAP, &mmdb) != MMDB_SUCCESS) return 1;
  long rss_before = rss_kib();
  hp_geo *g = NULL;
  if (hp_geo_open(&g, NULL, argv[1], NULL) != 0) {
    fprintf(stderr, "%s\n", hp_last_error());
    return 1;
  }
  long rss_open = rss_kib();

  struct {
    const char *name;
    ip_text *ips;
    size_t n;
    double mmdb[ROUNDS], hp[ROUNDS];
  } w[] = {{"uniform", uniform, n, {0}, {0}}, {"hot", hot, n, {0}, {0}}, {"zipf", zipf, nz, {0}, {0}}};
  int nw = sizeof w / sizeof w[0];
  run_hotpath(g, uniform, n); /* cold pass: every record's first lookup */
  long rss_cold = rss_kib();  /* before libmaxminddb touches its own mapping */
  for (int k = 0; k < nw; k++)
    for (int r = 0; r < ROUNDS; r++) {
      w[k].mmdb[r] = run_mmdb(&mmdb, w[k].ips, w[k].n);
      w[k].hp[r] = run_hotpath(g, w[k].ips, w[k].n);
    }

  printf("{");
  for (int k = 0; k < nw; k++) {
    printf("\"%s\": {", w[k].name);
    print_rounds("libmaxminddb_lookup_2_get_value", w[k].mmdb);
    printf(", ");
    print_rounds("hotpath_lookup", w[k].hp);
    printf("}, ");
  }
  printf("\"rssKiB\": {\"beforeOpen\": %ld, \"afterOpen\": %ld, \"afterColdPass\": %ld}, \"sink\": %ld}\n", rss_before,
         rss_open, rss_cold, sink);
  hp_geo_close(g, NULL, NULL);
  MMDB_close(&mmdb);
  free(uniform);
  free(hot);
  free(zipf);
  return 0;
}
