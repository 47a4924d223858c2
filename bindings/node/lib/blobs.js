'use strict';

const { Readable, Writable } = require('stream');
const native = require('./native');
const { abortable, signalOf, disposable } = require('./abort');

const NAME_MAX = 1024;
const CHUNK_MAX = 16777216;
const LATEST = -1;

function filenameArg(value, what = 'filename') {
  if (typeof value !== 'string') throw new TypeError(`blobs: ${what} must be a string`);
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > NAME_MAX) throw new RangeError(`blobs: ${what} must be 1..${NAME_MAX} bytes`);
  if (value.includes('\0')) throw new RangeError(`blobs: ${what} must not contain NUL`);
  return value;
}

function integer(what, value, min, max) {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`blobs: ${what} must be an integer in ${min}..${max}`);
  }
  return value;
}

function options(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw new TypeError('blobs: options must be an object');
  return value;
}

// A file reference: a filename (string: its latest revision, or the one
// `revision` names) or a file id ({id}, such as a BlobFile).
// Returns [id | null, filename | null, revision].
function fileRef(ref, opts) {
  const revision = integer('revision', opts.revision ?? LATEST, -(2 ** 53) + 1, 2 ** 53 - 1);
  if (typeof ref === 'string') return [null, filenameArg(ref), revision];
  if (ref && typeof ref === 'object' && typeof ref.id === 'string') {
    if (!/^[0-9a-f]{24}$/.test(ref.id)) throw new RangeError('blobs: id must be 24 lowercase hex digits');
    return [ref.id, null, LATEST];
  }
  throw new TypeError('blobs: a file is a filename (string) or {id}');
}

function file(raw) {
  let metadata;
  try {
    metadata = JSON.parse(raw.metadataJson);
  } catch {
    metadata = raw.metadataJson; // stored as given by a writer in another language
  }
  return {
    id: raw.id,
    filename: raw.filename,
    length: raw.length,
    chunkSize: raw.chunkSize,
    uploadDate: new Date(raw.uploadDateMs),
    contentType: raw.contentType,
    sha256: raw.sha256 || null, // "" when written with {sha256: false}
    metadata,
    revision: raw.revision,
  };
}

const WRITE_NO_SHA256 = 1; // HP_BLOB_WRITE_NO_SHA256

// [contentType | null, metadataJson | null, chunkSize, flags, bufferBytes]
// of write options.
function writeArgs(opts) {
  const contentType = opts.contentType ?? null;
  if (contentType !== null && (typeof contentType !== 'string' || Buffer.byteLength(contentType) > 255)) {
    throw new RangeError('blobs: contentType must be a string of at most 255 bytes');
  }
  const metadata = opts.metadata === undefined ? null : JSON.stringify(opts.metadata);
  if (metadata !== null && Buffer.byteLength(metadata) > 1 << 20) {
    throw new RangeError('blobs: metadata must be at most 1 MiB as JSON');
  }
  const sha256 = opts.sha256 ?? true;
  if (typeof sha256 !== 'boolean') throw new TypeError('blobs: sha256 must be a boolean');
  return [
    contentType,
    metadata,
    integer('chunkSize', opts.chunkSize ?? 0, 0, CHUNK_MAX),
    sha256 ? 0 : WRITE_NO_SHA256,
    integer('bufferBytes', opts.bufferBytes ?? 0, 0, 2 ** 32 - 1),
  ];
}

// [id, filename, revision, start, end (exclusive, -1 for the end)] of a
// reference and read options; `end` in the options is inclusive, as in fs.
function readArgs(ref, opts) {
  const [id, filename, revision] = fileRef(ref, opts);
  const start = integer('start', opts.start ?? 0, 0, 2 ** 53 - 1);
  const end = opts.end === undefined || opts.end === Infinity ? -1 : integer('end', opts.end, 0, 2 ** 53 - 2) + 1;
  return [id, filename, revision, start, end];
}

/**
 * A Writable that stores a new file. Each write's callback runs only once
 * the store has taken the bytes, so a producer piping into it holds at most
 * a chunk or two in memory whatever the file size. Ending the stream
 * commits the file (it becomes visible at once, whole); destroying it before
 * that aborts the upload and deletes what was stored. After 'finish',
 * `stream.file` is the committed file.
 */
class BlobWriteStream extends Writable {
  constructor(store, filename, opts) {
    const args = writeArgs(opts);
    super({ highWaterMark: opts.highWaterMark ?? 1 << 16 });
    this._native = new native.BlobWriter();
    store._handle().openWrite(this._native, filenameArg(filename), ...args);
    /** The id the file gets at commit. */
    this.id = this._native.id();
    this.filename = filename;
    /** @type {object | null} the committed file, after 'finish' */
    this.file = null;
    this._state = 'open'; // open -> committing -> committed | aborted
  }

