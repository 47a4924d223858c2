/* hotpath/recipes.h: named in-memory tables of JSON records ("recipes"),
 * loaded from JSON array files, kept live by point updates and file
 * watches, with targeting rules compiled at load. Include hotpath.h.
 *
 * A recipe set (hp_recipes) holds named tables (hp_recipe_table). Each table
 * is keyed by one top-level field of its records (`offerId`), integer or
 * string. Loads parse on the libuv thread pool straight into compact native
 * records (a byte tape of each record's JSON tokens with member names and
 * repeated short strings shared per table, plus compiled rules; no DOM is
 * kept) and
 * publish the new table with one pointer swap: readers on any thread keep
 * the snapshot they started with and never block.
 *
 * Point updates ({type, id, action, timestamp, body}) land in a small overlay
 * on top of the file's table; a reload keeps every point update whose
 * timestamp is newer than the file's, so it never undoes one.
 */
#ifndef HOTPATH_RECIPES_H
#define HOTPATH_RECIPES_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of named tables on one engine. */
typedef struct hp_recipes hp_recipes;

/** One table of a set; borrowed from its set, valid until hp_recipes_close(). */
typedef struct hp_recipe_table hp_recipe_table;

/* ------------------------------------------------------------- Lifecycle */

/**
 * Create an empty recipe set on an engine.
 * @param[out] out  the new set; the caller closes it with hp_recipes_close().
 * @param e         the engine (the set keeps it alive until it is closed).
 * @return 0, HP_EINVAL (out or e NULL), HP_ECLOSED (the engine is closing),
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_open(hp_recipes **out, hp_engine *e);

/**
 * Close a set (see hp_close_cb for the model every handle follows): calls on
 * the set and its tables made after it get HP_ECLOSED and those in flight
 * finish; then watches stop (their callbacks run once more with
 * HP_ECLOSED), loads still parsing complete with HP_ECLOSED, and `cb` runs
 * on the loop thread once nothing on the loop uses the tables.
 * @param r     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_recipes_close(hp_recipes *r, hp_close_cb cb, void *data);

/* ---------------------------------------------------------------- Tables */

/** Type of a table's key field. */
typedef enum hp_recipe_key_type {
  HP_RECIPE_KEY_INT = 0,   /**< JSON integers (-2^63..2^63-1); 12.0 counts */
  HP_RECIPE_KEY_STRING = 1 /**< JSON strings, compared byte for byte */
} hp_recipe_key_type;

/** How a table is keyed and which fields get special treatment at load. */
typedef struct hp_recipe_table_options {
  unsigned version;            /**< HP_RECIPE_TABLE_OPTIONS_VERSION */
  const char *key_field;       /**< top-level field holding the key; required */
  int key_type;                /**< hp_recipe_key_type */
  /** Top-level fields whose value is JSON inside a string ("geoRules":
   *  "{\"geo\":[...]}"). They are parsed once at load and stored as the
   *  JSON value they contain; a string that is not valid JSON stays a
   *  string and is counted in embedded_errors. NULL or 0 for none. */
  const char *const *json_fields;
  size_t json_field_count;
  /** `type` of point-update messages for this table ("offer"); NULL means
   *  the table's name. */
  const char *update_type;
  /** Field with offer geo rules {"geo":[{country, include}]}; NULL means
   *  "geoRules", "" turns geo rules off. */
  const char *geo_rules_field;
  /** Field with campaign target rules {redirectTo, rules:[...]}; NULL means
   *  "targetRules", "" turns target rules off. */
  const char *target_rules_field;
  /** (version >= 2) Caps on one load of a file, so that a hostile or broken
   *  file (a gzip bomb, an endless item) costs bounded memory and time: a
   *  load past one fails with HP_ELIMIT naming it, and the old table stays.
   *  Bytes of JSON parsed (gzip: inflated); 0 means HP_RECIPES_MAX_JSON_BYTES. */
  uint64_t max_json_bytes;
  /** (version >= 2) Array items of one file; 0 means HP_RECIPES_MAX_ITEMS. */
  uint64_t max_items;
  /** (version >= 2) Bytes of one item (of a file, or the body of a point
   *  update); 0 means HP_RECIPES_MAX_ITEM_BYTES. */
  uint64_t max_item_bytes;
} hp_recipe_table_options;

