/* hotpath/ua.h: user-agent parsing. Include hotpath.h. */
#ifndef HOTPATH_UA_H
#define HOTPATH_UA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Device types. Names follow ua-parser-js, where a desktop has no type. */
typedef enum hp_ua_device_type {
  HP_UA_DESKTOP = 0,
  HP_UA_MOBILE = 1,
  HP_UA_TABLET = 2,
  HP_UA_SMARTTV = 3,
  HP_UA_CONSOLE = 4,
  HP_UA_WEARABLE = 5,
  HP_UA_EMBEDDED = 6,
  HP_UA_BOT = 7
} hp_ua_device_type;

/**
 * What a user-agent string says, filled by hp_ua_parse(). Every text field
 * is NUL-terminated and "" when unknown; names follow ua-parser-js ("Chrome",
 * "Mobile Safari", "Edge", "Mac OS", "Windows", "iOS", "Android"). A value
 * longer than its field is cut to fit.
 */
typedef struct hp_ua_result {
  unsigned version;          /**< HP_UA_RESULT_VERSION */
  char browser[32];          /**< "Chrome" */
  char browser_version[32];  /**< "120.0.6099.109" */
  char engine[16];           /**< "Blink", "WebKit", "Gecko", "Trident" */
  char engine_version[32];
  char os[24];               /**< "Windows", "Mac OS", "Android", "iOS" */
  char os_version[32];       /**< "10", "10.15.7", "17.1" */
  int device_type;           /**< an hp_ua_device_type */
  char vendor[24];           /**< "Apple", "Samsung", "Google" */
  char model[40];            /**< "iPhone", "SM-G991B", "Pixel 7" */
  int is_bot;                /**< 1 where isbot's patterns say so: crawlers,
                                  fetchers, HTTP libraries, CLIs */
  char cpu[16];              /**< "amd64", "arm64", "ia32" (version 2) */
} hp_ua_result;

/** Version 2 added cpu; a version 1 struct (without it) is still filled. */
#define HP_UA_RESULT_VERSION 2
#define HP_UA_RESULT_INIT \
  {HP_UA_RESULT_VERSION, {0}, {0}, {0}, {0}, {0}, {0}, 0, {0}, {0}, 0, {0}}

/** Longest user-agent string parsed; bytes beyond it are ignored. */
#define HP_UA_MAX_LEN 4096

/**
 * A parser with a bounded cache of results for repeated strings. The cache
 * is split into shards, each with its own small lock, so threads parsing
 * different strings rarely meet.
 */
typedef struct hp_ua hp_ua;

/** Options of hp_ua_new(). */
typedef struct hp_ua_options {
  unsigned version;        /**< HP_UA_OPTIONS_VERSION */
  uint32_t cache_entries;  /**< results kept (strings up to
                                HP_UA_CACHE_KEY_MAX bytes); 0 disables it;
                                default HP_UA_DEFAULT_CACHE */
} hp_ua_options;

#define HP_UA_OPTIONS_VERSION 1
#define HP_UA_DEFAULT_CACHE 4096
#define HP_UA_MAX_CACHE (1u << 22)
#define HP_UA_CACHE_KEY_MAX 480
#define HP_UA_OPTIONS_INIT {HP_UA_OPTIONS_VERSION, HP_UA_DEFAULT_CACHE}

/**
 * Create a parser. The cache memory (about 800 bytes an entry) is allocated
 * here, once; parsing never allocates.
 * @param[out] out  the parser; caller closes it with hp_ua_close().
 * @param opts      copied; NULL means HP_UA_OPTIONS_INIT.
 * @return 0, HP_EINVAL (out NULL, unknown options version, cache_entries
 *         over HP_UA_MAX_CACHE), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_ua_new(hp_ua **out, const hp_ua_options *opts);

/**
 * Close a parser (see hp_close_cb for the model every handle follows):
 * parses in flight on other threads finish first, later calls get
 * HP_ECLOSED; then `cb` runs and the parser is freed. A parser has no
 * engine, so `cb` runs on the thread that ends the last call in flight,
 * which is this one when none is.
 * @param p     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_ua_close(hp_ua *p, hp_close_cb cb, void *data);

/**
 * Parse a User-Agent header value. The answers are ua-parser-js 1.x's (the
 * same names, field by field) and isbot's for is_bot. Common browsers are
 * read by a tokenizer; other strings by ua-parser-js's rules, generated into
 * tables and run with RE2 over the first 500 bytes. Linear in `len`. The
 * tables' automata are shared by all threads (RE2 read-locks them, and
 * write-locks one briefly while adding states to its cache); the table path
 * allocates small strings. An empty or unrecognised string is a result (all
 * fields "" and HP_UA_DESKTOP), not an error.
 * @param[out] out  caller-owned; out->version must be HP_UA_RESULT_VERSION
 *                  (or 1, a struct without cpu). Overwritten completely.
 * @param p         a parser whose cache to use (borrowed), or NULL to parse
 *                  without a cache.
 * @param ua        the string, borrowed for the call; need not be
 *                  NUL-terminated; may be NULL only when len is 0.
 * @param len       its length in bytes; bytes past HP_UA_MAX_LEN are ignored.
 * @return 1 when the result came from the cache, 0 when it was parsed,
 *         HP_EINVAL (out NULL, unknown result version, ua NULL with len > 0),
 *         HP_ECLOSED (p is closing).
 * Thread: any; many threads may share one parser.
 */
HP_EXTERN int hp_ua_parse(hp_ua_result *out, hp_ua *p, const char *ua,
                          size_t len);

/** Cache counters of a parser, for monitoring. */
typedef struct hp_ua_stats {
  unsigned version;  /**< HP_UA_STATS_VERSION */
  uint64_t hits;
  uint64_t misses;
  uint32_t capacity; /**< entries */
} hp_ua_stats;

#define HP_UA_STATS_VERSION 1
#define HP_UA_STATS_INIT {HP_UA_STATS_VERSION, 0, 0, 0}

/**
 * Read a parser's cache counters (approximate while other threads parse).
 * @param[out] out  caller-owned; out->version must be HP_UA_STATS_VERSION.
 * @param p         the parser (borrowed).
 * @return 0, HP_EINVAL or HP_ECLOSED. Thread: any.
 */
HP_EXTERN int hp_ua_stats_get(hp_ua_stats *out, const hp_ua *p);

/** Name of a device type as the bindings report it: "desktop", "mobile",
 *  "tablet", "smarttv", "console", "wearable", "embedded", "bot"; "" for a
 *  value outside the enum. Static, never NULL. Thread: any. */
HP_EXTERN const char *hp_ua_device_type_name(int type);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_UA_H */
