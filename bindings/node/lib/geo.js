'use strict';

const native = require('./native');
const { abortable, signalOf, disposable } = require('./abort');

// lookupMany()'s columns, in order: the strings, then the numbers.
const COLUMNS = Object.freeze([
  'countryCode', 'countryName', 'continentCode', 'continentName', 'subdivisionCode', 'subdivisionName',
  'city', 'postalCode', 'timeZone', 'asOrg', 'isp', 'org', 'latitude', 'longitude', 'accuracyRadius', 'asn',
]);
const STRING_COLUMNS = 12;

function checkIp(ip) {
  if (typeof ip !== 'string') throw new TypeError(`geo: ip must be a string, got ${typeof ip}`);
}

/**
 * A record from the native tape (see Tape in src/geo.cc): the objects and
 * arrays are made here, in the caller's realm, so they equal literals under
 * `assert.deepStrictEqual` and jest's `toStrictEqual` in any context.
 */
function fromTape(t) {
  if (t === null) return null;
  let i = 0;
  const value = () => {
    const tag = t[i++];
    if (tag === 0) return t[i++];
    const n = t[i++];
    if (tag === 1) {
      const o = {};
      for (let k = 0; k < n; k++) {
        const key = t[i++];
        const v = value();
        if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
        else o[key] = v;
      }
      return o;
    }
    const a = [];
    for (let k = 0; k < n; k++) a.push(value());
    return a;
  };
  return value();
}

function bigToNumber(v) {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** The metadata of a database in the `maxmind` package's shape. */
function shapeMetadata(raw) {
  const recordSize = raw.record_size;
  const nodeCount = raw.node_count;
  return {
    binaryFormatMajorVersion: raw.binary_format_major_version,
    binaryFormatMinorVersion: raw.binary_format_minor_version,
    buildEpoch: new Date(Number(raw.build_epoch) * 1000),
    databaseType: raw.database_type,
    description: raw.description,
    ipVersion: raw.ip_version,
    languages: raw.languages,
    nodeByteSize: recordSize / 4,
    nodeCount,
    recordSize,
    searchTreeSize: (nodeCount * recordSize) / 4,
    treeDepth: Math.pow(2, raw.ip_version + 1),
  };
}

// A handle opened off the loop by open(), handed to the constructor.
const OPENED = Symbol('opened');

// The native constructor's arguments, checked.
function checkOptions(path, opts) {
  const fromMemory = Buffer.isBuffer(path);
  if (!fromMemory && (typeof path !== 'string' || path === '')) {
    throw new TypeError('geo: path must be a non-empty string or a Buffer');
  }
  const extra = opts.extraPaths ?? [];
  if (!Array.isArray(extra) || extra.some((p) => typeof p !== 'string')) {
    throw new TypeError('geo: extraPaths must be an array of strings');
  }
  const cacheRecords = opts.cacheRecords ?? 0;
  const cacheObjects = opts.cache?.max ?? 1000000;
  const watch = opts.watchIntervalMs ?? 0;
  const indexBits = opts.ipv4IndexBits ?? 0;
  const cacheBytes = opts.cacheBytes ?? 0;
  const maxRecordBytes = opts.maxRecordBytes ?? 0;
  const maxRecordNodes = opts.maxRecordNodes ?? 0;
  for (const [name, v] of [
    ['cacheRecords', cacheRecords],
    ['cache.max', cacheObjects],
    ['watchIntervalMs', watch],
    ['cacheBytes', cacheBytes],
    ['maxRecordBytes', maxRecordBytes],
    ['maxRecordNodes', maxRecordNodes],
  ]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`geo: ${name} must be a non-negative integer`);
  }
  if (!Number.isInteger(indexBits) || (indexBits !== 0 && (indexBits < 16 || indexBits > 24))) {
    throw new RangeError('geo: ipv4IndexBits must be 0 (automatic) or 16..24');
  }
  if (fromMemory && (extra.length || watch)) throw new TypeError('geo: a database in a Buffer has no extraPaths or watch');
  return {
    extra,
    cacheRecords,
    cacheObjects: Math.max(cacheObjects, 1),
    watch,
    indexBits,
    cacheBytes,
    maxRecordBytes,
    maxRecordNodes,
  };
}

/**
 * A MaxMind DB reader over one or more files (memory-mapped, decoded natively).
 * `get` reads the primary file; `lookup` merges every file into one flat,
 * frozen enrichment object.
 */