  _write(chunk, _encoding, callback) {
    this._native.write(chunk, callback);
  }

  // Pieces that queued up while the store was busy go down as one write.
  _writev(chunks, callback) {
    const buf = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this._native.write(buf, callback);
  }

  _final(callback) {
    this._state = 'committing';
    this._native.commit((err, raw) => {
      if (err) return callback(err);
      this._state = 'committed';
      this.file = file(raw);
      this._native.close();
      callback();
    });
  }

  _destroy(err, callback) {
    if (this._state === 'committed') return callback(err);
    if (this._state === 'aborted') return callback(err);
    const wasCommitting = this._state === 'committing';
    this._state = 'aborted';
    if (wasCommitting) {
      // A failed commit has already been discarded by the store.
      this._native.close();
      return callback(err);
    }
    this._native.abort(() => {
      this._native.close();
      callback(err);
    });
  }
}

const READ_SIZE = 1 << 20;
const GET_WHOLE_MAX = 8 << 20; // get() reads larger ranges through a reader

// The Buffer size of a read of `left` bytes: whole chunks up to `readSize`
// (at least one), so that a read never stops mid-chunk and the next one
// never checks that chunk again.
function readBufferSize(readSize, chunkSize, left) {
  const chunks = Math.max(1, Math.floor(readSize / chunkSize));
  return Math.min(chunks * chunkSize, left);
}

// Bytes of a range: [start, end) of readArgs clamped to the file.
function rangeLength(file, start, end) {
  const stop = end < 0 ? file.length : Math.min(end, file.length);
  return Math.max(0, stop - Math.min(start, stop));
}

// Reads in flight ahead of a read stream's consumer.
const READS_AHEAD = 2;

/**
 * A Readable of a file's bytes `start`..`end` (inclusive, as
 * fs.createReadStream). It emits 'file' with the file's metadata before the
 * first byte, and errors with HotpathError HP_ENOTFOUND when there is no
 * such file, HP_ECORRUPT when a stored chunk is damaged. Each read fills a
 * Buffer of its own with whole chunks (`readSize`, default 1 MiB), read
 * and checked in place by one native call; two reads stay in flight ahead
 * of the consumer (each on a pool thread of its own), answered in order.
 */
class BlobReadStream extends Readable {
  constructor(store, ref, opts) {
    // Validated before the stream exists, so bad input never reaches _construct.
    const open = readArgs(ref, opts);
    const readSize = integer('readSize', opts.readSize ?? READ_SIZE, 1, 2 ** 31 - 1);
    super({ highWaterMark: opts.highWaterMark ?? 1 << 16 });
    this._open = open;
    this._readSize = readSize;
    this._store = store;
    this._native = new native.BlobReader();
    /** @type {object | null} the file being read, once open */
    this.file = null;
    this._left = 0; // bytes of the range not yet handed on
    this._reads = []; // in order: {buf, n (-1 while in flight), err}
    this._wanted = false;
    this._handOnQueued = false;
    this._ended = false;
  }

  _construct(callback) {
    this._store._handle().openRead(this._native, ...this._open, (err, raw) => {
      if (err) return callback(err);
      this.file = file(raw);
      this._left = rangeLength(this.file, this._open[3], this._open[4]);
      this.emit('file', this.file);
      callback();
    });
  }

  // One Buffer per _read(), pushed from a later tick (as fs streams push
  // from their read's callback): a push inside _read() lands in the
  // read() that called it, which then joins Buffers by copying them.
  _read() {
    this._wanted = true;
    if (!this._handOnQueued) {
      this._handOnQueued = true;
      process.nextTick(() => {
        this._handOnQueued = false;
        this._handOn();
      });
    }
    this._readAhead();
  }

  // Starts reads until READS_AHEAD are in flight or ready, or the range is asked for.
  _readAhead() {
    let asked = 0;
    for (const r of this._reads) asked += r.buf.length;
    while (!this.destroyed && this._reads.length < READS_AHEAD && this._left > asked) {
      const r = { buf: Buffer.allocUnsafeSlow(readBufferSize(this._readSize, this.file.chunkSize, this._left - asked)) };
      r.n = -1;
      r.err = null;
      asked += r.buf.length;
      this._reads.push(r);
      this._native.readInto(r.buf, (err, n) => {
        r.err = err;
        r.n = err ? 0 : n;
        this._handOn();
        this._readAhead();
      });
    }
  }

  // Pushes the first read once it is done, if the consumer wants it.
  _handOn() {
    if (!this._wanted || this.destroyed || this._ended) return;
    const r = this._reads[0];
    if (this._left === 0 || (r && r.n === 0 && !r.err)) {
      this._ended = true;
      this.push(null);
      return;
    }
    if (!r || r.n < 0) return;
    this._reads.shift();
    if (r.err) return this.destroy(r.err);
    this._left -= r.n;
    this._wanted = false;
    this.push(r.n === r.buf.length ? r.buf : r.buf.subarray(0, r.n));
  }