#define HP_RECIPE_TABLE_OPTIONS_VERSION 2
#define HP_RECIPE_TABLE_OPTIONS_INIT \
  {HP_RECIPE_TABLE_OPTIONS_VERSION, NULL, HP_RECIPE_KEY_INT, NULL, 0, NULL, NULL, NULL, 0, 0, 0}
/** Default max_json_bytes: 1 GiB. */
#define HP_RECIPES_MAX_JSON_BYTES ((uint64_t)1 << 30)
/** Default max_items: 16,777,216. */
#define HP_RECIPES_MAX_ITEMS ((uint64_t)1 << 24)
/** Default max_item_bytes: 16 MiB. */
#define HP_RECIPES_MAX_ITEM_BYTES ((uint64_t)16 << 20)

/**
 * Add an empty table to a set.
 * @param[out] out  the table (borrowed from `r`, valid until hp_recipes_close).
 * @param name      1..255 bytes, unique in the set; copied.
 * @param opts      required (key_field); every string in it is copied.
 *                  Versions 1 and 2 are read.
 * @return 0, HP_EINVAL (bad name, duplicate name, bad options), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_define(hp_recipe_table **out, hp_recipes *r, const char *name,
                                const hp_recipe_table_options *opts);

/** The table called `name` (owned by the set, valid until
 *  hp_recipes_close()), or NULL when there is none or an argument is NULL.
 *  Sets no error. Thread: any. */
HP_EXTERN hp_recipe_table *hp_recipes_find(hp_recipes *r, const char *name);

/** The table's name (owned by the table); "" for NULL. Never fails.
 *  Thread: any. */
HP_EXTERN const char *hp_recipes_table_name(const hp_recipe_table *t);

/* ----------------------------------------------------------------- Loads */

/** Counters of one table. Sizes are in bytes. */
typedef struct hp_recipes_stats {
  unsigned version;         /**< HP_RECIPES_STATS_VERSION */
  uint64_t size;            /**< live records (file + point updates) */
  uint64_t loads;           /**< successful loads */
  uint64_t load_failures;   /**< loads rejected (old table kept) */
  int64_t last_load_at;     /**< Unix ms of the last successful load, 0 if none */
  double last_load_ms;      /**< duration of the last successful load */
  int64_t file_timestamp;   /**< timestamp (Unix ms) of the loaded file */
  uint64_t file_bytes;      /**< bytes of the loaded file as stored (gzip or not) */
  uint64_t json_bytes;      /**< bytes of JSON parsed by the last load */
  uint64_t memory_bytes;    /**< bytes held by the table's records and index */
  uint64_t items;           /**< array items in the last loaded file */
  uint64_t skipped;         /**< items skipped: not an object, no key or bad key */
  uint64_t duplicates;      /**< items whose key appeared earlier (last wins) */
  uint64_t embedded_errors; /**< json_fields whose string was not valid JSON */
  uint64_t rule_errors;     /**< rule fields of an unexpected shape (ignored) */
  uint64_t updates_applied; /**< point updates applied */
  uint64_t updates_stale;   /**< point updates ignored as older than the data */
  uint64_t overlay_size;    /**< point updates held on top of the file */
} hp_recipes_stats;

#define HP_RECIPES_STATS_VERSION 1
#define HP_RECIPES_STATS_INIT {HP_RECIPES_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/**
 * Fill `out` with the table's counters (see "Observability" in
 * hotpath/common.h).
 * @param[out] out  caller-owned; out->version must be HP_RECIPES_STATS_VERSION.
 * @param t         the table (borrowed).
 * @return 0, HP_EINVAL.   Thread: any.
 */
HP_EXTERN int hp_recipes_stats_get(hp_recipes_stats *out, const hp_recipe_table *t);

/** Options of hp_recipes_load(). */
typedef struct hp_recipes_load_options {
  unsigned version; /**< HP_RECIPES_LOAD_OPTIONS_VERSION */
  /** Time (Unix ms) the file's data is current as of; point updates newer
   *  than it survive the load. 0 means the file's mtime. */
  int64_t timestamp;
  /** Plain files of at most this many bytes are read into one buffer and
   *  parsed on several threads; larger ones are streamed with bounded extra
   *  memory. Gzip files stream, inflated on a thread of their own while the
   *  JSON is parsed, when the library is built with ISA-L (libisal found
   *  at build time); without it this cap (uncompressed) also picks between
   *  a whole-buffer inflate and streaming. 0 means
   *  HP_RECIPES_WHOLE_INFLATE_MAX. */
  uint64_t whole_inflate_max;
} hp_recipes_load_options;

