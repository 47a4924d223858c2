/* bench/ua (C): time of hp_ua_parse (no cache) on hostile strings of 256 B
 * to 4 KiB, built from what the ua-parser-js and uap-core rules that
 * backtrack look for (long runs their `.+`, `[^;]+?`, `\s\s*` and nested
 * groups retry over), so the time per length shows it stays linear. The
 * CPU time of this thread (on a shared machine wall time also counts other
 * processes), best of 5 rounds. JSON on stdout. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* prefix, then unit repeated up to the length */
static const struct {
  const char *name, *prefix, *unit;
} families[] = {
    {"spaces", "", " "},                                                 /* ^\s\s* trims */
    {"android-semicolons", "Mozilla/5.0 (Linux; Android 10; ", "a; "},  /* droid .+?; ([^;]+?) */
    {"build-without-close", "Mozilla/5.0 (Linux; U; Android 4.0; ", "x Build "},
    {"nested-brackets", "Mozilla/5.0 ", "(("},
    {"version-digits", "Mozilla/5.0 (Windows NT ", "1."},          /* [ntce\d\. ]+\w */
    {"hp-tablet", "hp ", "touchpad x "},                             /* (hp).+(touchpad|tablet) */
    {"xbox-veto", "", "xbox; "},                                     /* a rejected match retried */
    {"mobile-safari", "Mozilla/5.0 (Linux; Android 9; ", "Mobile Safari "},
    {"uap-ios-version", "Mozilla/5.0 (iPhone; CPU iPhone OS 1_0 like Mac OS X) ", "Version/1.1.1.1 "},
    {"uap-model", "Mozilla/5.0 (Linux; Android 4.4; ", "SAMSUNG-SM-"},
};
static const size_t lengths[] = {256, 512, 1024, 2048, 4096};

int main(void) {
  char *s = malloc(4097);
  hp_ua_result r = HP_UA_RESULT_INIT;
  printf("{\n  \"families\": [");
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    printf("%s\n    {\"name\": \"%s\", \"nsPerParse\": {", f ? "," : "", families[f].name);
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
      size_t n = lengths[l], p = strlen(families[f].prefix), u = strlen(families[f].unit);
      memcpy(s, families[f].prefix, p);
      for (size_t i = p; i < n; i++) s[i] = families[f].unit[(i - p) % u];
      int reps = 300;
      double best = 1e9;
      for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int k = 0; k < reps; k++) hp_ua_parse(&r, NULL, s, n);
        double t = (now() - t0) / reps;
        if (t < best) best = t;
      }
      printf("%s\"%zu\": %.0f", l ? ", " : "", n, best * 1e9);
    }
    printf("}}");
  }
  printf("\n  ]\n}\n");
  free(s);
  return 0;
}
