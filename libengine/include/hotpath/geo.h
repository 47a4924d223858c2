/* hotpath/geo.h: IP enrichment over MaxMind DB (.mmdb) files. Include hotpath.h. */
#ifndef HOTPATH_GEO_H
#define HOTPATH_GEO_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A geo handle reads one or more MaxMind DB files (GeoIP2/GeoLite2 City,
 * Country, ISP, ASN, ..., and the flat DB-IP / ip-location-db layouts),
 * memory-mapped through libmaxminddb. Database 0 is the primary one:
 * hp_geo_get() reads a single database, hp_geo_lookup() merges all of them
 * into one flat hp_geo_enrichment (the first database that has a field wins).
 *
 * Lookups are synchronous, thread-safe and lock-free. Decoded records are
 * cached by data offset, so a repeated network costs one tree walk. A reload
 * builds a new snapshot of every file and publishes it atomically; lookups in
 * flight finish on the old one, which is unmapped once the last of them ends.
 */
typedef struct hp_geo hp_geo;

/* ------------------------------------------------------------ Value trees */

/** Type of a decoded MaxMind DB value (the format's own type numbers). */
typedef enum hp_geo_type {
  HP_GEO_STRING = 2,  /**< UTF-8 bytes: v.str, size bytes, not NUL-terminated */
  HP_GEO_DOUBLE = 3,  /**< v.f64 */
  HP_GEO_BYTES = 4,   /**< v.bytes, size bytes */
  HP_GEO_UINT16 = 5,  /**< v.u64 */
  HP_GEO_UINT32 = 6,  /**< v.u64 */
  HP_GEO_MAP = 7,     /**< v.items: 2*size values, key (a STRING) then value */
  HP_GEO_INT32 = 8,   /**< v.i64 */
  HP_GEO_UINT64 = 9,  /**< v.u64 */
  HP_GEO_UINT128 = 10,/**< v.u128.hi / v.u128.lo */
  HP_GEO_ARRAY = 11,  /**< v.items: size values */
  HP_GEO_BOOLEAN = 14,/**< v.u64 is 0 or 1 */
  HP_GEO_FLOAT = 15   /**< v.f64 (the float widened to double) */
} hp_geo_type;

/** One decoded value. Containers point at their children, which are laid
 *  out contiguously. Read-only for the caller. */
typedef struct hp_geo_value {
  uint32_t type; /**< an hp_geo_type */
  uint32_t size; /**< bytes (STRING, BYTES), pairs (MAP), items (ARRAY), else 0 */
  union {
    const char *str;
    const uint8_t *bytes;
    const struct hp_geo_value *items;
    double f64;
    uint64_t u64;
    int64_t i64;
    struct {
      uint64_t hi, lo;
    } u128;
  } v;
} hp_geo_value;

/* --------------------------------------------------------------- Handles */

/** Called on the engine's loop thread after a watched file changed and the
 *  handle reloaded (status 0) or failed to (status < 0; the old snapshot
 *  stays; hp_last_error() has the detail). */
typedef void (*hp_geo_reload_cb)(int status, void *data);

typedef struct hp_geo_options {
  unsigned version;
  /** More databases merged by hp_geo_lookup(), after `path` (e.g. an ISP or
   *  ASN file next to a City file). Copied. */
  const char *const *extra_paths;
  size_t extra_count;
  /** Decoded records kept per database; 0 means 1048576. Records beyond it
   *  (or beyond cache_bytes) are decoded per call (correct, slower). */
  size_t cache_records;
  /** Watch the files with uv_fs_poll every watch_interval_ms (0: no watch;
   *  needs an engine) and reload on change. */
  unsigned watch_interval_ms;
  hp_geo_reload_cb on_reload; /**< may be NULL */
  void *on_reload_data;
  /** (version >= 2) Width of the IPv4 prefix table built at open, which
   *  resolves an address in one memory access when its network is at least
   *  that wide, else gives the tree node to walk on from. 16..24 bits:
   *  4 << bits bytes per database (24: 64 MiB). 0: automatic, 24 for a
   *  search tree of 2^20 nodes or more, 16 otherwise. */
  unsigned ipv4_index_bits;
  /** (version >= 3) Bytes of decoded records kept per database (their
   *  values, flat fields and bookkeeping); 0 means HP_GEO_CACHE_BYTES.
   *  Caching stops at this or at cache_records, whichever comes first, so
   *  a file of many distinct records cannot exhaust memory. */
  size_t cache_bytes;
  /** (version >= 3) Budget of one decoded record (and of the metadata):
   *  bytes of string and bytes payload, as libmaxminddb, the Go reader and
   *  maxminddb count them, a value reached through several pointers
   *  counting once per reference (what a caller walking the result reads);
   *  0 means HP_GEO_MAX_RECORD_BYTES. Over it: HP_ELIMIT. */
  uint64_t max_record_bytes;
  /** (version >= 3) Budget of one decoded record: values produced, counted
   *  the same way; 0 means HP_GEO_MAX_RECORD_NODES. */
  uint64_t max_record_nodes;
} hp_geo_options;