#define HP_RECIPES_LOAD_OPTIONS_VERSION 1
#define HP_RECIPES_LOAD_OPTIONS_INIT {HP_RECIPES_LOAD_OPTIONS_VERSION, 0, 0}
#define HP_RECIPES_WHOLE_INFLATE_MAX ((uint64_t)256 << 20)

/** Completion of a load; `stats` is borrowed for the call (NULL when
 *  status < 0, hp_last_error() then has the detail, e.g. "offers.json:
 *  byte 1832: expected ',' or '}' in an object"). */
typedef void (*hp_recipes_load_cb)(int status, const hp_recipes_stats *stats, void *data);

/**
 * Load (or reload) a table from a file holding a JSON array of objects, plain
 * or gzip (detected by its magic bytes). Parsing runs on the libuv thread
 * pool; the new table is published atomically and keys missing from the
 * file disappear. On failure the previous table stays in service.
 * @param path  copied.
 * @param opts  NULL for defaults; copied.
 * @param cb    required; runs exactly once on the loop thread unless this
 *              call returns < 0. Status 0, or HP_EIO (cannot read the file),
 *              HP_ECORRUPT (invalid JSON or gzip: byte offset and reason in
 *              hp_last_error()), HP_ELIMIT (past the table's
 *              max_json_bytes, max_items or max_item_bytes, named in
 *              hp_last_error()), HP_ENOMEM, HP_ECLOSED (closed first).
 * @param data  passed to cb unchanged.
 * @return 0, HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_load(hp_recipe_table *t, const char *path, const hp_recipes_load_options *opts,
                              hp_recipes_load_cb cb, void *data);

/* --------------------------------------------------------------- Lookups */

/** A key: `str` (len bytes) when not NULL, else `num`. A string key on an
 *  integer table is read as decimal; an integer key on a string table is
 *  written in decimal. */
typedef struct hp_recipe_key {
  const char *str;
  size_t len;
  int64_t num;
} hp_recipe_key;

/** A record's JSON text, written into a caller buffer. */
typedef struct hp_recipe {
  unsigned version;         /**< HP_RECIPE_VERSION */
  char *buf;                /**< caller's buffer, may be NULL when cap is 0 */
  size_t cap;               /**< its size */
  size_t len;               /**< [out] length of the JSON text; written only
                                 when len < cap (then NUL-terminated) */
  uint64_t record_version;  /**< [out] changes whenever the record's content
                                 changes; never reused within a process */
  int64_t timestamp;        /**< [out] of its point update, else of its file */
} hp_recipe;

#define HP_RECIPE_VERSION 1
#define HP_RECIPE_INIT {HP_RECIPE_VERSION, NULL, 0, 0, 0, 0}

/**
 * Look a record up. The JSON text is minified, with json_fields expanded to
 * the values they held; it is written back from the record's compact form
 * byte for byte as the minified input (escapes, number text and member
 * order kept). Allocation-free; never blocks on a load or update.
 * @param[out] out  caller-owned; with cap 0 only len, record_version and
 *                  timestamp are filled. Left untouched on a miss.
 * @param t    the table (borrowed).
 * @param key  borrowed for the call.
 * @return 1 (found), 0 (no such key: a result, not an error, and no
 *         message), HP_EINVAL, HP_ECLOSED.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_get(hp_recipe *out, hp_recipe_table *t, const hp_recipe_key *key);

/** Number of live records in the current snapshot; 0 for NULL. Never
 *  fails. Thread: any, concurrently with loads and updates. */
HP_EXTERN uint64_t hp_recipes_size(hp_recipe_table *t);

/** A counter that changes whenever the table's contents may have changed (a
 *  load or a point update was published); 0 before the first. A binding
 *  caches materialised records and revalidates them only when it moves.
 *  Thread: any. */
HP_EXTERN uint64_t hp_recipes_generation(hp_recipe_table *t);

/** Receives each key of hp_recipes_keys(): `str`/`len` for string tables
 *  (borrowed for the call), `num` for integer tables. Return nonzero to stop. */
