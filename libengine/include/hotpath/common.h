/* hotpath/common.h: export macro, version, errors, engine. Include hotpath.h. */
#ifndef HOTPATH_COMMON_H
#define HOTPATH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define HP_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define HP_EXTERN __attribute__((visibility("default")))
#else
#define HP_EXTERN
#endif

/* ---------------------------------------------------------------- Version */

#define HP_VERSION_MAJOR 0
#define HP_VERSION_MINOR 2
#define HP_VERSION_PATCH 0
#define HP_VERSION_HEX \
  ((HP_VERSION_MAJOR << 16) | (HP_VERSION_MINOR << 8) | HP_VERSION_PATCH)

/** The library's version as HP_VERSION_HEX of the build that is running
 *  (compare with the HP_VERSION_* macros a program was compiled with).
 *  Never fails. Thread: any. */
HP_EXTERN unsigned hp_version(void);

/** The library's version as "MAJOR.MINOR.PATCH"; static, never NULL; the
 *  same string as the Python wheel's and the npm package's version.
 *  Never fails. Thread: any. */
HP_EXTERN const char *hp_version_string(void);

/* ----------------------------------------------------------------- Errors */

/* One table generates the enum, hp_strerror(), hp_err_name() and the error
 * codes of both bindings. Values are explicit and never change. */
#define HP_ERRNO_MAP(XX)                      \
  XX(EINVAL, -1, "invalid argument")          \
  XX(ENOTFOUND, -2, "not found")              \
  XX(ECORRUPT, -3, "corrupt data")            \
  XX(EIO, -4, "i/o error")                    \
  XX(EUNAVAILABLE, -5, "backend unavailable") \
  XX(ELIMIT, -6, "limit reached")             \
  XX(ENOMEM, -7, "out of memory")             \
  XX(ECLOSED, -8, "handle closed")            \
  XX(ECANCELED, -9, "operation canceled")     \
  XX(EINTERNAL, -10, "internal error")        \
  XX(EFAMILY, -11, "address family not in database")

typedef enum hp_errno {
  HP_OK = 0,
#define HP__ERRNO_ENUM(name, value, text) HP_##name = value,
  HP_ERRNO_MAP(HP__ERRNO_ENUM)
#undef HP__ERRNO_ENUM
  HP__ERRNO_LAST = -12
} hp_errno;

/** Short text for an error code ("not found"); "unknown error" for a code
 *  outside the table. Static, never NULL. Thread: any. */
HP_EXTERN const char *hp_strerror(int err);

/** Symbolic name of an error code ("HP_ENOTFOUND"); "HP_EUNKNOWN" for a
 *  code outside the table. Static, never NULL. Thread: any. */
HP_EXTERN const char *hp_err_name(int err);

/** Detail of the last failure on the calling thread, e.g.
 *  "fingerprint32: data is NULL but len is 3". Inside a callback that
 *  receives status < 0 it is that request's detail. Never NULL ("" when
 *  there is none); owned by the library and valid until the next hp_* call
 *  on this thread. Use return codes, not this text, for control flow.
 *  Thread: any (thread-local). */
HP_EXTERN const char *hp_last_error(void);

/** The system error behind the last failure on the calling thread, when a
 *  system call caused it (the call still returns HP_EIO, or HP_ENOTFOUND
 *  where hotpath treats a missing file as an answer): the errno value
 *  (ENOENT, EACCES, ...), or 0 when the failure had no system cause.
 *  Bindings raise from it what their platform raises: Node's fs error
 *  codes, Python's FileNotFoundError / PermissionError.
 *  @param[out] syscall  may be NULL; set to the failed call ("open",
 *              "read", "stat", "mmap", ...) or "".
 *  @param[out] path     may be NULL; set to the file concerned or "".
 *  Both strings are owned by the library and valid until the next hp_*
 *  call on this thread. Like hp_last_error(), inside a callback that
 *  receives status < 0 it describes that request's failure.
 *  Thread: any (thread-local). */
HP_EXTERN int hp_last_errno(const char **syscall, const char **path);

/* ----------------------------------------------------------------- Engine */