#define HP_GEO_OPTIONS_VERSION 3
#define HP_GEO_OPTIONS_INIT {HP_GEO_OPTIONS_VERSION, NULL, 0, 0, 0, NULL, NULL, 0, 0, 0, 0}
/** Default cache_bytes: 512 MiB per database (DB-IP City Lite caches whole in ~100 MiB). */
#define HP_GEO_CACHE_BYTES ((size_t)512 << 20)
/** Default max_record_bytes: 4 MiB (real records are a few KiB). */
#define HP_GEO_MAX_RECORD_BYTES ((uint64_t)4 << 20)
/** Default max_record_nodes: 65536 values (a GeoIP2 City record has a few hundred). */
#define HP_GEO_MAX_RECORD_NODES ((uint64_t)65536)

/**
 * Open one or more MaxMind DB files.
 * @param[out] out  the handle; caller closes it with hp_geo_close().
 * @param e     the engine whose loop runs the file watch; borrowed and kept
 *              alive by the handle; may be NULL when no watch is asked for.
 * @param path  the primary database; copied.
 * @param opts  NULL for defaults; copied.
 * @return 0; HP_EINVAL (NULL out/path, a watch without an engine,
 *         ipv4_index_bits not 0 or 16..24; options versions 1 to 3 are read),
 *         HP_EIO (a file cannot be read), HP_ECORRUPT (not a valid MaxMind
 *         DB: bad metadata, sizes, search tree or data section),
 *         HP_ENOMEM, HP_ECLOSED (engine closing).
 * Thread: any.
 */
HP_EXTERN int hp_geo_open(hp_geo **out, hp_engine *e, const char *path, const hp_geo_options *opts);

/** Completion of hp_geo_open_async(): status 0 and a handle the callee now
 *  owns (close it with hp_geo_close()), or a negative HP_E* code and NULL
 *  (hp_last_error() has the detail). */
typedef void (*hp_geo_open_cb)(int status, hp_geo *g, void *data);

/**
 * hp_geo_open() on the engine's thread pool: mapping, checking and
 * indexing a large database takes long enough (about 0.4 s for 63 MB) to
 * stall a host's loop. Arguments as hp_geo_open(); `cb` runs on the loop
 * thread.
 * @param e     required (its loop and pool run the open); borrowed.
 * @param cb    required.
 * @return 0 (cb will run), HP_EINVAL (NULL e, path or cb, bad options),
 *         HP_ECLOSED (engine closing), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_geo_open_async(hp_engine *e, const char *path, const hp_geo_options *opts, hp_geo_open_cb cb,
                                void *data);

/**
 * Open one MaxMind DB from bytes in memory (a database read from a file
 * descriptor, a download, a test fixture). The bytes are copied before
 * return, so the caller may free or reuse them at once, and an overwrite of
 * the file they came from cannot reach the handle.
 * @param[out] out  the handle; caller closes it with hp_geo_close().
 * @param data  `size` bytes, borrowed for the call.
 * @param name  stands for the path in messages (e.g. "<memory>"); copied.
 * @param opts  NULL for defaults; copied. extra_paths and
 *              watch_interval_ms must be empty: such a handle has no files
 *              and hp_geo_reload() on it gives HP_EINVAL.
 * @return 0; HP_EINVAL (NULL out/name, NULL data with size > 0, extra
 *         paths or a watch), HP_ECORRUPT (not a valid MaxMind DB),
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_geo_open_buffer(hp_geo **out, const void *data, size_t size, const char *name,
                                 const hp_geo_options *opts);

/**
 * Close a handle (see hp_close_cb for the model every handle follows):
 * lookups on other threads finish first, later calls get HP_ECLOSED; then
 * the watch stops, the files are unmapped and `cb` runs. Values returned by
 * hp_geo_get() stay valid until hp_geo_result_clear(), also after `cb`.
 * @param g     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_geo_close(hp_geo *g, hp_close_cb cb, void *data);

/**
 * Re-open every file and publish the new snapshot atomically. Lookups in
 * flight keep the old mapping until they return.
 * @return 0, or HP_EIO / HP_ECORRUPT / HP_ENOMEM (the old snapshot stays).
 * Thread: any.
 */