class GeoReader {
  /**
   * @param {string | Buffer} path  a file, or the bytes of a database (copied; `opts.name` names it in messages)
   * @param {{extraPaths?: string[], cacheRecords?: number, cache?: {max?: number}, watchIntervalMs?: number,
   *   ipv4IndexBits?: number, cacheBytes?: number, maxRecordBytes?: number, maxRecordNodes?: number,
   *   name?: string}} [opts]
   */
  constructor(path, opts = {}) {
    const o = checkOptions(path, opts);
    // state[0] changes when a reload renumbers the records.
    this._state = new Int32Array(1);
    this._native = new native.GeoReader(opts[OPENED] ?? path, o.extra, o.cacheRecords, o.cacheObjects, o.watch,
      o.indexBits, this._state, o.cacheBytes, o.maxRecordBytes, o.maxRecordNodes, String(opts.name ?? '<buffer>'));
    this._count = this._native.count();
    this._max = o.cacheObjects;
    // lookupMany(): buffers the native side writes the columns into.
    this._cells = new Uint32Array(0);
    this._numbers = new Float64Array(0);
    this._resetCaches();
    this._metadata = null;
    this._metadataGeneration = 0;
  }


  // Records and enrichments made into JS values, by record id: a hit is one
  // native call that walks the index and one array read.
  _resetCaches() {
    this._epoch = this._state[0];
    this._objects = [];
    // lookup(): objects differ by prefixLength too, and a record is often
    // shared by networks of a few sizes: 8 slots per record id, [id * 8 + j]
    // holding the object for prefix length _lookupPrefix[id * 8 + j]
    // (255: empty); a Map keyed by find()'s number for the rest.
    this._lookups = [];
    this._lookupPrefix = null;
    this._lookupsOther = new Map();
    this._cached = 0;
  }

  _store(list, id, value) {
    if (this._state[0] !== this._epoch) return;
    if (this._cached >= this._max) this._resetCaches();
    if (list.length <= id) {
      // Filled densely so the array keeps fast elements.
      const n = Math.min(this._native.recordCount(0), id + 65536);
      for (let i = list.length; i < n; i++) list.push(undefined);
      if (list.length <= id) return;
    }
    list[id] = value;
    this._cached++;
  }

  /** The full record of `ip` in the primary database, or null. */
  get(ip) {
    checkIp(ip);
    const k = this._native.find(ip, 0);
    if (k < 0) return k > -1000 ? null : fromTape(this._native.record(ip, 0));
    if (this._state[0] !== this._epoch) this._resetCaches();
    const id = (k - (k % 256)) / 256;
    let rec = this._objects[id];
    if (rec === undefined) {
      rec = fromTape(this._native.record(ip, 0));
      this._store(this._objects, id, rec);
    }
    return rec;
  }

  /** [record or null, prefix length]. */
  getWithPrefixLength(ip) {
    checkIp(ip);
    const k = this._native.find(ip, 0);
    if (k < 0) return k > -1000 ? [null, -1 - k] : [fromTape(this._native.record(ip, 0)), -1000 - k];
    return [this.get(ip), k % 256];
  }

  /** The flat enrichment of `ip` from every database (frozen), or null. */
  lookup(ip) {
    checkIp(ip);
    if (this._count !== 1) return this._native.lookup(ip);
    const k = this._native.find(ip, 0);
    if (k < 0) return k > -1000 ? null : this._native.lookup(ip);
    if (this._state[0] !== this._epoch) this._resetCaches();
    const id = (k - (k % 256)) / 256;
    const prefix = k % 256;
    const p = this._lookupPrefix;
    const base = id * 8;
    if (p !== null && base < p.length) {
      for (let j = base; j < base + 8; j++) {
        const q = p[j];
        if (q === prefix) return this._lookups[j];
        if (q === 255) break;
      }
    }
    let e = this._lookupsOther.get(k);
    if (e !== undefined) return e;
    e = this._native.lookup(ip);
    if (this._state[0] !== this._epoch) return e;
    if (this._cached >= this._max) this._resetCaches();
    if (this._lookupPrefix === null) {
      const n = this._native.recordCount(0) * 8;
      this._lookupPrefix = new Uint8Array(n).fill(255);
      // Filled densely so the array keeps fast elements.
      for (let i = 0; i < n; i++) this._lookups.push(undefined);
    }
    const q = this._lookupPrefix;
    this._cached++;
    for (let j = base; j < base + 8 && j < q.length; j++) {
      if (q[j] === 255) {
        q[j] = prefix;
        this._lookups[j] = e;
        return e;
      }
    }
    this._lookupsOther.set(k, e);
    return e;
  }

