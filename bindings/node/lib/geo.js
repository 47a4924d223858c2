'use strict';

const fs = require('fs');
const native = require('./native');

function checkIp(ip) {
  if (typeof ip !== 'string') throw new TypeError(`geo: ip must be a string, got ${typeof ip}`);
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

/**
 * A MaxMind DB reader over one or more files (memory-mapped, decoded natively).
 * `get` reads the primary file; `lookup` merges every file into one flat,
 * frozen enrichment object.
 */
class GeoReader {
  /**
   * @param {string} path
   * @param {{extraPaths?: string[], cacheRecords?: number, cache?: {max?: number}, watchIntervalMs?: number}} [opts]
   */
  constructor(path, opts = {}) {
    if (typeof path !== 'string' || path === '') throw new TypeError('geo: path must be a non-empty string');
    const extra = opts.extraPaths ?? [];
    if (!Array.isArray(extra) || extra.some((p) => typeof p !== 'string')) {
      throw new TypeError('geo: extraPaths must be an array of strings');
    }
    const cacheRecords = opts.cacheRecords ?? 0;
    const cacheObjects = opts.cache?.max ?? 1000000;
    const watch = opts.watchIntervalMs ?? 0;
    for (const [name, v] of [['cacheRecords', cacheRecords], ['cache.max', cacheObjects], ['watchIntervalMs', watch]]) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`geo: ${name} must be a non-negative integer`);
    }
    this._native = new native.GeoReader(path, extra, cacheRecords, Math.max(cacheObjects, 1), watch);
    this._metadata = null;
    this._metadataGeneration = 0;
  }

  /** The full record of `ip` in the primary database, or null. */
  get(ip) {
    checkIp(ip);
    return this._native.get(ip);
  }

  /** [record or null, prefix length]. */
  getWithPrefixLength(ip) {
    checkIp(ip);
    return this._native.getWithPrefixLength(ip);
  }

  /** The flat enrichment of `ip` from every database (frozen), or null. */
  lookup(ip) {
    checkIp(ip);
    return this._native.lookup(ip);
  }

  /**
   * Enrichments of many addresses as columns: `{countryCode: [...], city: [...],
   * latitude: [...], ...}`, null where a field is absent.
   * @param {Iterable<string>} ips
   */
  lookupMany(ips) {
    const list = Array.isArray(ips) ? ips : Array.from(ips);
    return this._native.lookupMany(list);
  }

  /** Metadata of database `index` (0: primary), `maxmind` package shape. */
  metadataOf(index = 0) {
    return shapeMetadata(this._native.metadata(index));
  }

  /** The raw metadata map of database `index`, as stored in the file. */
  rawMetadata(index = 0) {
    return this._native.metadata(index);
  }

  get metadata() {
    const gen = this._native.generation();
    if (!this._metadata || gen !== this._metadataGeneration) {
      this._metadata = shapeMetadata(this._native.metadata(0));
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

  close() {
    this._native.close();
  }
}

/**
 * Open databases asynchronously (the files are checked before mapping).
 * @returns {Promise<GeoReader>}
 */
async function open(path, opts = {}) {
  await fs.promises.access(path, fs.constants.R_OK).catch(() => {});
  return new GeoReader(path, opts);
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
  const ipVersion = opts.ipVersion ?? 6;
  const recordSize = opts.recordSize ?? 0;
  if (ipVersion !== 4 && ipVersion !== 6) throw new RangeError('writeDatabase: ipVersion must be 4 or 6');
  if (![0, 24, 28, 32].includes(recordSize)) throw new RangeError('writeDatabase: recordSize must be 24, 28 or 32');
  native.geoWrite(
    path,
    list,
    ipVersion,
    recordSize,
    String(opts.databaseType ?? 'hotpath'),
    String(opts.description ?? ''),
    (opts.languages ?? []).map(String),
    bigToNumber(opts.buildEpoch ?? 0),
  );
}

module.exports = { GeoReader, open, writeDatabase, shapeMetadata };