HP_EXTERN int hp_geo_reload(hp_geo *g);

/** Number of databases in the handle (1 + extra_count); 0 for NULL.
 *  Never fails. Thread: any. */
HP_EXTERN size_t hp_geo_count(const hp_geo *g);

/** Increases by one on every successful reload (starts at 1); 0 for NULL.
 *  Never fails. Thread: any. */
HP_EXTERN uint64_t hp_geo_generation(const hp_geo *g);

/** Number of distinct records the search tree of database `db` points to
 *  in the current generation (record ids are below it); 0 when `db` is out
 *  of range. Thread: any. */
HP_EXTERN size_t hp_geo_record_count(hp_geo *g, size_t db);

/** Bytes the record cache of database `db` holds in the current generation
 *  (at most its cache_bytes); 0 when `db` is out of range. Thread: any. */
HP_EXTERN size_t hp_geo_cache_bytes(hp_geo *g, size_t db);

/** Bytes of hp_geo_stats.last_reload_message, NUL included. */
#define HP_GEO_STATS_MESSAGE 256

/** Counters of a geo handle (see "Observability" in hotpath/common.h). */
typedef struct hp_geo_stats {
  unsigned version;          /**< HP_GEO_STATS_VERSION */
  uint64_t lookups;          /**< addresses looked up (get, find, lookup and
                                  their _bytes forms; find_many: each address) */
  uint64_t cache_hits;       /**< records served from the decoded-record cache */
  uint64_t cache_misses;     /**< records decoded on the call (first use, or
                                  a full cache) */
  uint64_t reloads;          /**< successful reloads (watched or hp_geo_reload) */
  uint64_t reload_failures;  /**< failed reloads (the old snapshot stayed) */
  uint64_t generation;       /**< as hp_geo_generation() */
  int64_t last_reload_at_ms; /**< Unix ms of the latest reload attempt, 0 if none */
  int last_reload_error;     /**< HP_E* code of the latest reload attempt;
                                  0 when it succeeded or there was none */
  /** Its message (hp_last_error() of the failure), NUL-terminated and cut
   *  to fit; "" when last_reload_error is 0. */
  char last_reload_message[HP_GEO_STATS_MESSAGE];
} hp_geo_stats;

#define HP_GEO_STATS_VERSION 1
#define HP_GEO_STATS_INIT {HP_GEO_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, {0}}

/**
 * Read a handle's counters. Counting costs a lookup no shared write: each
 * thread bumps its own slot, and the sums are made here.
 * @param[out] out  caller-owned; out->version 1..HP_GEO_STATS_VERSION.
 * @param g         the handle (borrowed).
 * @return 0, HP_EINVAL (NULL argument, unknown version), HP_ECLOSED.
 * Thread: any, concurrently with lookups and reloads.
 */
HP_EXTERN int hp_geo_stats_get(hp_geo_stats *out, const hp_geo *g);

/* ---------------------------------------------------------- Full records */