  _destroy(err, callback) {
    this._native.close();
    callback(err);
  }
}

/**
 * Chunked file storage: `sqlite:/path/store.db` (one host, WAL) or
 * `redis://host:port/db` (many hosts). Files are written and read as
 * streams; each commit adds a revision of its filename.
 */
class BlobStore {
  /**
   * @param {string} spec
   * @param {{chunkSize?: number, timeoutMs?: number, prefix?: string, leaseMs?: number, durable?: boolean}} [opts]
   */
  constructor(spec, opts) {
    if (typeof spec !== 'string') throw new TypeError('blobs: spec must be a string');
    opts = options(opts);
    const chunkSize = integer('chunkSize', opts.chunkSize ?? 0, 0, CHUNK_MAX);
    const timeoutMs = integer('timeoutMs', opts.timeoutMs ?? 0, 0, 0xffffffff);
    const leaseMs = integer('leaseMs', opts.leaseMs ?? 0, 0, 0xffffffff);
    const durable = opts.durable ?? false;
    if (typeof durable !== 'boolean') throw new TypeError('blobs: durable must be a boolean');
    const prefix = opts.prefix ?? 'hp:blobs';
    if (typeof prefix !== 'string' || prefix.length === 0 || Buffer.byteLength(prefix) > 128) {
      throw new RangeError('blobs: prefix must be a string of 1..128 bytes');
    }
    this._native = new native.BlobStore(spec, chunkSize, timeoutMs, prefix, leaseMs, durable);
    this.spec = spec;
  }

  _handle() {
    return this._native;
  }

  /** 'sqlite' or 'redis'. */
  get backend() {
    return this._native.backend();
  }

  /** Default chunk size of new files, in bytes. */
  get chunkSize() {
    return this._native.chunkSize();
  }

  /**
   * Counters: bytes in and out, commits, corrupt reads and the Redis
   * client's figures (docs/observability.md).
   * @returns {import('..').BlobStoreStats}
   */
  stats() {
    return this._native.stats();
  }

  /**
   * A Writable storing a new file, committed when the stream ends.
   * @param {string} filename
   * @param {{contentType?: string, metadata?: any, chunkSize?: number}} [opts]
   */
  createWriteStream(filename, opts) {
    return new BlobWriteStream(this, filename, options(opts));
  }

  /**
   * A Readable of a file, whole or a byte range.
   * @param {string | {id: string}} ref  a filename, or {id}
   * @param {{start?: number, end?: number, revision?: number}} [opts]
   */
  createReadStream(ref, opts) {
    return new BlobReadStream(this, ref, options(opts));
  }

  /**
   * Store a whole buffer as a new file; resolves with the file. Every
   * Promise method takes `{signal}` in its options: an aborted signal
   * rejects with an AbortError (put aborts the upload, get stops reading).
   */
  async put(filename, data, opts) {
    if (typeof data === 'string') data = Buffer.from(data);
    if (!ArrayBuffer.isView(data)) throw new TypeError('blobs: data must be a Buffer, a typed array or a string');
    opts = options(opts);
    const args = writeArgs(opts);
    const signal = signalOf(opts);
    if (signal?.aborted) return abortable(signal);
    // One native write and a commit: no stream machinery for a whole buffer.
    const writer = new native.BlobWriter();
    this._native.openWrite(writer, filenameArg(filename), ...args);
    // An abort closes the writer, which aborts the upload unless it has
    // committed already (then the file stays, as with a finished fs write).
    return abortable(signal, () => this._put(writer, data), { onAbort: () => writer.close() });
  }