/** An engine binds hotpath's asynchronous work to one libuv loop. */
typedef struct hp_engine hp_engine;

/** libuv's loop type, named without including <uv.h>. */
struct uv_loop_s;

/**
 * Completion of every close: hp_engine_close(), hp_geo_close(),
 * hp_recipes_close(), hp_limiter_close(), hp_blobs_close(),
 * hp_blob_writer_close(), hp_blob_reader_close(), hp_events_close() and
 * hp_ua_close(). Runs exactly once; the handle's memory is freed after it
 * returns. `status` is 0, or for hp_events_close() the error of the final
 * flush when some events could not be written.
 *
 * Every handle closes the same way: the close call returns at once; calls
 * made after it get HP_ECLOSED; calls in flight on other threads finish
 * first (or complete with HP_ECLOSED where they wait on I/O); then the
 * handle stops its loop work and `cb` runs, on the engine's loop thread
 * when the handle has a running engine, else on the thread that ended the
 * last call in flight (which may be the close call itself). Calling
 * anything on a handle after its `cb` ran is a use after free.
 */
typedef void (*hp_close_cb)(int status, void *data);

/**
 * Create an engine.
 * @param[out] out  the new engine; caller closes it with hp_engine_close()
 *                  or, for an engine that owns its loop, hp_engine_free().
 * @param loop      a libuv loop the caller runs (borrowed; it must outlive
 *                  the engine), or NULL for a loop owned by the engine and
 *                  run on one background thread that the engine starts.
 * @return 0, HP_EINVAL (out is NULL), HP_ENOMEM, HP_EINTERNAL (libuv
 *         failed to set up a handle or thread).
 * Thread: with a caller's loop, that loop's thread; with NULL, any.
 */
HP_EXTERN int hp_engine_new(hp_engine **out, struct uv_loop_s *loop);

/**
 * Close an engine asynchronously: pending work fails with HP_ECLOSED (each
 * callback still runs exactly once), the engine's handles close, then `cb`
 * runs on the loop thread and the engine is freed after it returns.
 * Calls after this one on the same engine return HP_ECLOSED.
 * @param e     the engine; NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL.
 * @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already requested (cb is then
 *         never called).
 * Thread: any; with a caller's loop, `cb` runs on that loop during uv_run.
 */
HP_EXTERN int hp_engine_close(hp_engine *e, hp_close_cb cb, void *data);

/**
 * Close and free an engine that owns its loop, blocking until every pending
 * callback has run (with HP_ECLOSED where it had not completed) and the loop
 * thread has exited.
 * @param e  an engine made with hp_engine_new(&e, NULL); NULL is a no-op.
 * @return 0, HP_EINVAL (the engine runs on a caller's loop: use
 *         hp_engine_close), or HP_EINVAL when called from the engine's own
 *         loop thread (it would wait for itself).
 * Thread: any thread but the engine's loop thread.
 */
HP_EXTERN int hp_engine_free(hp_engine *e);

/** The loop the engine runs on (borrowed, valid while the engine lives);
 *  NULL when `e` is NULL. Never fails. Thread: any. */
HP_EXTERN struct uv_loop_s *hp_engine_loop(const hp_engine *e);

/* ---------------------------------------------------------- Observability */

/* Every handle kind has a stats call that reads the same way:
 *   int hp_<kind>_stats_get(hp_<kind>_stats *out, const hp_<kind> *h);
 * `out` is caller-owned and starts with `unsigned version`, set by the
 * HP_*_STATS_INIT macro; a stats struct only grows, its version says which
 * fields the caller knows, and the call fills those (any version from 1 up
 * to the library's). Counters are uint64_t and only grow; gauges say so.
 * Counters are read without stopping the threads that move them, so two
 * fields read together may be a few events apart. Thread: any. */

/** The figures of a Redis client (a limiter's, a store's, a recipe
 *  subscription's or an events sink's), inside their stats. All zero for
 *  a handle without Redis. */
