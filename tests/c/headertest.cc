// hotpath.h as a C++ user sees it.
#include "hotpath.h"

extern "C" int hp_headertest_cxx(void) {
  hp_host_info info = HP_HOST_INFO_INIT;
  return info.version == HP_HOST_INFO_VERSION && hp_version() == HP_VERSION_HEX ? 0 : 1;
}