/** The record of one address in one database. */
typedef struct hp_geo_result {
  unsigned version;
  int found;              /**< 1: a record; 0: no record for the address */
  unsigned prefix_len;    /**< network prefix length (IPv4 addresses: 0..32) */
  uint32_t offset;        /**< the record's data-section offset (a cache key) */
  uint64_t generation;    /**< snapshot generation the record came from */
  const hp_geo_value *value; /**< the record; NULL when !found */
  void *hold_;            /**< private: keeps the snapshot alive */
  /** (version >= 2) A dense number of the record within its database and
   *  generation, below hp_geo_record_count(): a cheap cache index for
   *  bindings. HP_GEO_NO_RECORD_ID when !found (or for a database of more
   *  than 2^26 records). */
  uint32_t record_id;
} hp_geo_result;

#define HP_GEO_NO_RECORD_ID 0xffffffffu
#define HP_GEO_RESULT_VERSION 2
#define HP_GEO_RESULT_INIT {HP_GEO_RESULT_VERSION, 0, 0, 0, 0, NULL, NULL, HP_GEO_NO_RECORD_ID}

/**
 * Look up the full record of an address in database `db`.
 * @param[out] out  set in full; `out->value` is borrowed until
 *              hp_geo_result_clear(out), which the caller must call (also
 *              before reusing `out`: a reused result is cleared first).
 * @param ip    an IPv4 or IPv6 address as text, `len` bytes, borrowed for
 *              the call; need not be NUL-terminated.
 * @return 1 (found), 0 (no record: a result, not an error, and no message),
 *         HP_EINVAL ("geo: '<ip>' does not appear to be an IPv4 or IPv6
 *         address", db out of range), HP_EFAMILY (an IPv6 address in an
 *         IPv4-only database), HP_ECORRUPT (the record or the search tree
 *         is damaged), HP_ENOMEM.
 * Thread: any, concurrently.
 */
HP_EXTERN int hp_geo_get(hp_geo_result *out, hp_geo *g, size_t db, const char *ip, size_t len);

/** As hp_geo_get(), for a binary address of 4 (IPv4) or 16 (IPv6) bytes in
 *  network order (borrowed for the call). Same results and ownership as
 *  hp_geo_get(); HP_EINVAL also for a length other than 4 or 16.
 *  Thread: any, concurrently. */
HP_EXTERN int hp_geo_get_bytes(hp_geo_result *out, hp_geo *g, size_t db, const uint8_t *addr,
                               size_t addr_len);

/**
 * The search tree only: where the record of `ip` lives, without decoding.
 * Same arguments and returns as hp_geo_get(); `out->value` stays NULL and
 * nothing needs clearing. Bindings use it to reuse objects they made from an
 * earlier record with the same (generation, offset). Thread: any.
 */
HP_EXTERN int hp_geo_find(hp_geo_result *out, hp_geo *g, size_t db, const char *ip, size_t len);

/**
 * The search tree of every database at once, from one snapshot, with the
 * rule hp_geo_lookup() merges by: an IPv6 address skips the IPv4-only
 * databases (their result reads as no record). Bindings build a cache key
 * of the merged enrichment from the (offset, prefix_len) of each result.
 * @param[out] out  `cap` results, at least hp_geo_count(g); result i is
 *              database i's, as hp_geo_find() fills it (value stays NULL,
 *              nothing needs clearing).
 * @param ip    text, `len` bytes, borrowed for the call.
 * @return 1 (some database has a record), 0 (none has: a result, with no
 *         message), HP_EINVAL (not an IP address, NULL out or handle, cap
 *         below the number of databases), HP_EFAMILY (an IPv6 address and
 *         only IPv4-only databases), HP_ECORRUPT, HP_ECLOSED.
 * Thread: any, concurrently; allocation-free.
 */
HP_EXTERN int hp_geo_find_all(hp_geo_result *out, size_t cap, hp_geo *g, const char *ip, size_t len);

/** hp_geo_find_many(): the address has a record but no record id (a
 *  database of more than 2^26 records); look it up one by one. */
#define HP_GEO_UNNUMBERED 0xfffffffeu

/** hp_geo_find_many() flag: an address that is not one, or an IPv6 address
 *  in an IPv4-only database, gets HP_GEO_NO_RECORD_ID instead of failing the
 *  batch (pandas' errors="coerce"). */
#define HP_GEO_SKIP_INVALID 1u