typedef struct hp_redis_stats {
  uint64_t commands;    /**< commands written to the server */
  uint64_t in_flight;   /**< gauge: commands waiting for their reply now */
  uint64_t timeouts;    /**< connects, replies and keepalive PINGs that
                             did not come within their timeout */
  uint64_t disconnects; /**< established connections that were lost */
  uint64_t reconnects;  /**< connections established again after one was lost */
  uint64_t connected;   /**< gauge: connections up now (a cluster has one
                             per master) */
} hp_redis_stats;

/** What happened in the background (hp_engine_event.kind). */
typedef enum hp_event_kind {
  HP_EVENT_RELOAD = 1,          /**< a watched file changed and the handle
                                     reloaded it (status 0) */
  HP_EVENT_RELOAD_FAILED = 2,   /**< a reload failed (status < 0); the
                                     old data stays */
  HP_EVENT_REDIS_DISCONNECT = 3,/**< an established Redis connection was
                                     lost (status HP_EUNAVAILABLE) */
  HP_EVENT_REDIS_RECONNECT = 4, /**< a lost Redis connection is back */
  HP_EVENT_ERROR = 5            /**< a background failure with no caller to
                                     tell: a subscription message refused, a
                                     batch of events that could not be
                                     written (it is retried) */
} hp_event_kind;

/** Where a limiter or a blob store keeps its state, from its spec string
 *  ("memory:", "sqlite:/path/file.db", "redis://..."): hp_limiter_backend()
 *  and hp_blobs_backend() return it. */
typedef enum hp_backend_kind {
  HP_BACKEND_MEMORY = 1, /**< this process only (limiters) */
  HP_BACKEND_SQLITE = 2, /**< one file shared by the processes of a host */
  HP_BACKEND_REDIS = 3   /**< a Redis server or cluster, shared by hosts */
} hp_backend_kind;

/** Which kind of handle an event comes from (hp_engine_event.handle_kind). */
typedef enum hp_handle_kind {
  HP_HANDLE_GEO = 1,
  HP_HANDLE_RECIPES = 2,
  HP_HANDLE_LIMITER = 3,
  HP_HANDLE_BLOBS = 4,
  HP_HANDLE_EVENTS = 5
} hp_handle_kind;

/** One background event; every pointer is borrowed for the callback. */
typedef struct hp_engine_event {
  unsigned version;    /**< HP_ENGINE_EVENT_VERSION */
  int kind;            /**< hp_event_kind */
  int handle_kind;     /**< hp_handle_kind */
  int status;          /**< 0 or a negative HP_E* code */
  const char *message; /**< what happened, never NULL ("" for none) */
  const char *source;  /**< the file, Redis address or channel concerned,
                            never NULL ("" for none) */
} hp_engine_event;

#define HP_ENGINE_EVENT_VERSION 1

/** Name of an event kind ("reload", "reload_failed", "redis_disconnect",
 *  "redis_reconnect", "error"), or "" outside the enum. Static.
 *  Thread: any. */
HP_EXTERN const char *hp_event_kind_name(int kind);

/** Name of a handle kind ("geo", "recipes", "limiter", "blobs", "events"),
 *  or "" outside the enum. Static. Thread: any. */
HP_EXTERN const char *hp_handle_kind_name(int kind);

/** Receives the engine's background events. Runs on the engine's loop
 *  thread, one event at a time, with no hotpath lock held, so it may call
 *  any hp_* function (a binding may take its interpreter's lock here). It
 *  must not block for long: the loop waits for it. */
typedef void (*hp_engine_event_cb)(const hp_engine_event *ev, void *data);

/**
 * Set (or with cb NULL, clear) the one receiver of the engine's background
 * events: reloads of watched files, Redis connections lost and back, and
 * background failures (see hp_event_kind). Events happen whether or not
 * anyone listens; without a receiver they are only counted in the stats.
 * @param e     the engine (borrowed).
 * @param cb    may be NULL; replaces the previous receiver.
 * @param data  passed to cb unchanged.
 * @return 0, HP_EINVAL (e is NULL).
 * Thread: any. A callback already running on the loop thread when this
 * returns may still finish with the old receiver; set it from the loop
 * thread (or before any handle exists) for a clean switch.
 */
HP_EXTERN int hp_engine_set_event_cb(hp_engine *e, hp_engine_event_cb cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_COMMON_H */
