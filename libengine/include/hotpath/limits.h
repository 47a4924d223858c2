/* hotpath/limits.h: atomic concurrency leases and GCRA rate limits over
 * memory, SQLite or Redis. Include hotpath.h. */
#ifndef HOTPATH_LIMITS_H
#define HOTPATH_LIMITS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A limiter: one interface over three backends, chosen by a spec string.
 *
 *   "memory:"                 this process only; checks are synchronous,
 *                             lock-free for rate limits (one CAS per hit)
 *   "sqlite:/path/file.db"    every process of one host; WAL, one short
 *                             BEGIN IMMEDIATE transaction per check
 *   "redis://host:port/db"    many hosts; one EVALSHA round trip per check,
 *                             keys hash-tagged per subject ({subject}) so
 *                             they work on Redis Cluster, server time only;
 *                             also redis+cluster://h:p[,h:p...], unix:///path
 *                             and redis://user:pass@ (docs/redis.md). A call
 *                             that fails HP_EUNAVAILABLE after it was sent
 *                             has an unknown outcome: retry it (an acquire
 *                             of the same subject and resource answers
 *                             ALREADY_HELD with the first grant's lease id)
 *
 * Concurrency leases: a subject (a user) holds at most `limit` resources (a
 * stream) at once. Acquiring a resource the subject already holds succeeds
 * without using another slot and extends its TTL. Leases expire `ttl_ms`
 * after their last acquire or renew, so a crashed client frees its slot.
 * Every grant has a lease id that only grows for a given subject and can be
 * used as a fencing token.
 *
 * Rate limits: GCRA. `rate` hits per `period_ms`, with bursts of up to
 * `burst` hits at once; a hit of `cost` 0 reads the state without using it.
 *
 * Outcomes (granted, denied, allowed) are result fields, not errors. A
 * backend that is down or busy answers HP_EUNAVAILABLE within
 * `timeout_ms` and the limiter recovers by itself when it comes back. */
typedef struct hp_limiter hp_limiter;

/** Options of hp_limiter_open(). */
typedef struct hp_limiter_options {
  unsigned version;    /**< HP_LIMITER_OPTIONS_VERSION */
  uint32_t timeout_ms; /**< longest wait for the backend before
                            HP_EUNAVAILABLE: Redis connect and reply, SQLite
                            lock; 0 means 200 */
  const char *prefix;  /**< namespace of keys (Redis) and rows (SQLite);
                            NULL means "hp:lim"; copied */
  int sqlite_inline;   /**< SQLite async calls: 0 (default) runs the
                            transaction on the libuv thread pool, which
                            measured faster (docs/limits.md); 1 runs it on
                            the calling thread and reports on the loop */
  /* Version 2. */
  uint32_t local_budget;  /**< Redis rate limits: 0 (default) decides each
                               hit in Redis (GCRA). N > 0: a key counts
                               `rate` hits per fixed window of `period_ms`
                               (server clock), and this process leases
                               blocks of up to N of a window's hits with
                               one script call and decides hits from them
                               without a round trip (hp_limiter_hit_local).
                               Redis never leases past the limit, so the
                               hits granted in a window by all processes
                               together never exceed it; the cost is early
                               denials while other processes hold unused
                               hits (docs/limits.md) */
  uint32_t local_hold_ms; /**< local budgets: how long a block's unused hits
                               stay in this process before they go back to
                               Redis for the others; 0 means 100 */
} hp_limiter_options;

#define HP_LIMITER_OPTIONS_VERSION 2
#define HP_LIMITER_OPTIONS_INIT {HP_LIMITER_OPTIONS_VERSION, 0, NULL, 0, 0, 0}

/** Outcome of an acquire. */
typedef enum hp_lease_status {
  HP_LEASE_GRANTED = 0,      /**< a new slot was taken */
  HP_LEASE_ALREADY_HELD = 1, /**< the subject held it; TTL extended, no slot used */
  HP_LEASE_DENIED = 2,       /**< the subject holds `limit` other resources */
  HP_LEASE_NOT_MEMBER = 3    /**< a member the options require is not in its
                                  set: nothing was taken or extended */
} hp_lease_status;

/** A membership an acquire requires: `member` in the named set `set`
 *  (hp_limiter_set_add()). */
typedef struct hp_lease_require {
  const char *set;    /**< NUL-terminated, 1..512 bytes; borrowed for the call */
  const char *member; /**< NUL-terminated, 1..512 bytes; borrowed for the call */
} hp_lease_require;

/** Most requirements one acquire takes. */
#define HP_LEASE_REQUIRE_MAX 8

/** Options of an acquire. */
typedef struct hp_lease_options {
  unsigned version;                /**< HP_LEASE_OPTIONS_VERSION */
  const hp_lease_require *require; /**< memberships checked in the same
                                        atomic step as the acquire (one
                                        transaction on SQLite, under the
                                        locks in memory, one script on
                                        Redis, see hp_limiter_acquire());
                                        the first one missing answers
                                        HP_LEASE_NOT_MEMBER; borrowed */
  size_t require_count;            /**< 0..HP_LEASE_REQUIRE_MAX */
} hp_lease_options;

#define HP_LEASE_OPTIONS_VERSION 1
#define HP_LEASE_OPTIONS_INIT {HP_LEASE_OPTIONS_VERSION, NULL, 0}

/** One lease a subject holds. */
typedef struct hp_lease_info {
  const char *resource;   /**< NUL-terminated; owned by the list it is in */
  uint64_t lease_id;      /**< fencing token */
  uint64_t expires_in_ms; /**< time left before it expires */
} hp_lease_info;

/** Leases the library allocated in one block: `items` and every string in
 *  them live until hp_lease_list_free(). */
typedef struct hp_lease_list {
  size_t count;               /**< entries in items */
  const hp_lease_info *items; /**< oldest grant first; NULL when count is 0 */
} hp_lease_list;

/**
 * Free a list from hp_limiter_holders() or hp_lease_result.holders of
 * hp_limiter_acquire(). NULL is a no-op. Thread: any.
 */
HP_EXTERN void hp_lease_list_free(hp_lease_list *list);

/** Result of an acquire. */
typedef struct hp_lease_result {
  unsigned version;      /**< HP_LEASE_RESULT_VERSION */
  int status;            /**< hp_lease_status */
  uint32_t count;        /**< leases the subject holds after the call */
  uint64_t lease_id;     /**< the granted or held lease; 0 when denied */
  hp_lease_list *holders; /**< on DENIED: the subject's leases; else NULL.
                               From hp_limiter_acquire() the caller owns it
                               (hp_lease_list_free()); in an hp_lease_cb it
                               is borrowed for the callback */
  uint32_t missing;       /**< on NOT_MEMBER: the index in
                               hp_lease_options.require of the first
                               membership missing; else 0 */
} hp_lease_result;

#define HP_LEASE_RESULT_VERSION 2
#define HP_LEASE_RESULT_INIT {HP_LEASE_RESULT_VERSION, 0, 0, 0, NULL, 0}

/** Result of a rate-limit hit. */
typedef struct hp_rate_result {
  unsigned version;        /**< HP_RATE_RESULT_VERSION */
  int allowed;             /**< 1 allowed (and counted), 0 denied */
  uint32_t remaining;      /**< hits still allowed right now */
  uint64_t retry_after_ms; /**< when denied: wait this long; 0 when allowed */
  uint64_t reset_after_ms; /**< time until the key is back to a full burst */
} hp_rate_result;

#define HP_RATE_RESULT_VERSION 1
#define HP_RATE_RESULT_INIT {HP_RATE_RESULT_VERSION, 0, 0, 0, 0}

/** A rate limit: `rate` hits per `period_ms`, bursts of `burst` hits. */
typedef struct hp_rate_spec {
  unsigned version;   /**< HP_RATE_SPEC_VERSION */
  uint32_t rate;      /**< hits per period, >= 1 */
  uint64_t period_ms; /**< >= 1 */
  uint32_t burst;     /**< most hits at once, >= 1; 0 means `rate` */
  uint32_t cost;      /**< hits this call uses, 0..burst; 0 only reads */
} hp_rate_spec;

#define HP_RATE_SPEC_VERSION 1
#define HP_RATE_SPEC_INIT {HP_RATE_SPEC_VERSION, 1, 1000, 0, 1}

/**
 * Open a limiter.
 * @param[out] out  the limiter; close with hp_limiter_close().
 * @param e         the engine that runs asynchronous calls and their
 *                  callbacks (borrowed; the limiter keeps it alive). Required
 *                  for Redis; may be NULL for memory and SQLite, which then
 *                  offer only the synchronous calls.
 * @param spec      "memory:", "sqlite:/path/file.db" or
 *                  "redis://[[user]:password@]host[:port][/db]",
 *                  "redis+cluster://host:port[,host:port...]",
 *                  "unix:///path/redis.sock"; copied.
 * @param opts      NULL for defaults; copied.
 * @return 0, HP_EINVAL (bad spec or options), HP_EIO / HP_ECORRUPT /
 *         HP_EUNAVAILABLE (SQLite could not open or set up the file),
 *         HP_ECLOSED (the engine is closing), HP_ENOMEM. A Redis limiter
 *         opens without waiting for the server: calls made while it is
 *         unreachable answer HP_EUNAVAILABLE.
 * Thread: any.
 */
HP_EXTERN int hp_limiter_open(hp_limiter **out, hp_engine *e, const char *spec,
                              const hp_limiter_options *opts);

/**
 * Close a limiter (see hp_close_cb for the model every handle follows):
 * later calls get HP_ECLOSED, synchronous calls in flight on other threads
 * finish first, pending asynchronous calls still run their callback exactly
 * once (Redis calls not yet answered get HP_ECLOSED), then `cb` runs.
 * @param l     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_limiter_close(hp_limiter *l, hp_close_cb cb, void *data);

/** The limiter's hp_backend_kind (HP_BACKEND_MEMORY, _SQLITE or _REDIS),
 *  HP_EINVAL for NULL, HP_ECLOSED once closed. Thread: any. */
HP_EXTERN int hp_limiter_backend(const hp_limiter *l);

/** Counters of a limiter (see "Observability" in hotpath/common.h). */
typedef struct hp_limiter_stats {
  unsigned version;      /**< HP_LIMITER_STATS_VERSION */
  uint64_t checks;       /**< acquires and rate-limit hits that reached the
                              backend, synchronous and asynchronous */
  uint64_t granted;      /**< of them, acquires granted (or already held)
                              and hits allowed */
  uint64_t denied;       /**< of them, acquires and hits denied */
  uint64_t store_errors; /**< calls of any kind the backend failed
                              (HP_EUNAVAILABLE, HP_EIO, HP_ECORRUPT,
                              HP_ENOMEM, ...; not HP_EINVAL or HP_ECLOSED) */
  hp_redis_stats redis;  /**< the Redis client's figures; zeros for memory
                              and SQLite */
} hp_limiter_stats;

#define HP_LIMITER_STATS_VERSION 1
#define HP_LIMITER_STATS_INIT {HP_LIMITER_STATS_VERSION, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}

/**
 * Read a limiter's counters. Counting costs a memory rate-limit check no
 * shared write: each thread bumps its own slot.
 * @param[out] out  caller-owned; out->version 1..HP_LIMITER_STATS_VERSION.
 * @param l         the limiter (borrowed).
 * @return 0, HP_EINVAL (NULL argument, unknown version), HP_ECLOSED.
 * Thread: any.
 */
HP_EXTERN int hp_limiter_stats_get(hp_limiter_stats *out, const hp_limiter *l);

/* --------------------------------------------------- Synchronous calls
 * Every backend. Memory and SQLite run the call on the calling thread. A
 * Redis limiter posts the call to the engine's loop and blocks the calling
 * thread until the answer (or HP_EUNAVAILABLE once twice `timeout_ms` has
 * passed without one: connecting and replying may each take `timeout_ms`);
 * on the engine's own loop thread (a callback, Node's JS thread) that wait
 * could never end, so there a synchronous call on a Redis limiter returns
 * HP_EINVAL with the detail "would block the engine loop": use the
 * asynchronous call. Results are written to caller-owned structs; lists
 * are the caller's to free with hp_lease_list_free(). A close called
 * meanwhile waits for the calls in flight. */

/**
 * Take a slot for `resource` unless `subject` already holds `limit`.
 * @param[out] out  caller-owned, version HP_LEASE_RESULT_VERSION; on DENIED
 *                  out->holders is a list the caller frees with
 *                  hp_lease_list_free() (NULL otherwise).
 * @param subject   NUL-terminated, 1..512 bytes; copied.
 * @param resource  NUL-terminated, 1..512 bytes; copied.
 * @param limit     most leases the subject may hold, >= 1.
 * @param ttl_ms    lease lifetime without a renew, 1..2^40.
 * @param opts      NULL for none; with requirements, the acquire happens
 *                  only if every member is in its set, decided in the same
 *                  atomic step (HP_LEASE_NOT_MEMBER and out->missing
 *                  otherwise). On a single Redis server that step is one
 *                  script with every key declared. On a Redis Cluster a
 *                  script reaches one slot: when the set keys hash to
 *                  other slots than the subject's, the memberships are
 *                  read first and the acquire script runs after them;
 *                  members are never removed, so a membership seen stays
 *                  true and the outcome is the same. Borrowed for the call.
 * @return 0 (the outcome is out->status), HP_EINVAL (bad argument, or a
 *         Redis limiter called on its engine's loop thread),
 *         HP_EUNAVAILABLE (SQLite locked or Redis silent past the
 *         timeout), HP_EIO, HP_ECLOSED, HP_ENOMEM.
 * Thread: any (Redis: any but the engine's loop thread).
 */
HP_EXTERN int hp_limiter_acquire(hp_lease_result *out, hp_limiter *l, const char *subject,
                                 const char *resource, uint32_t limit, uint64_t ttl_ms,
                                 const hp_lease_options *opts);

/**
 * Give a lease back.
 * @return 1 released, 0 not held (never acquired or already expired),
 *         or an error as hp_limiter_acquire().
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_release(hp_limiter *l, const char *subject,
                                 const char *resource);

/**
 * Extend a lease to expire `ttl_ms` from now.
 * @return 1 renewed, 0 not held (it expired: acquire again), or an error
 *         as hp_limiter_acquire().
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_renew(hp_limiter *l, const char *subject,
                               const char *resource, uint64_t ttl_ms);

/**
 * The subject's live leases, oldest grant first.
 * @param[out] out  set to a list the caller frees with hp_lease_list_free()
 *                  (also when it is empty); NULL on error.
 * @return the number of leases (>= 0), or an error as hp_limiter_acquire().
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_holders(hp_lease_list **out, hp_limiter *l, const char *subject);

/**
 * Count one GCRA hit of `cost` against `key`. A Redis limiter with a local
 * budget decides from the hits in hand when it can (as
 * hp_limiter_hit_local()) and waits for a lease otherwise.
 * @param[out] out  caller-owned, version HP_RATE_RESULT_VERSION.
 * @param key       NUL-terminated, 1..512 bytes; copied.
 * @param spec      the limit; cost > burst is HP_EINVAL (it could never pass).
 * @return 0 (the outcome is out->allowed), or an error as
 *         hp_limiter_acquire(). The memory backend never allocates once
 *         `key` exists.
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_hit(hp_rate_result *out, hp_limiter *l, const char *key,
                             const hp_rate_spec *spec);

/**
 * Decide a hit here and now if the limiter can, without waiting: memory
 * and SQLite always (as hp_limiter_hit()); a Redis limiter with a local
 * budget from the hits this process holds for the key's current window
 * (and denials while Redis had no more for it, until `local_hold_ms` has
 * passed); a Redis limiter without one never.
 * @param[out] out  caller-owned, version HP_RATE_RESULT_VERSION; filled
 *                  when the call returns 1.
 * @param key       NUL-terminated, 1..512 bytes; copied when needed.
 * @param spec      as hp_limiter_hit(). With a local budget, `burst` must
 *                  be 0 or `rate` (a window holds `rate` hits), and a key
 *                  keeps one rate and period while this process holds it.
 * @return 1 decided (the outcome is out->allowed), 0 not decidable here
 *         (call hp_limiter_hit_async(), which waits for a lease: a block
 *         running low is renewed ahead, so that is rare on a busy key),
 *         HP_EINVAL, HP_ECLOSED, or a SQLite error as hp_limiter_hit().
 *         Never waits for Redis and never allocates on a decided Redis hit.
 * Thread: any.
 */
HP_EXTERN int hp_limiter_hit_local(hp_rate_result *out, hp_limiter *l,
                                   const char *key, const hp_rate_spec *spec);

/**
 * Add `member` to the named set `set` (a small registry kept in the same
 * backend, for the identities limits apply to: known users, streams).
 * Members never expire.
 * @param set     NUL-terminated, 1..512 bytes; copied.
 * @param member  NUL-terminated, 1..512 bytes; copied.
 * @return 1 added, 0 already a member, or an error as hp_limiter_acquire().
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_set_add(hp_limiter *l, const char *set,
                                 const char *member);

/**
 * Whether `member` is in the named set `set`.
 * @return 1 yes, 0 no, or an error as hp_limiter_acquire().
 * Thread: as hp_limiter_acquire().
 */
HP_EXTERN int hp_limiter_set_has(hp_limiter *l, const char *set,
                                 const char *member);

/* -------------------------------------------------- Asynchronous calls
 * Every backend (the limiter must have an engine). The callback runs
 * exactly once on the engine's loop thread, never inside the call, unless
 * the call returns an error. Results are borrowed for the duration of the
 * callback; NULL when status < 0 (hp_last_error() has the detail then). */

/** Completion of hp_limiter_acquire_async(). */
typedef void (*hp_lease_cb)(int status, const hp_lease_result *result,
                            void *data);
/** Completion of release/renew: status 1 done, 0 not held, < 0 error. */
typedef void (*hp_limiter_cb)(int status, void *data);
/** Completion of holders: status is the count (>= 0) or an error. */
typedef void (*hp_holders_cb)(int status, const hp_lease_info *holders,
                              void *data);
/** Completion of hp_limiter_hit_async(). */
typedef void (*hp_rate_cb)(int status, const hp_rate_result *result,
                           void *data);

/**
 * hp_limiter_acquire() on the engine's loop.
 * @return 0 (cb will run), HP_EINVAL (bad argument or no engine),
 *         HP_ECLOSED (the engine is closing), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_limiter_acquire_async(hp_limiter *l, const char *subject,
                                       const char *resource, uint32_t limit,
                                       uint64_t ttl_ms,
                                       const hp_lease_options *opts,
                                       hp_lease_cb cb, void *data);

/** hp_limiter_release() on the engine's loop; returns as
 *  hp_limiter_acquire_async(). Thread: any. */
HP_EXTERN int hp_limiter_release_async(hp_limiter *l, const char *subject,
                                       const char *resource, hp_limiter_cb cb,
                                       void *data);

/** hp_limiter_renew() on the engine's loop; returns as
 *  hp_limiter_acquire_async(). Thread: any. */
HP_EXTERN int hp_limiter_renew_async(hp_limiter *l, const char *subject,
                                     const char *resource, uint64_t ttl_ms,
                                     hp_limiter_cb cb, void *data);

/** hp_limiter_holders() on the engine's loop; returns as
 *  hp_limiter_acquire_async(). Thread: any. */
HP_EXTERN int hp_limiter_holders_async(hp_limiter *l, const char *subject,
                                       hp_holders_cb cb, void *data);

/** hp_limiter_hit() on the engine's loop; returns as
 *  hp_limiter_acquire_async(). With a local budget the hit is decided from
 *  the hits in hand when it can be (the callback still runs on the loop,
 *  not inside the call), else once a lease for the key's window answers.
 *  Thread: any. */
HP_EXTERN int hp_limiter_hit_async(hp_limiter *l, const char *key,
                                   const hp_rate_spec *spec, hp_rate_cb cb,
                                   void *data);

/** hp_limiter_set_add() on the engine's loop (status 1 added, 0 already
 *  there); returns as hp_limiter_acquire_async(). Thread: any. */
HP_EXTERN int hp_limiter_set_add_async(hp_limiter *l, const char *set,
                                       const char *member, hp_limiter_cb cb,
                                       void *data);

/** hp_limiter_set_has() on the engine's loop (status 1 or 0); returns as
 *  hp_limiter_acquire_async(). Thread: any. */
HP_EXTERN int hp_limiter_set_has_async(hp_limiter *l, const char *set,
                                       const char *member, hp_limiter_cb cb,
                                       void *data);

/**
 * Check that the backend answers: Redis PING, a SQLite read, nothing for
 * memory. Status 0 or HP_EUNAVAILABLE (within timeout_ms).
 * @return as hp_limiter_acquire_async(). Thread: any.
 */
HP_EXTERN int hp_limiter_ping_async(hp_limiter *l, hp_limiter_cb cb,
                                    void *data);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_LIMITS_H */