typedef int (*hp_recipes_key_cb)(const char *str, size_t len, int64_t num, void *data);

/**
 * Call `cb` for every live key of one snapshot, in no particular order; a
 * point update made while it runs may or may not be seen. Loads (and every
 * 64th point update, which frees what earlier ones replaced) wait until it
 * returns, so `cb` must not load, update or close anything of the set.
 * @return the number of keys visited, or HP_EINVAL.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_keys(hp_recipe_table *t, hp_recipes_key_cb cb, void *data);

/* ----------------------------------------------------------------- Rules */

/** The visitor a rule decision is about; NULL or "" for an unknown
 *  dimension (a condition on it does not hold). Compared ASCII
 *  case-insensitively; borrowed for the call. */
typedef struct hp_recipes_context {
  unsigned version; /**< HP_RECIPES_CONTEXT_VERSION */
  const char *country;
  const char *region;
  const char *city;
  const char *isp;
  const char *os;
  const char *browser;
  const char *device_type;
} hp_recipes_context;

#define HP_RECIPES_CONTEXT_VERSION 1
#define HP_RECIPES_CONTEXT_INIT {HP_RECIPES_CONTEXT_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/** Outcome of one kind of rule. */
typedef enum hp_recipes_rule_outcome {
  HP_RECIPES_RULE_NONE = 0, /**< the record has no such rules */
  HP_RECIPES_RULE_PASS = 1, /**< geo: allowed; target: the visitor matches */
  HP_RECIPES_RULE_FAIL = 2  /**< geo: blocked; target: the visitor does not match */
} hp_recipes_rule_outcome;

/** The decision of hp_recipes_match(). */
typedef struct hp_recipes_match_result {
  unsigned version;   /**< HP_RECIPES_MATCH_RESULT_VERSION */
  int geo;            /**< [out] hp_recipes_rule_outcome of geo rules */
  int target;         /**< [out] hp_recipes_rule_outcome of target rules */
  int rule;           /**< [out] index of the target rule that decided, -1 if none */
  char *redirect_buf; /**< caller's buffer for target rules' redirectTo; may be NULL */
  size_t redirect_cap;
  size_t redirect_len; /**< [out] length of redirectTo; copied only when < cap */
} hp_recipes_match_result;

#define HP_RECIPES_MATCH_RESULT_VERSION 1
#define HP_RECIPES_MATCH_RESULT_INIT {HP_RECIPES_MATCH_RESULT_VERSION, 0, 0, -1, NULL, 0, 0}

/**
 * Evaluate a record's compiled rules for a visitor without materialising
 * the record.
 *
 * Geo rules {"geo":[{country, include}]}: a country listed with include
 * false is blocked; when any entry has include true, only those countries
 * pass; otherwise everything passes.
 *
 * Target rules {redirectTo, rules:[{include, filterGroups:[{conditions:
 * [{dimension, value}]}]}]}: a rule holds when any of its filter groups
 * holds (OR), a group when all its conditions hold (AND); a condition's
 * value is a string or an array of strings (any of them), compared without
 * case. The visitor matches (HP_RECIPES_RULE_PASS) when every include rule holds
 * and no exclude rule holds; dimensions: country, region, city, isp, os,
 * browser, deviceType.
 *
 * @param[out] out  caller-owned; on a miss it reads as a record without
 *                  rules (both outcomes NONE, rule -1, redirect_len 0).
 * @param t    the table (borrowed).
 * @param key  borrowed for the call.
 * @param ctx  NULL means an unknown visitor; borrowed for the call.
 * @return 1 (the record exists; `out` holds the decision), 0 (no such key:
 *         a result, not an error, and no message), HP_EINVAL, HP_ECLOSED.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_match(hp_recipes_match_result *out, hp_recipe_table *t, const hp_recipe_key *key,
                               const hp_recipes_context *ctx);

/* --------------------------------------------------------- Point updates */

/** What hp_recipes_update() did with a change it accepted. */
typedef enum hp_recipes_update_result {
  HP_RECIPES_APPLIED = 0, /**< the change is applied */
  HP_RECIPES_STALE = 1    /**< ignored: the table already holds newer data */
} hp_recipes_update_result;

