/* hotpath/events.h: the tracker event pipeline. Include hotpath.h.
 *
 * A tracking request becomes one consumer message, formatted exactly as the
 * Pushtech seed documents it:
 *
 *   eventType meta rawQuery
 *   app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=192.168.64.2&ts=1510826008003&ip=ffffac110001&klag=266&country=XX&city=XX deviceid=abcdf&ts=123456
 *
 * Messages are appended to a batcher without waiting; batches go to a sink
 * (an append-only local log file, or a Redis list) every N events or T
 * milliseconds. */
#ifndef HOTPATH_EVENTS_H
#define HOTPATH_EVENTS_H

#include "common.h"
#include "ua.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ Client IP */

/** Where a tracking request came from: header values as received (NULL
 *  or length 0 when the header is absent) and the socket's address. */
typedef struct hp_events_request {
  unsigned version;          /**< HP_EVENTS_REQUEST_VERSION */
  const char *push_ip;       /**< x-push-ip */
  size_t push_ip_len;
  const char *forwarded_for; /**< x-forwarded-for */
  size_t forwarded_for_len;
  const char *real_ip;       /**< x-real-ip */
  size_t real_ip_len;
  const char *remote_addr;   /**< the socket's peer address */
  size_t remote_addr_len;
} hp_events_request;

#define HP_EVENTS_REQUEST_VERSION 1
#define HP_EVENTS_REQUEST_INIT {HP_EVENTS_REQUEST_VERSION, NULL, 0, NULL, 0, NULL, 0, NULL, 0}

/**
 * The client address as the seed's tracker chooses it: x-push-ip, else the
 * first entry of x-forwarded-for, else x-real-ip, else the socket address.
 * Surrounding spaces are trimmed; an empty value counts as absent. The
 * text is not validated (the message formatter does that).
 * @param[out] out      points into one of the request's strings (borrowed
 *                      from the caller, valid as long as that string), or
 *                      NULL when every source is empty.
 * @param[out] out_len  its length (0 when none).
 * @param req           borrowed for the call.
 * @return 0, or HP_EINVAL (NULL pointer, unknown version).
 * Thread: any; no allocation.
 */
HP_EXTERN int hp_events_client_ip(const char **out, size_t *out_len,
                                  const hp_events_request *req);

/** Largest output of hp_events_ip_hex(), NUL included. */
#define HP_EVENTS_IP_HEX_MAX 33

/**
 * An address as the seed's `ip=` field: the lower-case hex of its bytes
 * (4 for IPv4, 16 for IPv6, big-endian) with leading zero bytes dropped, so
 * "::ffff:172.17.0.1" gives "ffffac110001", "172.17.0.1" "ac110001", "::1"
 * "01" and "::" "00". Brackets ("[::1]") and a zone ("%eth0") are ignored.
 * @param[out] out  at least HP_EVENTS_IP_HEX_MAX bytes; NUL-terminated.
 * @param cap       size of out.
 * @param ip        the address text, borrowed; need not be NUL-terminated.
 * @return the length written, or HP_EINVAL (not an IPv4 or IPv6 address,
 *         NULL pointer, cap < HP_EVENTS_IP_HEX_MAX).
 * Thread: any.
 */
HP_EXTERN int hp_events_ip_hex(char *out, size_t cap, const char *ip,
                               size_t len);

/* ------------------------------------------------------------- Messages */

/** One tracking call. Strings are borrowed for the call and need not be
 *  NUL-terminated; NULL with length 0 means empty. */
typedef struct hp_event {
  unsigned version;         /**< HP_EVENT_VERSION */
  const char *event_type;   /**< "app_open" (the path after /t/); required */
  size_t event_type_len;
  const char *query;        /**< the raw query string without '?'; "" -> "e" */
  size_t query_len;
  const char *host;         /**< the request's Host header */
  size_t host_len;
  const char *ip;           /**< client address text (hp_events_client_ip) */
  size_t ip_len;
  const char *user_agent;   /**< the User-Agent header */
  size_t user_agent_len;
  const char *country;      /**< ISO code from a geo lookup; "" -> "XX" */
  size_t country_len;
  const char *city;         /**< city name; "" -> "XX" */
  size_t city_len;
  int64_t received_ms;      /**< epoch ms when the request arrived: ts= */
  int64_t processed_ms;     /**< epoch ms of formatting; 0 = now. klag=
                                 processed_ms - received_ms (at least 0) */
} hp_event;

#define HP_EVENT_VERSION 1
#define HP_EVENT_INIT \
  {HP_EVENT_VERSION, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0}

/** Longest event type and raw query accepted (bytes). */
#define HP_EVENTS_MAX_TYPE 256
#define HP_EVENTS_MAX_QUERY 8192
/** A buffer of this size always holds a formatted message (NUL included). */
#define HP_EVENTS_MAX_MESSAGE 40960

