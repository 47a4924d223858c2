// hotpath.h as a C++ user sees it.
#include "hotpath.h"

extern "C" int hp_headertest_cxx(void) {
  hp_host_info info = HP_HOST_INFO_INIT;
  hp_geo_stats geo = HP_GEO_STATS_INIT;
  hp_limiter_stats lim = HP_LIMITER_STATS_INIT;
  hp_blobs_stats blobs = HP_BLOBS_STATS_INIT;
  hp_events_stats ev = HP_EVENTS_STATS_INIT;
  hp_recipes_subscription_stats sub = HP_RECIPES_SUBSCRIPTION_STATS_INIT;
  if (geo.version + lim.version + blobs.version + ev.version + sub.version == 0) return 2;
  return info.version == HP_HOST_INFO_VERSION && hp_version() == HP_VERSION_HEX ? 0 : 1;
}
