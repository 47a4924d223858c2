/* hotpath/blobs.h: chunked file storage on SQLite or Redis, written and
 * read as streams. Include hotpath.h. */
#ifndef HOTPATH_BLOBS_H
#define HOTPATH_BLOBS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A blob store keeps files split into chunks, in the spirit of GridFS.
 *
 *   "sqlite:/path/store.db"   a WAL database shared by every process of one
 *                             host (a new one gets 8 KiB pages), and beside
 *                             it store.db-chunks/, one file per large upload
 *                             holding its bytes after the first few chunks;
 *                             copy or move all three (store.db, -wal when
 *                             present, -chunks) together
 *   "redis://host:port/db"    many hosts; keys under one hash tag
 *                             ({prefix}) so they live in one Cluster slot
 *                             (redis+cluster://h:p[,h:p...] too); chunk keys
 *                             expire a day (or two leases) after they are
 *                             written unless a commit keeps them
 *
 * Files are written through a writer (bounded memory whatever the size) and
 * become visible atomically at commit, with a new id. Several files may
 * share a filename: each commit adds a revision (0 the first, -1 the latest,
 * ordered by commit). An upload that is aborted, or whose process crashed or
 * was killed, never becomes visible and its chunks are reclaimed: at the
 * next hp_blobs_open() or hp_blobs_gc() on SQLite (its process is gone), and
 * on Redis once its lease (lease_ms, renewed by every chunk written) ran out.
 *
 * Every chunk is stored with a CRC32C that is checked on every read: a
 * damaged chunk fails the read with HP_ECORRUPT and "file <id> chunk <n>"
 * in hp_last_error(), never with wrong bytes. The SHA-256 of the whole file
 * is computed while writing and kept in its metadata.
 *
 * Every call that touches the backend is asynchronous: SQLite work runs on
 * the libuv thread pool, Redis work on the engine's loop. Callbacks run
 * exactly once on the engine's loop thread, never inside the call that
 * queued them, and never when that call returned an error. Pointers a
 * callback receives are borrowed for the duration of the callback. */
typedef struct hp_blobs hp_blobs;
typedef struct hp_blob_writer hp_blob_writer;
typedef struct hp_blob_reader hp_blob_reader;
typedef struct hp_blob_piece hp_blob_piece;

/** Default chunk size: 255 KiB, as GridFS. */
#define HP_BLOBS_DEFAULT_CHUNK_SIZE 261120u
/** Largest chunk size accepted (16 MiB). */
#define HP_BLOBS_MAX_CHUNK_SIZE 16777216u
/** Default `buffer_bytes` of a writer: the chunks it holds waiting,
 *  hashing or being stored (see hp_blob_writer_write()). */
#define HP_BLOBS_DEFAULT_WRITE_BUFFER 4194304u
/** `end` of hp_blob_read_options meaning "to the end of the file". */
#define HP_BLOB_EOF UINT64_MAX
/** `revision` meaning the latest revision of a filename. */
#define HP_BLOB_LATEST (-1)

/** Options of hp_blobs_open(). */
typedef struct hp_blobs_options {
  unsigned version;    /**< HP_BLOBS_OPTIONS_VERSION */
  uint32_t chunk_size; /**< default chunk size of files written; 0 means
                            HP_BLOBS_DEFAULT_CHUNK_SIZE; at most
                            HP_BLOBS_MAX_CHUNK_SIZE */
  uint32_t timeout_ms; /**< longest wait for the backend before
                            HP_EUNAVAILABLE: Redis connect and reply, SQLite
                            lock; 0 means 2000 */
  const char *prefix;  /**< namespace of Redis keys; NULL means "hp:blobs";
                            copied. SQLite tables are always hp_blob_* */
  uint32_t lease_ms;   /**< Redis: an upload with no chunk written for this
                            long counts as crashed and may be reclaimed;
                            0 means 600000 (10 minutes) */
  unsigned flags;      /**< HP_BLOBS_* bits; 0 for none (version 2 on) */
} hp_blobs_options;

/** SQLite store: a commit survives a power loss, not only a crash of the
 *  process. Chunk files are fdatasync()ed before the transaction that names
 *  them commits, the chunk directory is fsync()ed after a file is created,
 *  and every transaction commits with PRAGMA synchronous=FULL (the WAL is
 *  synced at each commit). Off by default: a commit then survives a crash
 *  of the process but may be lost, whole, with the machine's power (see
 *  docs/blobs.md for the cost measured). A Redis store's durability is the
 *  server's (appendfsync); it answers HP_EINVAL to this flag. */
#define HP_BLOBS_DURABLE (1u << 0)

#define HP_BLOBS_OPTIONS_VERSION 2
#define HP_BLOBS_OPTIONS_INIT {HP_BLOBS_OPTIONS_VERSION, 0, 0, NULL, 0, 0}

/** A committed file's metadata. Every string is NUL-terminated and owned by
 *  whoever hands out the struct (see each call). */
typedef struct hp_blob_stat {
  unsigned version;         /**< HP_BLOB_STAT_VERSION */
  const char *id;           /**< 24 lowercase hex digits, unique per file */
  const char *filename;     /**< as given to hp_blobs_open_write() */
  uint64_t length;          /**< bytes */
  uint32_t chunk_size;      /**< bytes per chunk (the last may be shorter) */
  int64_t upload_date_ms;   /**< commit time, ms since the Unix epoch */
  const char *content_type; /**< "application/octet-stream" unless given */
  const char *sha256;       /**< 64 lowercase hex digits of the content;
                                 "" when written with HP_BLOB_WRITE_NO_SHA256 */
  const char *metadata_json;/**< user metadata, a JSON text; "{}" unless given */
  int64_t revision;         /**< 0 for the first revision of the filename */
} hp_blob_stat;

#define HP_BLOB_STAT_VERSION 1

/** Completion with no value: status 0 (or a count where the call says so),
 *  or a negative HP_E* code. */
typedef void (*hp_blob_cb)(int status, void *data);

/** Completion with a file's metadata: status 0 and `stat` set, or a
 *  negative HP_E* code and `stat` NULL. */
typedef void (*hp_blob_stat_cb)(int status, const hp_blob_stat *stat,
                                void *data);

/**
 * Open a store. The SQLite file and its tables are created when missing;
 * a Redis store opens without waiting for the server (calls made while it
 * is unreachable answer HP_EUNAVAILABLE within timeout_ms). Opening starts
 * a reclaim of crashed uploads in the background (see hp_blobs_gc()).
 * @param[out] out  the store; close with hp_blobs_close().
 * @param e         the engine that runs the store's work and callbacks
 *                  (borrowed; the store keeps it alive). Required.
 * @param spec      "sqlite:/path/store.db" or
 *                  "redis://[[user]:password@]host[:port][/db]",
 *                  "redis+cluster://host:port[,host:port...]",
 *                  "unix:///path/redis.sock"; copied.
 * @param opts      NULL for defaults; copied.
 * @return 0, HP_EINVAL (NULL argument, bad spec or options), HP_EIO /
 *         HP_ECORRUPT / HP_EUNAVAILABLE (SQLite could not open or set up
 *         the file), HP_ECLOSED (the engine is closing), HP_ENOMEM.
 * Thread: any. SQLite opens its file on the calling thread.
 */
HP_EXTERN int hp_blobs_open(hp_blobs **out, hp_engine *e, const char *spec,
                            const hp_blobs_options *opts);

/**
 * Close a store (see hp_close_cb for the model every handle follows): later
 * calls get HP_ECLOSED; calls still pending complete and run their callback
 * as usual; writers and readers opened on the store keep working until they
 * are closed (the store's connection and database go after the last of
 * them). Closing the engine instead fails what is pending with HP_ECLOSED.
 * @param b     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_blobs_close(hp_blobs *b, hp_close_cb cb, void *data);

/** The store's hp_backend_kind (HP_BACKEND_SQLITE or HP_BACKEND_REDIS).
 *  Thread: any. */
HP_EXTERN int hp_blobs_backend(const hp_blobs *b);

/** The store's default chunk size in bytes. Thread: any. */
HP_EXTERN uint32_t hp_blobs_chunk_size(const hp_blobs *b);

/** Counters of a store (see "Observability" in hotpath/common.h). */
typedef struct hp_blobs_stats {
  unsigned version;       /**< HP_BLOBS_STATS_VERSION */
  uint64_t bytes_in;      /**< bytes of the files committed */
  uint64_t bytes_out;     /**< bytes handed to readers' callbacks */
  uint64_t commits;       /**< files committed */
  uint64_t corrupt_reads; /**< reads that failed HP_ECORRUPT: a chunk whose
                               CRC, length or presence did not match */
  hp_redis_stats redis;   /**< the Redis client's figures; zeros for SQLite */
} hp_blobs_stats;

#define HP_BLOBS_STATS_VERSION 1
#define HP_BLOBS_STATS_INIT {HP_BLOBS_STATS_VERSION, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}}

/**
 * Read a store's counters (its writers' and readers' included).
 * @param[out] out  caller-owned; out->version 1..HP_BLOBS_STATS_VERSION.
 * @param b         the store (borrowed).
 * @return 0, HP_EINVAL (NULL argument, unknown version), HP_ECLOSED.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_stats_get(hp_blobs_stats *out, const hp_blobs *b);

/* ---------------------------------------------------------------- Writing */

/** Options of hp_blobs_open_write(). */
typedef struct hp_blob_write_options {
  unsigned version;          /**< HP_BLOB_WRITE_OPTIONS_VERSION */
  const char *content_type;  /**< NULL means "application/octet-stream";
                                  at most 255 bytes; copied */
  const char *metadata_json; /**< user metadata as a JSON text (any value;
                                  stored as given, not parsed); NULL means
                                  "{}"; at most 1 MiB; copied */
  uint32_t chunk_size;       /**< 0 means the store's; at most
                                  HP_BLOBS_MAX_CHUNK_SIZE */
  unsigned flags;            /**< HP_BLOB_WRITE_* bits; 0 for none
                                  (version 2 on) */
  uint32_t buffer_bytes;     /**< memory for chunks on their way to the
                                  backend; 0 means
                                  HP_BLOBS_DEFAULT_WRITE_BUFFER; a deeper
                                  buffer keeps hashing and storing busy on
                                  fast input, a shallower one suits input
                                  slower than the store (a network upload)
                                  (version 2 on) */
} hp_blob_write_options;

/**
 * Skip the file's SHA-256: its stat gives "" for sha256. One SHA-256 stream
 * runs on one core (about 1.8 GB/s with SHA instructions), which bounds a
 * single large write where the page cache takes bytes faster than that.
 * Each chunk keeps its CRC32C either way, so damage is still detected.
 */
#define HP_BLOB_WRITE_NO_SHA256 (1u << 0)

/* Version 1 (without flags) is still accepted. */
#define HP_BLOB_WRITE_OPTIONS_VERSION 2
#define HP_BLOB_WRITE_OPTIONS_INIT {HP_BLOB_WRITE_OPTIONS_VERSION, NULL, NULL, 0, 0, 0}

/**
 * Start writing a new file. Nothing touches the backend until the first
 * chunk is full or the file is committed, so this returns at once.
 * @param[out] out   the writer; close with hp_blob_writer_close().
 * @param b          the store (the writer keeps it alive).
 * @param filename   NUL-terminated, 1..1024 bytes, no NUL inside; copied.
 * @param opts       NULL for defaults; copied.
 * @return 0, HP_EINVAL (NULL argument, bad filename or options),
 *         HP_ECLOSED (the store or engine is closing), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_open_write(hp_blob_writer **out, hp_blobs *b,
                                  const char *filename,
                                  const hp_blob_write_options *opts);

/** The id the file will have once committed: 24 hex digits, owned by the
 *  writer and valid until hp_blob_writer_close(). Thread: any. */
HP_EXTERN const char *hp_blob_writer_id(const hp_blob_writer *w);

/**
 * Append bytes. Writes are applied in call order. The bytes are not copied
 * by the call: as with uv_write(), `buf` must stay valid and unchanged until
 * `cb` runs. `cb` runs when the writer is ready for more: every byte of this
 * write is stored or sits in the writer's own buffer: the chunks waiting,
 * hashing or being stored (at most `buffer_bytes` of them, and at least two
 * chunks) plus the one filling. A caller that waits for `cb` before the
 * next write therefore holds at most its own write plus that buffer in
 * memory, whatever the file size.
 * @param buf   borrowed until `cb`; may be NULL when len is 0.
 * @param cb    required; status 0, or the failure that spoiled the upload
 *              (HP_EIO, HP_EUNAVAILABLE, HP_ECANCELED after abort or close,
 *              ...): the writer then accepts only abort and close.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, or the writer was
 *         committed or aborted), HP_ECLOSED (engine closing), HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blob_writer_write(hp_blob_writer *w, const void *buf,
                                   size_t len, hp_blob_cb cb, void *data);

/**
 * Store what is buffered, then publish the file in one atomic step. After
 * it the writer accepts only close.
 * @param cb  required; status 0 with the new file's metadata (revision is
 *            its revision among the filename's files), or the failure:
 *            the file is then not visible and its chunks are reclaimed.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, or commit or abort
 *         was already called), HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blob_writer_commit(hp_blob_writer *w, hp_blob_stat_cb cb,
                                    void *data);

/**
 * Give up the upload: writes still pending fail with HP_ECANCELED and the
 * chunks already stored are deleted. Nothing of the file is ever visible.
 * @param cb  may be NULL; status 0 once the chunks are gone (or a failure
 *            to delete them, which a later hp_blobs_gc() retries).
 * @return 0 (cb will run), HP_EINVAL (NULL writer, or commit or abort
 *         was already called), HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blob_writer_abort(hp_blob_writer *w, hp_blob_cb cb,
                                   void *data);

/**
 * Close a writer (see hp_close_cb). A writer neither committed nor aborted
 * is aborted. Later calls get HP_ECLOSED; pending callbacks still run
 * exactly once.
 * @param w     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_blob_writer_close(hp_blob_writer *w, hp_close_cb cb, void *data);

/* ---------------------------------------------------------------- Reading */

/** Which file and which bytes: used by hp_blobs_open_read(), and (without
 *  the byte range) by hp_blobs_stat() and hp_blobs_exists(). */
typedef struct hp_blob_read_options {
  unsigned version;     /**< HP_BLOB_READ_OPTIONS_VERSION */
  const char *id;       /**< a file id; when set, filename and revision are
                             ignored; copied */
  const char *filename; /**< used when id is NULL; copied */
  int64_t revision;     /**< with filename: -1 (HP_BLOB_LATEST) the latest,
                             -2 the one before, ...; 0 the first, 1 the
                             second, ... */
  uint64_t start;       /**< first byte to read */
  uint64_t end;         /**< one past the last byte (exclusive); clamped to
                             the length; HP_BLOB_EOF means the whole rest.
                             start >= end reads nothing */
} hp_blob_read_options;

#define HP_BLOB_READ_OPTIONS_VERSION 1
#define HP_BLOB_READ_OPTIONS_INIT \
  {HP_BLOB_READ_OPTIONS_VERSION, NULL, NULL, HP_BLOB_LATEST, 0, HP_BLOB_EOF}

/** Completion of hp_blobs_open_read(): status 0 with a reader the callee
 *  now owns (close it with hp_blob_reader_close()) and the file's metadata
 *  (borrowed for the callback; hp_blob_reader_stat() keeps it), or a
 *  negative code (HP_ENOTFOUND: no such file) with both NULL. */
typedef void (*hp_blob_open_cb)(int status, hp_blob_reader *reader,
                                const hp_blob_stat *stat, void *data);

/**
 * Find a file and open a reader on the byte range of `opts`. The reader
 * reads the file as it was committed even if a newer revision is committed
 * meanwhile; reading a file deleted meanwhile fails with HP_ENOTFOUND.
 * @param opts  required: id or filename must be set; copied.
 * @param cb    required.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, neither id nor
 *         filename, bad id), HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_open_read(hp_blobs *b,
                                 const hp_blob_read_options *opts,
                                 hp_blob_open_cb cb, void *data);

/** The metadata of the reader's file; owned by the reader, valid until
 *  hp_blob_reader_close(). Thread: any. */
HP_EXTERN const hp_blob_stat *hp_blob_reader_stat(const hp_blob_reader *r);

/** Completion of hp_blob_reader_read(): status > 0 is the number of bytes
 *  at `buf` (borrowed for the callback), 0 the end of the range (buf NULL),
 *  < 0 a failure (HP_ECORRUPT with "file <id> chunk <n>" in
 *  hp_last_error(), HP_ENOTFOUND when the file was deleted, HP_EIO,
 *  HP_EUNAVAILABLE, HP_ECANCELED after close). */
typedef void (*hp_blob_data_cb)(int status, const void *buf, size_t len,
                                void *data);

/**
 * Read the next piece of the range, in order: at most one chunk's bytes
 * per call (less at the range's edges). The reader fetches chunks ahead,
 * eight at a time (at most twelve held), while the caller handles this one.
 * One read at a time; calling it again from inside `cb` is fine.
 * @param cb  required.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, or a read is already
 *         pending), HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blob_reader_read(hp_blob_reader *r, hp_blob_data_cb cb,
                                  void *data);

/** Completion of hp_blob_reader_read_piece(): status > 0 is the number of
 *  bytes of `piece`, which the callee now owns (free it with
 *  hp_blob_piece_free(), on any thread, whenever it likes: it outlives the
 *  reader and the store); 0 the end of the range; < 0 a failure, as for
 *  hp_blob_data_cb. `piece` is NULL unless status > 0. */
typedef void (*hp_blob_piece_cb)(int status, hp_blob_piece *piece, void *data);

/**
 * hp_blob_reader_read() that hands the bytes over instead of lending them:
 * the piece is the chunk the reader fetched, given away rather than copied,
 * so a binding can wrap it (a Node Buffer over it, freed by the garbage
 * collector) at no cost per byte. A reader takes either kind of read, in
 * any order.
 * @param cb  required.
 * @return as hp_blob_reader_read(). Thread: any.
 */
HP_EXTERN int hp_blob_reader_read_piece(hp_blob_reader *r, hp_blob_piece_cb cb, void *data);

/** The bytes of a piece; `*len` gets their number. They stay valid and
 *  unchanged until hp_blob_piece_free(). Thread: any. */
HP_EXTERN const void *hp_blob_piece_bytes(const hp_blob_piece *p, size_t *len);

/** Free a piece. NULL is a no-op. Thread: any. */
HP_EXTERN void hp_blob_piece_free(hp_blob_piece *p);

/**
 * hp_blob_reader_read() into the caller's memory, many chunks at once: the
 * next bytes of the range go to `buf`, as many as fit in `cap`, ending at a
 * chunk boundary (or at the range's end) unless `cap` is less than what is
 * left of the current chunk, which then gets `cap` bytes. On SQLite one
 * thread-pool job reads them straight into `buf` and checks each chunk's
 * CRC32C there, so a buffer of n chunks costs one round trip and no copy
 * (Redis: one MGET of those chunks, then a copy). Chunks that an earlier
 * hp_blob_reader_read() fetched ahead are copied from memory first. A damaged or
 * missing chunk fails the read that reaches it, after the good bytes before
 * it were delivered by the reads before; `buf` may then hold part of the
 * damaged chunk, never reported as read.
 * @param buf  borrowed until `cb` runs: it must stay valid, and neither be
 *             read nor written by the caller, until then.
 * @param cap  bytes at `buf`, at least 1 (more than INT_MAX counts as
 *             INT_MAX).
 * @param cb   required; status > 0 the bytes now at the start of `buf`, 0
 *             the end of the range, < 0 a failure as for hp_blob_data_cb.
 * Up to four of these reads may be pending at once (read-ahead): each
 * starts fetching its span when it is made, the spans follow one another
 * in the order the reads were made, and their callbacks run in that order.
 * A reader takes this read and the others in any order, but not while one
 * of the other kind is pending.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, cap 0, four reads
 *         into memory or another read already pending), HP_ECLOSED,
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blob_reader_read_into(hp_blob_reader *r, void *buf, size_t cap, hp_blob_cb cb, void *data);

/**
 * Close a reader (see hp_close_cb). Later calls get HP_ECLOSED; a pending
 * read still runs its callback (HP_ECANCELED unless it completed).
 * @param r     NULL is a no-op that returns 0 and never calls cb.
 * @param cb    may be NULL. @param data  passed to cb unchanged.
 * @return 0, or HP_ECLOSED when close was already called (cb never runs).
 * Thread: any.
 */
HP_EXTERN int hp_blob_reader_close(hp_blob_reader *r, hp_close_cb cb, void *data);

/* ------------------------------------------------------------- Managing */

/** Completion of hp_blobs_get(): status >= 0 is the number of bytes of
 *  `piece` (which the callee now owns: free it with hp_blob_piece_free(),
 *  on any thread), with the file's metadata (borrowed for the callback);
 *  < 0 a failure, `stat` and `piece` NULL. */
typedef void (*hp_blob_get_cb)(int status, const hp_blob_stat *stat, hp_blob_piece *piece, void *data);

/**
 * Find a file and read the byte range of `opts` whole, in one step: on
 * SQLite one thread-pool job finds the file, reads its chunks into one
 * piece and checks each chunk's CRC32C, in one read transaction (the
 * quickest way to a small file). Fails rather than reading more than
 * `max_bytes`: open a reader for bigger ranges.
 * @param opts       as hp_blobs_open_read(); copied.
 * @param max_bytes  the most bytes the range may hold, 1..INT_MAX;
 *                   a longer range fails with HP_ELIMIT (the file's
 *                   length in hp_last_error()).
 * @param cb         required; HP_ENOTFOUND when there is no such file,
 *                   HP_ECORRUPT for a damaged or missing chunk (no bytes
 *                   are handed out then), HP_ELIMIT as above.
 * @return 0 (cb will run), HP_EINVAL (NULL argument, neither id nor
 *         filename, bad id, max_bytes 0 or above INT_MAX), HP_ECLOSED,
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_get(hp_blobs *b, const hp_blob_read_options *opts, uint64_t max_bytes, hp_blob_get_cb cb,
                           void *data);


/**
 * A file's metadata, by id or by (filename, revision); the byte range of
 * `opts` is ignored.
 * @param cb  required; HP_ENOTFOUND when there is no such file.
 * @return 0 (cb will run), HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_stat(hp_blobs *b, const hp_blob_read_options *opts,
                            hp_blob_stat_cb cb, void *data);

/**
 * Whether a file exists, as hp_blobs_stat() finds it.
 * @param cb  required; status 1 yes, 0 no, or a negative code.
 * @return as hp_blobs_stat(). Thread: any.
 */
HP_EXTERN int hp_blobs_exists(hp_blobs *b, const hp_blob_read_options *opts,
                              hp_blob_cb cb, void *data);

/** Options of hp_blobs_list(). */
typedef struct hp_blob_list_options {
  unsigned version;    /**< HP_BLOB_LIST_OPTIONS_VERSION */
  const char *prefix;  /**< only filenames starting with it; NULL or "" for
                            all; copied */
  const char *cursor;  /**< where the previous page stopped (its
                            next_cursor), NULL or "" for the first page;
                            copied */
  uint32_t limit;      /**< most files per page; 0 means 100, at most 10000 */
  int latest_only;     /**< 1: only the latest revision of each filename;
                            0 (default): every revision */
} hp_blob_list_options;

#define HP_BLOB_LIST_OPTIONS_VERSION 1
#define HP_BLOB_LIST_OPTIONS_INIT {HP_BLOB_LIST_OPTIONS_VERSION, NULL, NULL, 0, 0}

/** Completion of hp_blobs_list(): status is the number of files at `files`
 *  (>= 0) or a negative code. `next_cursor` is NULL on the last page.
 *  Everything is borrowed for the callback. */
typedef void (*hp_blob_list_cb)(int status, const hp_blob_stat *files,
                                size_t count, const char *next_cursor,
                                void *data);

/**
 * One page of committed files, ordered by filename (bytewise), then by
 * revision. Paging with the cursor neither skips nor repeats a file that
 * exists throughout.
 * @param opts  NULL for the first page of everything.
 * @param cb    required.
 * @return 0 (cb will run), HP_EINVAL (bad option or cursor), HP_ECLOSED,
 *         HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_list(hp_blobs *b, const hp_blob_list_options *opts,
                            hp_blob_list_cb cb, void *data);

/**
 * Delete one file by id.
 * @param id  24 hex digits; copied.
 * @param cb  may be NULL; status 1 deleted, 0 no such file, or a negative
 *            code. Readers open on the file then fail with HP_ENOTFOUND.
 * @return 0 (cb will run), HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_delete_id(hp_blobs *b, const char *id, hp_blob_cb cb,
                                 void *data);

/**
 * Delete every revision of a filename.
 * @param filename  copied.
 * @param cb        may be NULL; status is the number of files deleted
 *                  (0 when there was none), or a negative code.
 * @return as hp_blobs_delete_id(). Thread: any.
 */
HP_EXTERN int hp_blobs_delete_name(hp_blobs *b, const char *filename,
                                   hp_blob_cb cb, void *data);

/**
 * Reclaim the chunks of uploads that will never commit: aborted uploads
 * whose delete failed, and crashed ones (SQLite: the writing process is
 * gone; Redis: its lease ran out). hp_blobs_open() starts one of these.
 * @param cb  may be NULL; status is the number of uploads reclaimed, or a
 *            negative code.
 * @return 0 (cb will run), HP_EINVAL, HP_ECLOSED, HP_ENOMEM.
 * Thread: any.
 */
HP_EXTERN int hp_blobs_gc(hp_blobs *b, hp_blob_cb cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_BLOBS_H */
