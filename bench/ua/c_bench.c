/* bench/ua (C): hp_ua_parse without a cache (every parse cold) and with the
 * default cache, over the strings of a file (one a line). JSON on stdout. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  size_t cap = 1 << 20, n = 0, count = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  size_t *starts = malloc(sizeof(size_t) * (n / 8 + 2)), *lens = malloc(sizeof(size_t) * (n / 8 + 2));
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && buf[j] != '\n') j++;
    starts[count] = i;
    lens[count++] = j - i;
    i = j + 1;
  }
  hp_ua_result r = HP_UA_RESULT_INIT;
  const char *names[2] = {"hotpath_c_uncached", "hotpath_c_cached"};
  hp_ua *parsers[2] = {NULL, NULL};
  hp_ua_new(&parsers[1], NULL);
  printf("{\n  \"strings\": %zu", count);
  for (int k = 0; k < 2; k++) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = now();
      for (size_t i = 0; i < count; i++) hp_ua_parse(&r, parsers[k], buf + starts[i], lens[i]);
      double t = now() - t0;
      if (t < best) best = t;
    }
    printf(",\n  \"%s\": {\"opsPerSec\": %.0f, \"nsPerOp\": %.1f}", names[k], count / best, best * 1e9 / count);
  }
  printf("\n}\n");
  hp_ua_close(parsers[1], NULL, NULL);
  free(buf);
  free(starts);
  free(lens);
  return 0;
}
