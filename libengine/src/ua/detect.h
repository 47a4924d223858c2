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

// Which parts the detectors above answer: none (the tables answer all),
// all (the string is one of the common shapes whose every token they read
// as ua-parser-js does), or all but the device (the same shapes with an
// Android "<model> Build/<id>" item, whose model the device tables read).
enum FastPath { FAST_NONE, FAST_ALL, FAST_BUT_DEVICE };
FastPath fast_path(const Scan &s);

// The whole parse, uncached: fills every field of *out (version kept).
// tables_only skips the detectors (the tests compare the two paths).
void parse(const char *ua, uint32_t len, hp_ua_result *out, bool tables_only = false);

}  // namespace hp::ua