/**
 * The search tree for many addresses at once: the record id of each in
 * database `db`, all from one snapshot, with the memory reads of several
 * addresses overlapped. For batch enrichment: resolve each distinct id once
 * (hp_geo_get / hp_geo_lookup on one of its addresses), then fan out.
 * @param[out] ids       n entries: a record id, HP_GEO_NO_RECORD_ID (no
 *                       record) or HP_GEO_UNNUMBERED.
 * @param[out] generation  the snapshot's generation (ids are valid in it);
 *                       may be NULL.
 * @param[out] failed    on error, the index of the bad address; may be NULL.
 * @param ips, lens      n addresses as text (borrowed for the call).
 * @param flags          0 or HP_GEO_SKIP_INVALID.
 * @return n, or HP_EINVAL (an address is not an IP address, db out of
 *         range, an unknown flag), HP_EFAMILY (an IPv6 address in an
 *         IPv4-only database), HP_ECORRUPT.
 * Thread: any, concurrently; blocks nothing (call it without the GIL).
 */
HP_EXTERN int hp_geo_find_many(uint32_t *ids, uint64_t *generation, size_t *failed, hp_geo *g, size_t db,
                               const char *const *ips, const size_t *lens, size_t n, unsigned flags);

/** The metadata map of database `db` (format keys: node_count, record_size,
 *  ip_version, database_type, languages, description, build_epoch, ...).
 *  Release with hp_geo_result_clear(). @return 1, or HP_EINVAL. Thread: any. */
HP_EXTERN int hp_geo_metadata(hp_geo_result *out, hp_geo *g, size_t db);

/** A walk over every network of one database that has a record. */
typedef struct hp_geo_iter hp_geo_iter;

/**
 * Start a walk over the networks of database `db`, in address order, on
 * the snapshot current now (a reload during the walk does not change what
 * it lists). In an IPv6 database the IPv4 subtree is listed once, as
 * ::a.b.c.d/96+n, not again under its aliases (::ffff:0:0/96, 2002::/16).
 * @param[out] out  free with hp_geo_iter_free().
 * @return 0, HP_EINVAL (db out of range, NULL arguments), HP_ECLOSED,
 *         HP_ENOMEM. Thread: any; the walk itself is used by one thread at a
 *         time.
 */
HP_EXTERN int hp_geo_iter_new(hp_geo_iter **out, hp_geo *g, size_t db);

/**
 * The next network and its record.
 * @param[out] out   as hp_geo_get() fills it (prefix_len, offset,
 *                   record_id, value); release with hp_geo_result_clear().
 * @param[out] addr  the network address, big-endian: 16 bytes in an IPv6
 *                   database, 4 in an IPv4 one (*addr_len says which).
 * @return 1 (a network), 0 (the end), HP_ECORRUPT (the search tree loops,
 *         is deeper than its addresses, or a record is damaged),
 *         HP_ENOMEM. Thread: the walk's user.
 */
HP_EXTERN int hp_geo_iter_next(hp_geo_result *out, uint8_t addr[16], size_t *addr_len, hp_geo_iter *it);

/** Free a walk (and its hold on the snapshot). NULL is a no-op. */
HP_EXTERN void hp_geo_iter_free(hp_geo_iter *it);

/** Releases what a result holds and resets it to "not found". NULL and
 *  cleared results are no-ops. Thread: any. */
HP_EXTERN void hp_geo_result_clear(hp_geo_result *r);

/* ----------------------------------------------------- Flat enrichment */

/** Bits of hp_geo_enrichment.flags: which fields are present. */
enum {
  HP_GEO_HAS_COUNTRY_CODE = 1u << 0,
  HP_GEO_HAS_COUNTRY_NAME = 1u << 1,
  HP_GEO_HAS_CONTINENT_CODE = 1u << 2,
  HP_GEO_HAS_CONTINENT_NAME = 1u << 3,
  HP_GEO_HAS_SUBDIVISION_CODE = 1u << 4,
  HP_GEO_HAS_SUBDIVISION_NAME = 1u << 5,
  HP_GEO_HAS_CITY = 1u << 6,
  HP_GEO_HAS_POSTAL_CODE = 1u << 7,
  HP_GEO_HAS_TIME_ZONE = 1u << 8,
  HP_GEO_HAS_AS_ORG = 1u << 9,
  HP_GEO_HAS_ISP = 1u << 10,
  HP_GEO_HAS_ORG = 1u << 11,
  HP_GEO_HAS_LOCATION = 1u << 16,        /**< latitude and longitude */
  HP_GEO_HAS_ACCURACY_RADIUS = 1u << 17,
  HP_GEO_HAS_ASN = 1u << 18
};

