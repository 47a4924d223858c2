/* hotpath.h as a C99 user sees it: compiled with -std=c99 -pedantic -Werror. */
#include "hotpath.h"

int hp_headertest_c(void) {
  hp_host_info info = HP_HOST_INFO_INIT;
  hp_ua_result ua = HP_UA_RESULT_INIT;
  hp_ua_options ua_opts = HP_UA_OPTIONS_INIT;
  uint32_t v = 0;
  /* Every stats struct's INIT macro names all of its fields. */
  hp_geo_stats geo = HP_GEO_STATS_INIT;
  hp_limiter_stats lim = HP_LIMITER_STATS_INIT;
  hp_blobs_stats blobs = HP_BLOBS_STATS_INIT;
  hp_events_stats ev = HP_EVENTS_STATS_INIT;
  hp_recipes_subscription_stats sub = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  (void)ua_opts;
  if (geo.version + lim.version + blobs.version + ev.version + sub.version == 0) return 5;
  if (hp_event_kind_name(HP_EVENT_RELOAD)[0] != 'r' || hp_handle_kind_name(HP_HANDLE_GEO)[0] != 'g') return 6;
  if (hp_ua_parse(&ua, NULL, "curl/8.0", 8) != 0 || !ua.is_bot) return 4;
  if (hp_fingerprint32(&v, "hello world", 11) != 0 || v != 430397466u) return 1;
  if (hp_host_snapshot(&info) != 0) return 2;
  return hp_strerror(HP_EINVAL)[0] == 'i' ? 0 : 3;
}