/**
 * Apply one point update in the seed's message shape:
 * {"type":"offer","id":35784,"action":"updateOrCreate"|"delete",
 *  "timestamp":1700000000000,"body":"<the record as a JSON string>"}.
 * `type` picks the table (its update_type), `id` the key; `body` may also
 * be a JSON object. A change older than the table's data for that key (the
 * file's timestamp or a newer point update) is ignored. This is the single
 * entry point for updates from a socket, an admin endpoint or a pub/sub
 * channel.
 * @param msg  borrowed for the call; `len` bytes of UTF-8 JSON.
 * @return an hp_recipes_update_result (HP_RECIPES_APPLIED,
 *         HP_RECIPES_STALE), or HP_EINVAL (malformed
 *         message, unknown type or action), HP_ECORRUPT (body is not a JSON
 *         object), HP_ELIMIT (body over the table's max_item_bytes),
 *         HP_ENOMEM, HP_ECLOSED.
 * Thread: any. Amortised O(1): one call in 64 waits for readers that are
 * inside a call right now, to free what the earlier ones replaced.
 */
HP_EXTERN int hp_recipes_update(hp_recipes *r, const char *msg, size_t len);

/* ----------------------------------------------------------------- Watch */

/** A file watch. Owned by its table; stopped with hp_recipes_unwatch() or
 *  by hp_recipes_close(). */
typedef struct hp_recipes_watch hp_recipes_watch;

/** Options of hp_recipes_watch_file(). */
typedef struct hp_recipes_watch_options {
  unsigned version;      /**< HP_RECIPES_WATCH_OPTIONS_VERSION */
  uint32_t interval_ms;  /**< size/mtime check period; 0 means 1000 */
  uint32_t debounce_ms;  /**< wait after a change event; 0 means 50 */
  int load_now;          /**< nonzero: load at once, not only on change */
  int persistent;        /**< nonzero: the watch keeps the loop alive, as
                              node's fs.watch does; 0: it does not */
} hp_recipes_watch_options;

#define HP_RECIPES_WATCH_OPTIONS_VERSION 1
#define HP_RECIPES_WATCH_OPTIONS_INIT {HP_RECIPES_WATCH_OPTIONS_VERSION, 0, 0, 1, 1}

/**
 * Reload a table whenever `path` changes: libuv fs events on its folder for
 * a quick reaction, plus a size/mtime/inode check every interval_ms that
 * also catches a file replaced by rename or copied over. A file that
 * vanishes or fails to parse leaves the old table in service.
 * @param[out] out  the watch (may be NULL); owned by the table.
 * @param path      copied.
 * @param cb        required; runs on the loop thread after every reload
 *                  attempt (status as in hp_recipes_load_cb; HP_EIO when
 *                  the file vanished), and a last time with HP_ECLOSED when
 *                  the watch stops, after which `data` is no longer used.
 * @return 0, HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_watch_file(hp_recipes_watch **out, hp_recipe_table *t, const char *path,
                                    const hp_recipes_watch_options *opts, hp_recipes_load_cb cb, void *data);

/**
 * Stop a watch; its callback runs once more with HP_ECLOSED, on the loop.
 * @param w  NULL is a no-op.
 * Thread: any.
 */
HP_EXTERN void hp_recipes_unwatch(hp_recipes_watch *w);

/* --------------------------------------------------------------- Pub/sub */

/** A Redis pub/sub subscription feeding point updates into a set. Owned by
 *  the set; stopped with hp_recipes_unsubscribe() or by hp_recipes_close(). */
typedef struct hp_recipes_subscription hp_recipes_subscription;

/** Options of hp_recipes_subscribe(). */
typedef struct hp_recipes_subscribe_options {
  unsigned version;            /**< HP_RECIPES_SUBSCRIBE_OPTIONS_VERSION */
  uint32_t connect_timeout_ms; /**< a connect attempt gives up after this; 0 means 1000 */
  uint32_t reconnect_max_ms;   /**< longest wait between reconnect attempts; 0 means 1000 */
  /** (version >= 2) A message longer than this is counted as an error
   *  (HP_ELIMIT to the callback) without being parsed; 0 means
   *  HP_RECIPES_MAX_MESSAGE_BYTES. */
  uint64_t max_message_bytes;
} hp_recipes_subscribe_options;