/**
 * Format the consumer message `eventType meta rawQuery` (no newline).
 * meta is `type=..&browser=..&engine=..&version=..&os=..&host=..&ts=..&
 * ip=..&klag=..&country=..&city=..`: type is the device type capitalised
 * ("Desktop", "Mobile", "Tablet", "Smarttv", "Console", "Wearable",
 * "Embedded", "Bot"); browser, engine, version (the browser's) and os come
 * from the user agent, with "Mac OS" written "Mac" as in the seed; unknown
 * values are empty; every value is escaped as node's querystring.escape
 * does. ip is hp_events_ip_hex() of ev->ip, empty when it is not an address.
 * The event type and raw query are copied as they are, except bytes that
 * would break the line format (space, control characters, DEL), which are
 * percent-encoded.
 * @param[out] out  caller's buffer; HP_EVENTS_MAX_MESSAGE bytes always fit.
 * @param cap       its size.
 * @param ev        borrowed for the call.
 * @param ua        a parser whose cache to use (borrowed), or NULL.
 * @return the message length (NUL not counted), or HP_EINVAL (NULL pointer,
 *         unknown version, empty or oversized event type, oversized query),
 *         HP_ELIMIT (cap too small; hp_last_error() says how much is needed).
 * Thread: any; no allocation.
 */
HP_EXTERN int hp_events_format(char *out, size_t cap, const hp_event *ev,
                               hp_ua *ua);

/* -------------------------------------------------------------- Batcher */

/** A batcher of consumer messages in front of one sink. */
typedef struct hp_events hp_events;

/** Batching and buffering, common to every sink. */
typedef struct hp_events_options {
  unsigned version;      /**< HP_EVENTS_OPTIONS_VERSION */
  uint32_t batch_events; /**< hand a batch to the sink at this many events; 0 means 500 */
  uint32_t batch_ms;     /**< ... and every this many ms (the loop's timer); 0 means 100 */
  uint32_t max_pending;  /**< events buffered (not yet written) at most; beyond, appends
                              fail with HP_EUNAVAILABLE and count as dropped; 0 means 1000000 */
} hp_events_options;

#define HP_EVENTS_OPTIONS_VERSION 1
#define HP_EVENTS_OPTIONS_INIT {HP_EVENTS_OPTIONS_VERSION, 0, 0, 0}

/** When the file sink calls fsync(2). */
typedef enum hp_events_fsync {
  HP_EVENTS_FSYNC_NONE = 0,     /**< never (the OS writes back) */
  HP_EVENTS_FSYNC_BATCH = 1,    /**< after every batch (default) */
  HP_EVENTS_FSYNC_INTERVAL = 2  /**< at most every fsync_ms */
} hp_events_fsync;

/** The append-only log file sink: one message a line. */
typedef struct hp_events_file_options {
  unsigned version;      /**< HP_EVENTS_FILE_OPTIONS_VERSION */
  int fsync;             /**< an hp_events_fsync */
  uint32_t fsync_ms;     /**< for HP_EVENTS_FSYNC_INTERVAL; 0 means 1000 */
  uint64_t rotate_bytes; /**< start a new file when the current one would grow past this;
                              0 = never (default). The full file is renamed PATH.1, an
                              older PATH.1 becomes PATH.2, and so on */
  uint32_t keep_files;   /**< rotated files kept (PATH.1 .. PATH.keep_files); default 5 */
} hp_events_file_options;

#define HP_EVENTS_FILE_OPTIONS_VERSION 1
#define HP_EVENTS_FILE_OPTIONS_INIT {HP_EVENTS_FILE_OPTIONS_VERSION, HP_EVENTS_FSYNC_BATCH, 0, 0, 5}

/**
 * Open a batcher that appends to a log file (created if missing, 0644).
 * Writes and fsyncs run on a writer thread of the batcher, never on the
 * loop. The file is opened before this call returns.
 * @param[out] out  the batcher; close it with hp_events_close() (the engine
 *                  closing also closes it, after writing what it holds).
 * @param e         the engine whose loop runs the batch timer; the batcher
 *                  keeps it alive.
 * @param path      copied.
 * @param fopts, opts  copied; NULL means the *_INIT defaults.
 * @return 0, HP_EINVAL (NULL pointer, unknown version, batch_events or
 *         max_pending 0, unknown fsync policy), HP_EIO (the file cannot be
 *         opened; hp_last_error() names it), HP_ECLOSED (engine closing),
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_events_open_file(hp_events **out, hp_engine *e,
                                  const char *path,
                                  const hp_events_file_options *fopts,
                                  const hp_events_options *opts);

/** The Redis-list sink: each batch is one RPUSH of its messages. */
typedef struct hp_events_redis_options {
  unsigned version;            /**< HP_EVENTS_REDIS_OPTIONS_VERSION */
  const char *key;             /**< the list; NULL = "hotpath:events" (copied) */
  uint32_t max_inflight;       /**< batches pipelined at once; 0 means 16 */
  uint32_t connect_timeout_ms; /**< 0 means 500 */
  uint32_t command_timeout_ms; /**< 0 means 2000 */
} hp_events_redis_options;