/** Number of string fields (the first bits above, in `str` order). */
#define HP_GEO_STRING_FIELDS 12
/** Bytes of string storage inside hp_geo_enrichment. A string that does not
 *  fit is left absent (never cut). */
#define HP_GEO_ENRICHMENT_BUF 1024

/** A flat, normalised view of an address, merged from every database. */
typedef struct hp_geo_enrichment {
  unsigned version;
  uint32_t flags;      /**< HP_GEO_HAS_* bits */
  unsigned prefix_len; /**< of the first database with a record */
  uint32_t asn;
  uint32_t accuracy_radius; /**< km */
  double latitude, longitude;
  /** NUL-terminated UTF-8 in `buf_`, or NULL when absent, in this order:
   *  country ISO code, country English name, continent code, continent
   *  English name, first subdivision ISO code, its English name (DB-IP:
   *  state1), city English name, postal code, time zone, AS organisation,
   *  ISP, organisation. Valid until the struct is reused or freed. */
  const char *str[HP_GEO_STRING_FIELDS];
  char buf_[HP_GEO_ENRICHMENT_BUF];
} hp_geo_enrichment;

/** Indexes into hp_geo_enrichment.str. */
enum {
  HP_GEO_COUNTRY_CODE = 0,
  HP_GEO_COUNTRY_NAME,
  HP_GEO_CONTINENT_CODE,
  HP_GEO_CONTINENT_NAME,
  HP_GEO_SUBDIVISION_CODE,
  HP_GEO_SUBDIVISION_NAME,
  HP_GEO_CITY,
  HP_GEO_POSTAL_CODE,
  HP_GEO_TIME_ZONE,
  HP_GEO_AS_ORG,
  HP_GEO_ISP,
  HP_GEO_ORG
};

#define HP_GEO_ENRICHMENT_VERSION 1
#define HP_GEO_ENRICHMENT_INIT {HP_GEO_ENRICHMENT_VERSION, 0, 0, 0, 0, 0.0, 0.0, {NULL}, {0}}

/**
 * The flat enrichment of an address from every database of the handle.
 * @param[out] out  caller-owned; overwritten in full (version kept). No
 *              allocation happens once the records are cached.
 * @param ip    text, `len` bytes, borrowed for the call.
 * @return 1 (some database had a record), 0 (none had: flags is 0),
 *         HP_EINVAL (not an IP address), HP_EFAMILY (an IPv6 address and
 *         only IPv4 databases; with at least one IPv6 database the IPv4
 *         ones are skipped), HP_ECORRUPT, HP_ENOMEM.
 * Thread: any, concurrently.
 */
HP_EXTERN int hp_geo_lookup(hp_geo_enrichment *out, hp_geo *g, const char *ip, size_t len);

/** As hp_geo_lookup() for a 4- or 16-byte binary address in network order
 *  (borrowed for the call). Same results as hp_geo_lookup(); HP_EINVAL also
 *  for a length other than 4 or 16. Thread: any, concurrently. */
HP_EXTERN int hp_geo_lookup_bytes(hp_geo_enrichment *out, hp_geo *g, const uint8_t *addr,
                                  size_t addr_len);

/**
 * hp_geo_lookup_many(): asked once per distinct record of the batch, in
 * order of first appearance, whether the caller wants it (`record` NULL);
 * when it answers 1, called again with the record's flat enrichment from
 * database `db` (prefix_len is 0: it belongs to an address, not a record).
 * A caller that keeps records by id from earlier batches of the same
 * generation answers 0 for those. An address whose record has no id
 * (HP_GEO_UNNUMBERED) is asked about on its own.
 * @param record  NULL (the question), or the record, valid during the call
 *                only: copy what you keep.
 * @param id      the record id, valid in the batch's generation, or
 *                HP_GEO_UNNUMBERED.
 * @param index   the first address of the batch with this record.
 * @return asked: 1 (want it) or 0 (skip it); given the record: 0. Or a
 *         negative HP_E* code (say HP_ENOMEM) that ends the batch with it.
 *         Runs on the calling thread inside the batch, which holds the
 *         snapshot: it must not call hp_geo_reload().
 */
