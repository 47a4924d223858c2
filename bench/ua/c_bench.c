/* bench/ua (C): hp_ua_parse without a cache (every parse cold) and with the
 * default cache, over the strings of a file (one a line). Wall time, and the
 * CPU time of this thread beside it (on a shared machine the wall time also
 * counts the time other processes held the core); the time of the first
 * parse (which compiles the tables) and the peak resident memory after. JSON
 * on stdout. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hotpath.h"

static double clock_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
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
  /* the first parse compiles the tables */
  double f0 = clock_s(CLOCK_MONOTONIC);
  hp_ua_parse(&r, NULL, "x", 1);
  printf("{\n  \"strings\": %zu,\n  \"firstParseMs\": %.1f", count, (clock_s(CLOCK_MONOTONIC) - f0) * 1e3);
  for (int k = 0; k < 2; k++) {
    double best = 1e9, best_cpu = 1e9;
    for (int rep = 0; rep < 5; rep++) {
      double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
      for (size_t i = 0; i < count; i++) hp_ua_parse(&r, parsers[k], buf + starts[i], lens[i]);
      double t = clock_s(CLOCK_MONOTONIC) - t0, c = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
      if (t < best) best = t;
      if (c < best_cpu) best_cpu = c;
    }
    printf(",\n  \"%s\": {\"opsPerSec\": %.0f, \"nsPerOp\": %.1f, \"cpuOpsPerSec\": %.0f, \"cpuNsPerOp\": %.1f}",
           names[k], count / best, best * 1e9 / count, count / best_cpu, best_cpu * 1e9 / count);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(",\n  \"maxRssKiB\": %ld\n}\n", ru.ru_maxrss);
  hp_ua_close(parsers[1], NULL, NULL);
  free(buf);
  free(starts);
  free(lens);
  return 0;
}
