// The detectors: each reads the tokens of one Scan and fills its part of the
// result. Their rules mirror the precedence of ua-parser-js (whose names they
// report), expressed over tokens instead of regular expressions.
#pragma once

#include "hotpath/ua.h"
#include "ua/scan.h"

namespace hp::ua {

void detect_browser(const Scan &s, hp_ua_result *out);
void detect_engine(const Scan &s, hp_ua_result *out);
void detect_os(const Scan &s, hp_ua_result *out);
// Needs out->os (Android, iOS, ...) from detect_os.
void detect_device(const Scan &s, hp_ua_result *out);

// True when the string is one of the common shapes whose every token the
// detectors above read as ua-parser-js does; others go to the tables.
bool fast_path(const Scan &s);

// The whole parse, uncached: fills every field of *out (version kept).
// tables_only skips the detectors (the tests compare the two paths).
void parse(const char *ua, uint32_t len, hp_ua_result *out, bool tables_only = false);

}  // namespace hp::ua