typedef int (*hp_geo_record_cb)(const hp_geo_enrichment *record, uint32_t id, size_t index, void *data);

/**
 * Batch enrichment from one snapshot: hp_geo_find_many()'s record ids for
 * n addresses, and each distinct record's flat enrichment once, through
 * `cb` (the ones it asks for). Ids and records always agree, even across a reload: no retry
 * needed. The caller fans the records out to the rows by id.
 * @param[out] ids, generation, failed   as hp_geo_find_many(); ids and
 *                       generation are set before the first call of cb.
 * @param ips, lens, n, flags            as hp_geo_find_many().
 * @param cb    required. @param data  passed to cb unchanged.
 * @return n, hp_geo_find_many()'s errors, HP_ENOMEM, or what cb returned.
 * Thread: any, concurrently; blocks nothing (call it without the GIL).
 */
HP_EXTERN int hp_geo_lookup_many(uint32_t *ids, uint64_t *generation, size_t *failed, hp_geo *g, size_t db,
                                 const char *const *ips, const size_t *lens, size_t n, unsigned flags,
                                 hp_geo_record_cb cb, void *data);

/* ---------------------------------------------------------------- Writer */

/** Builds a MaxMind DB file in memory from (network, record) pairs. */
typedef struct hp_geo_writer hp_geo_writer;

typedef struct hp_geo_writer_options {
  unsigned version;
  unsigned ip_version;       /**< 4 or 6; 0 means 6 */
  unsigned record_size;      /**< 24, 28 or 32; 0: the smallest that fits */
  const char *database_type; /**< copied; NULL: "hotpath" */
  const char *description;   /**< English description, copied; may be NULL */
  const char *const *languages; /**< copied; may be NULL */
  size_t language_count;
  uint64_t build_epoch;      /**< seconds; 0: now */
} hp_geo_writer_options;

#define HP_GEO_WRITER_OPTIONS_VERSION 1
#define HP_GEO_WRITER_OPTIONS_INIT {HP_GEO_WRITER_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL, 0, 0}

/** @param[out] out  free with hp_geo_writer_free(). @param opts NULL: defaults.
 *  @return 0, HP_EINVAL (bad ip_version/record_size), HP_ENOMEM. Thread: any. */
HP_EXTERN int hp_geo_writer_new(hp_geo_writer **out, const hp_geo_writer_options *opts);

/**
 * Insert a network and its record. A later insert wins where networks
 * overlap. In an IPv6 database an IPv4 network is stored at ::a.b.c.d/96+n.
 * @param network  "a.b.c.d/n" or "x::/n" (no "/n": a single address),
 *                 `len` bytes, borrowed for the call.
 * @param record   a value tree, copied (serialised) before return.
 * @return 0, HP_EINVAL (bad network, prefix 0, a value tree with an
 *         unknown type or a non-string map key), HP_EFAMILY (an IPv6
 *         network into an IPv4 database), HP_ENOMEM.
 * Thread: one thread at a time per writer.
 */
HP_EXTERN int hp_geo_writer_insert(hp_geo_writer *w, const char *network, size_t len,
                                   const hp_geo_value *record);

/** Write the database to `path` (copied; replaced atomically through a
 *  temporary file). @return 0, HP_EIO, HP_ELIMIT (over 2^32 nodes or a data
 *  section over 4 GiB), HP_ENOMEM. Thread: one at a time per writer. */
HP_EXTERN int hp_geo_writer_write(hp_geo_writer *w, const char *path);

/** Free a writer and everything it copied. @param w  NULL is a no-op; no
 *  other call on `w` may be running. Thread: any. */
HP_EXTERN void hp_geo_writer_free(hp_geo_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_GEO_H */