  async _put(writer, data) {
    try {
      // Writes apply in order, so the commit can be queued right behind the
      // write. The bytes are read from `data` itself until the write's
      // callback (as fs.promises.writeFile does).
      const written = new Promise((resolve, reject) =>
        writer.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      const committed = new Promise((resolve, reject) =>
        writer.commit((err, raw) => (err ? reject(err) : resolve(file(raw)))),
      );
      const [, result] = await Promise.all([written, committed]);
      return result;
    } finally {
      writer.close(); // aborts the upload unless it was committed
    }
  }

  /**
   * A whole file (or a range of it) as one Buffer; rejects with HP_ENOTFOUND.
   * Up to 8 MiB it is found and read in one native call; a larger range
   * is read into one Buffer of its length, many chunks per call.
   */
  async get(ref, opts) {
    opts = options(opts);
    const args = readArgs(ref, opts);
    const signal = signalOf(opts);
    if (signal?.aborted) return abortable(signal);
    const big = { reader: null };
    // An abort closes the reader of a large range: no further chunks are read.
    return abortable(signal, () => this._get(big, args), { onAbort: () => big.reader?.close() });
  }

  async _get(big, args) {
    try {
      return await this._native.get(...args, GET_WHOLE_MAX);
    } catch (err) {
      if (err.code !== 'HP_ELIMIT') throw err;
    }
    const reader = (big.reader = new native.BlobReader());
    const raw = await new Promise((resolve, reject) =>
      this._native.openRead(reader, ...args, (err, stat) => (err ? reject(err) : resolve(stat))),
    );
    try {
      const out = Buffer.allocUnsafe(rangeLength(raw, args[3], args[4]));
      let filled = 0;
      while (filled < out.length) {
        const n = await new Promise((resolve, reject) =>
          reader.readInto(out.subarray(filled), (err, got) => (err ? reject(err) : resolve(got))),
        );
        if (n === 0) break;
        filled += n;
      }
      return filled === out.length ? out : out.subarray(0, filled);
    } finally {
      reader.close();
    }
  }

  /** A file's metadata, or null when there is no such file. */
  async stat(ref, opts) {
    opts = options(opts);
    const args = fileRef(ref, opts);
    return abortable(signalOf(opts), async () => {
      try {
        return file(await this._native.stat(...args));
      } catch (err) {
        if (err.code === 'HP_ENOTFOUND') return null;
        throw err;
      }
    });
  }

  /** Whether the file exists. */
  async exists(ref, opts) {
    opts = options(opts);
    const args = fileRef(ref, opts);
    return abortable(signalOf(opts), () => this._native.exists(...args));
  }

  /**
   * One page of files ordered by filename then revision.
   * @param {{prefix?: string, cursor?: string | null, limit?: number, latestOnly?: boolean}} [opts]
   * @returns {Promise<{files: object[], cursor: string | null}>} cursor is null on the last page
   */
  async list(opts) {
    opts = options(opts);
    const prefix = opts.prefix ?? '';
    const cursor = opts.cursor ?? '';
    if (typeof prefix !== 'string' || typeof cursor !== 'string') {
      throw new TypeError('blobs: prefix and cursor must be strings');
    }
    const limit = integer('limit', opts.limit ?? 100, 1, 10000);
    const page = await abortable(signalOf(opts), () =>
      this._native.list(prefix, cursor, limit, Boolean(opts.latestOnly)),
    );
    return { files: page.files.map(file), cursor: page.cursor };
  }

  /** Every file, page after page. */
  async *files(opts) {
    let cursor = null;
    do {
      const page = await this.list({ ...options(opts), cursor });
      yield* page.files;
      cursor = page.cursor;
    } while (cursor);
  }

  /**
   * Delete one file ({id}) or every revision of a filename (string).
   * @returns {Promise<number>} files deleted
   */
  async delete(ref, opts) {
    opts = options(opts);
    const [id, filename] = fileRef(ref, {});
    return abortable(signalOf(opts), () => (id ? this._native.deleteId(id) : this._native.deleteName(filename)));
  }

  /** Reclaim the chunks of uploads that will never commit; resolves with their count. */
  async gc(opts) {
    return abortable(signalOf(options(opts)), () => this._native.gc());
  }

  /** Streams already open keep working until they end. */
  close() {
    this._native.close();
  }
}

/**
 * Give a Buffer's memory back now instead of at a later garbage collection:
 * its ArrayBuffer is detached, so it and every other view of that memory
 * become empty. V8 collects short-lived Buffers only once some 32 MB of
 * them have piled up, so a process that streams large bodies through (an
 * upload server, a proxy) holds that much more memory than it needs; one
 * that releases each body piece once done with it stays near its idle size.
 * Only for a Buffer that spans its whole ArrayBuffer (never one of Node's
 * pooled small Buffers: those are left alone) and that nothing else still
 * reads, such as a request body piece whose bytes were copied out or whose
 * socket write has called back.
 * @param {ArrayBufferView} buf
 * @returns {boolean} whether the memory was released
 */
function releaseBuffer(buf) {
  if (!ArrayBuffer.isView(buf)) throw new TypeError('blobs: releaseBuffer takes a Buffer or typed array');
  return native.releaseBuffer(buf);
}

/**
 * Open a blob store.
 * @param {string} spec  'sqlite:/path/store.db' or 'redis://host:port/db'
 * @param {{chunkSize?: number, timeoutMs?: number, prefix?: string, leaseMs?: number, durable?: boolean}} [opts]
 */
function open(spec, opts) {
  return new BlobStore(spec, opts);
}

disposable(BlobStore);

module.exports = {
  BlobStore,
  BlobWriteStream,
  BlobReadStream,
  open,
  releaseBuffer,
  LATEST,
  DEFAULT_CHUNK_SIZE: 261120,
};