  /**
   * Enrichments of many addresses as columns: `{countryCode: [...], city: [...],
   * latitude: [...], ...}`, null where a field is absent.
   * @param {Iterable<string>} ips
   */
  lookupMany(ips) {
    const list = Array.isArray(ips) ? ips : Array.from(ips);
    if (this._count !== 1) return this._native.lookupMany(list);
    // One crossing for the batch: the addresses as one string and their
    // lengths in; the columns out as string-table indexes and numbers
    // (see columns() in src/geo.cc), turned into arrays here.
    const n = list.length;
    const lengths = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const ip = list[i];
      if (typeof ip !== 'string') return this._native.lookupMany(list);  // throws, naming the item
      lengths[i] = ip.length;
    }
    if (this._cells.length < 16 * n + 1) {
      this._cells = new Uint32Array(16 * n + 1);
      this._numbers = new Float64Array(4 * n);
    }
    const cells = this._cells;
    const numbers = this._numbers;
    const table = this._native.columns(list.join(''), lengths, cells, numbers);
    if (table === null) return this._native.lookupMany(list);  // a bad address: throws, naming the item
    const present = cells[16 * n];
    const out = {};
    for (let c = 0; c < COLUMNS.length; c++) {
      const base = c * n;
      let col;
      if (!(present & (1 << c))) {
        col = new Array(n).fill(null);
      } else if (c < STRING_COLUMNS) {
        col = new Array(n);
        for (let i = 0; i < n; i++) {
          const s = cells[base + i];
          col[i] = s === 0 ? null : table[s - 1];
        }
      } else {
        col = new Array(n);
        const from = (c - STRING_COLUMNS) * n;
        for (let i = 0; i < n; i++) col[i] = cells[base + i] === 0 ? null : numbers[from + i];
      }
      out[COLUMNS[c]] = col;
    }
    return out;
  }

  /** Metadata of database `index` (0: primary), `maxmind` package shape. */
  metadataOf(index = 0) {
    return shapeMetadata(fromTape(this._native.metadata(index)));
  }

  /** The raw metadata map of database `index`, as stored in the file. */
  rawMetadata(index = 0) {
    return fromTape(this._native.metadata(index));
  }

  get metadata() {
    const gen = this._native.generation();
    if (!this._metadata || gen !== this._metadataGeneration) {
      this._metadata = shapeMetadata(fromTape(this._native.metadata(0)));
      this._metadataGeneration = gen;
    }
    return this._metadata;
  }

  /** Re-open every file and swap atomically. */
  reload() {
    this._native.reload();
  }

  /** Increases on every reload (starts at 1). */
  get generation() {
    return this._native.generation();
  }

  /**
   * Counters: lookups, cache use, reloads and the latest reload's error
   * (docs/observability.md).
   * @returns {import('..').GeoStats}
   */
  stats() {
    return this._native.stats();
  }

  close() {
    this._native.close();
  }
}

/**
 * Open databases asynchronously: the files are mapped, checked and indexed
 * on the thread pool, so the event loop keeps running meanwhile.
 * `opts.signal` (an AbortSignal) rejects the promise with an AbortError.
 * @returns {Promise<GeoReader>}
 */
async function open(path, opts = {}) {
  const signal = signalOf(opts);
  // A Buffer is copied: nothing to wait for.
  if (Buffer.isBuffer(path)) return abortable(signal, async () => new GeoReader(path, opts));
  const o = checkOptions(path, opts);
  return abortable(
    signal,
    async () => {
      const opened = await native.geoOpen(path, o.extra, o.cacheRecords, o.watch, o.indexBits, o.cacheBytes,
        o.maxRecordBytes, o.maxRecordNodes);
      return new GeoReader(path, { ...opts, [OPENED]: opened });
    },
    // The open itself runs to its end on the thread pool; a reader nobody
    // will get is closed at once.
    { discard: (reader) => reader.close() },
  );
}

function normaliseValue(v) {
  return v;
}

/**
 * Write a MaxMind DB file from [network, record] pairs ("1.2.3.0/24" or an
 * address). Numbers become uint32 (integers >= 0), int32 (negative integers)
 * or double; bigints uint64/uint128; Buffers bytes.
 * @param {string} path
 * @param {Iterable<[string, object]>} entries
 * @param {{ipVersion?: 4|6, recordSize?: 0|24|28|32, databaseType?: string, description?: string, languages?: string[], buildEpoch?: number}} [opts]
 */
function writeDatabase(path, entries, opts = {}) {
  if (typeof path !== 'string' || path === '') throw new TypeError('writeDatabase: path must be a non-empty string');
  const list = Array.from(entries, (e) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string') {
      throw new TypeError('writeDatabase: entries are [network string, record] pairs');
    }
    return [e[0], normaliseValue(e[1])];
  });
  // Left out, ipVersion, recordSize and databaseType go as 0 / '': the C
  // library's defaults (6, the smallest record size that fits, 'hotpath').
  const ipVersion = opts.ipVersion ?? 0;
  const recordSize = opts.recordSize ?? 0;
  if (![0, 4, 6].includes(ipVersion)) throw new RangeError('writeDatabase: ipVersion must be 4 or 6');
  if (![0, 24, 28, 32].includes(recordSize)) throw new RangeError('writeDatabase: recordSize must be 24, 28 or 32');
  native.geoWrite(
    path,
    list,
    ipVersion,
    recordSize,
    String(opts.databaseType ?? ''),
    String(opts.description ?? ''),
    (opts.languages ?? []).map(String),
    bigToNumber(opts.buildEpoch ?? 0),
  );
}

disposable(GeoReader);

module.exports = { GeoReader, open, writeDatabase, shapeMetadata };