#define HP_RECIPES_SUBSCRIBE_OPTIONS_VERSION 2
#define HP_RECIPES_SUBSCRIBE_OPTIONS_INIT {HP_RECIPES_SUBSCRIBE_OPTIONS_VERSION, 0, 0, 0}
/** Default max_message_bytes: 1 MiB. */
#define HP_RECIPES_MAX_MESSAGE_BYTES ((uint64_t)1 << 20)

/** Counters of one subscription. */
typedef struct hp_recipes_subscription_stats {
  unsigned version;  /**< HP_RECIPES_SUBSCRIPTION_STATS_VERSION */
  uint64_t messages; /**< messages received on the channel */
  uint64_t applied;  /**< of them, point updates applied */
  uint64_t stale;    /**< of them, point updates older than the data (ignored) */
  uint64_t errors;   /**< of them, messages rejected (bad JSON, unknown type, ...) */
  /** (version >= 2) Times the connection came back and subscribed again,
   *  each followed by a reload of every table from the file it last
   *  loaded (updates published while it was down are lost). */
  uint64_t resyncs;
  /** (version >= 3) The Redis client's figures. */
  hp_redis_stats redis;
} hp_recipes_subscription_stats;

#define HP_RECIPES_SUBSCRIPTION_STATS_VERSION 3
#define HP_RECIPES_SUBSCRIPTION_STATS_INIT {HP_RECIPES_SUBSCRIPTION_STATS_VERSION, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}

/** Runs on the loop thread after each message with hp_recipes_update()'s
 *  result (HP_RECIPES_APPLIED, HP_RECIPES_STALE or a negative code; while
 *  it runs hp_last_error() has the reason of a rejection), and a last time
 *  with HP_ECLOSED when the subscription stops, after which `data` is no
 *  longer used. */
typedef void (*hp_recipes_message_cb)(int status, void *data);

/**
 * Subscribe to a Redis channel and apply every message as a point update,
 * exactly as hp_recipes_update() does (same message shape, same timestamp
 * rule), so every host and worker subscribed to the channel converges on
 * the same data. The connection lives on the engine's loop, reconnects with
 * backoff and subscribes again after Redis restarts; messages published
 * while it is down are lost (Redis pub/sub keeps nothing), so after each
 * resubscribe every table of the set reloads the file it last loaded (the
 * files remain the source of truth). It PINGs every second and reconnects
 * when no answer comes within connect_timeout_ms, so a half-open connection
 * is noticed; TCP keepalive is on. While it runs, its connection keeps
 * the loop alive. Publish with any Redis client:
 * PUBLISH <channel> '{"type":"offer","id":1,...}'.
 * @param[out] out   the subscription (may be NULL); owned by the set, valid
 *                   until hp_recipes_close().
 * @param redis_url  redis://[[user]:password@]host[:port][/db],
 *                   redis+cluster://host:port[,host:port...],
 *                   unix:///path/redis.sock or redis+unix:///path; copied.
 * @param channel    1..255 bytes; copied.
 * @param opts       NULL for defaults; versions 1 and 2 are read.
 * @param cb         may be NULL.
 * @param data       passed to cb unchanged.
 * @return 0, HP_EINVAL (bad URL, channel or options), HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_recipes_subscribe(hp_recipes_subscription **out, hp_recipes *r, const char *redis_url,
                                   const char *channel, const hp_recipes_subscribe_options *opts,
                                   hp_recipes_message_cb cb, void *data);

/**
 * Fill `out` with the subscription's counters (see "Observability" in
 * hotpath/common.h).
 * @param[out] out  caller-owned; out->version 1..HP_RECIPES_SUBSCRIPTION_STATS_VERSION.
 * @param s         the subscription (borrowed).
 * @return 0, HP_EINVAL.   Thread: any, until hp_recipes_close() (also after
 *         hp_recipes_unsubscribe(): the counters stay readable).
 */
HP_EXTERN int hp_recipes_subscription_stats_get(hp_recipes_subscription_stats *out,
                                                const hp_recipes_subscription *s);

/**
 * Stop a subscription: it disconnects, and its callback runs once more with
 * HP_ECLOSED, on the loop.
 * @param s  NULL is a no-op.
 * Thread: any.
 */
HP_EXTERN void hp_recipes_unsubscribe(hp_recipes_subscription *s);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_RECIPES_H */