#define HP_EVENTS_REDIS_OPTIONS_VERSION 1
#define HP_EVENTS_REDIS_OPTIONS_INIT {HP_EVENTS_REDIS_OPTIONS_VERSION, NULL, 0, 0, 0}

/**
 * Open a batcher that RPUSHes batches to a Redis list on the shared Redis
 * client (hiredis on the engine's loop, pipelined, reconnecting). While Redis
 * is unreachable, batches wait and are retried every batch_ms; once
 * max_pending events wait, appends fail with HP_EUNAVAILABLE and count as
 * dropped. hp_events_close() waits for the last replies (one attempt per
 * waiting batch; what fails then is dropped and reported). An engine close
 * without hp_events_close() drops what is unwritten (counted).
 * @param url  redis://[[user]:password@]host[:port][/db],
 *             redis+cluster://host:port[,host:port...] or
 *             unix:///path/redis.sock; copied.
 * @param ropts, opts  copied; NULL means the *_INIT defaults.
 * @return 0, HP_EINVAL (bad URL or options), HP_ECLOSED, HP_ENOMEM. The
 *         connection is made in the background: an unreachable server is not
 *         an error here.
 * Thread: any.
 */
HP_EXTERN int hp_events_open_redis(hp_events **out, hp_engine *e,
                                   const char *url,
                                   const hp_events_redis_options *ropts,
                                   const hp_events_options *opts);

/**
 * Append one message (one line; a trailing newline is added). Never waits
 * for I/O: the message is copied into the current batch.
 * @param msg  borrowed for the call; must not contain '\n'.
 * @return 0, HP_EINVAL (NULL, empty, or a newline inside), HP_EUNAVAILABLE
 *         (max_pending events are already buffered because the sink is
 *         failing or slow: the message is dropped and counted),
 *         HP_ECLOSED (close requested).
 * Thread: any.
 */
HP_EXTERN int hp_events_push(hp_events *b, const char *msg, size_t len);

/**
 * hp_events_format() then hp_events_push(), in one call.
 * @param ua  a parser whose cache to use (borrowed), or NULL.
 * @return the message length, or the codes of both calls.
 * Thread: any; no allocation beyond the batch buffer's growth.
 */
HP_EXTERN int hp_events_append(hp_events *b, const hp_event *ev, hp_ua *ua);

/** Completion of hp_events_flush() and hp_events_close(). */
typedef void (*hp_events_cb)(int status, void *data);

/**
 * Hand everything appended so far to the sink now, and call `cb` once it is
 * written (and fsynced, unless the policy is HP_EVENTS_FSYNC_NONE).
 * @param cb    required; runs exactly once on the loop thread unless this
 *              call returns < 0: 0, HP_EIO / HP_EUNAVAILABLE (the file write
 *              or Redis failed; the events stay buffered and are retried),
 *              HP_ECLOSED (closed first, after the final write was attempted).
 * @return 0, HP_EINVAL, HP_ECLOSED, HP_ENOMEM.   Thread: any.
 */
HP_EXTERN int hp_events_flush(hp_events *b, hp_events_cb cb, void *data);

/** Counters of a batcher. */
typedef struct hp_events_stats {
  unsigned version;  /**< HP_EVENTS_STATS_VERSION */
  uint64_t appended; /**< accepted by push/append */
  uint64_t written;  /**< handed to the file (and fsynced per policy) */
  uint64_t dropped;  /**< refused with HP_EUNAVAILABLE, or lost on close */
  uint64_t pending;  /**< accepted, not yet written */
  uint64_t batches;  /**< successful batch writes */
  uint64_t errors;   /**< failed write attempts */
  uint64_t rotations;
  /** (version >= 2) The Redis client's figures; zeros for a file sink. */
  hp_redis_stats redis;
} hp_events_stats;

#define HP_EVENTS_STATS_VERSION 2
#define HP_EVENTS_STATS_INIT {HP_EVENTS_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}

/** Read the counters (see "Observability" in hotpath/common.h).
 *  @param[out] out  caller-owned; out->version 1..HP_EVENTS_STATS_VERSION.
 *  @return 0, HP_EINVAL, HP_ECLOSED. Thread: any. */
HP_EXTERN int hp_events_stats_get(hp_events_stats *out, const hp_events *b);

/**
 * Close: refuse new appends (HP_ECLOSED), write everything buffered, fsync,
 * close the file, then call `cb` on the loop thread and free the batcher.
 * Nothing appended before this call is lost unless the final write fails.
 * @param b     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL; status 0, or HP_EIO (file) / HP_EUNAVAILABLE
 *              (Redis) when the final write failed (the events it held are
 *              counted as dropped).
 * @return 0, or HP_ECLOSED when close was already requested (cb is then
 *         never called).
 * Thread: any. After cb runs (or, with cb NULL, after the engine's loop has
 * run the close) `b` is freed.
 */
HP_EXTERN int hp_events_close(hp_events *b, hp_close_cb cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_EVENTS_H */
