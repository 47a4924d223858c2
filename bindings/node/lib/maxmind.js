'use strict';

// Drop-in for the `maxmind` npm package (v5): `require('hotpath/maxmind')`.
// open(path[, opts]) resolves to a Reader with get, getWithPrefixLength and
// metadata returning the same shapes (uint64/uint128 as BigInt, bytes as
// Buffer), made in the caller's realm; `new Reader(buffer)` and
// `reader.load(buffer)` read a database from memory; the errors carry
// maxmind's messages and fs's codes ('ENOENT'). One difference on purpose:
// an invalid IP string throws a HotpathError with code 'HP_EINVAL' (maxmind
// 5 returns a record for "1.2.3").
const fs = require('fs');
const { disposable } = require('./abort');
const net = require('net');
const { GeoReader, open: openGeo } = require('./geo');

// maxmind's own text (its spelling included): users match on it.
const legacyErrorMessage =
  'Maxmind v2 module has changed API.\n' +
  'Upgrade instructions can be found here: https://github.com/runk/node-maxmind/wiki/Migration-guide\n' +
  'If you want to use legacy libary then explicitly install maxmind@1';
const gzipMessage = 'Looks like you are passing in a file in gzip format, please use mmdb database instead.';
const parseMessage = 'Cannot parse binary database';

function isGzip(head) {
  return head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08;
}

// maxmind 1's format ends in a 0xffffff delimiter within its last 20 bytes.
function isLegacyFormat(tail) {
  for (let i = 0; i + 3 <= tail.length; i++) {
    const end = tail.length - i;
    if (tail[end - 3] === 255 && tail[end - 2] === 255 && tail[end - 1] === 255) return true;
  }
  return false;
}

/** An HP_ECORRUPT open in maxmind's words; hotpath's detail stays in `detail`. */
function openError(err, head, tail) {
  if (err.hpCode !== 'HP_ECORRUPT') return err;
  const message = isGzip(head) ? gzipMessage : isLegacyFormat(tail) ? legacyErrorMessage : parseMessage;
  const out = new Error(message);
  out.code = err.code;
  out.detail = err.message;
  return out;
}

function headAndTail(path) {
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(3, size));
    fs.readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(20 + 2, size));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    return [head, tail];
  } finally {
    fs.closeSync(fd);
  }
}

function readerOptions(opts) {
  return { cache: opts && opts.cache };
}

/**
 * A MaxMind DB reader, as maxmind's (mmdb-lib's) Reader: `new Reader(buffer,
 * opts)` reads a database from memory (the bytes are copied); open() makes
 * one over a memory-mapped file.
 */
class Reader {
  constructor(db, opts = {}) {
    this._opts = opts;
    this._reader = null;
    if (db instanceof GeoReader) this._reader = db;
    else this.load(db);
  }

  /** Replace the database with the one in `db` (a Buffer), at once. */
  load(db) {
    if (!Buffer.isBuffer(db)) throw new Error(`mmdb-lib expects an instance of Buffer, got: ${typeof db}`);
    let next;
    try {
      next = new GeoReader(db, readerOptions(this._opts));
    } catch (err) {
      throw openError(err, db.subarray(0, 3), db.subarray(Math.max(0, db.length - 22)));
    }
    const old = this._reader;
    this._reader = next;
    if (old) old.close();
  }

  get(ip) {
    return this._reader.get(ip);
  }

  getWithPrefixLength(ip) {
    return this._reader.getWithPrefixLength(ip);
  }

  get metadata() {
    return this._reader.metadata;
  }

  /** hotpath extras. */
  lookup(ip) {
    return this._reader.lookup(ip);
  }

  close() {
    if (this._watched) {
      fs.unwatchFile(this._watched.path, this._watched.listener);
      this._watched = null;
    }
    this._reader.close();
  }
}

// When the file is replaced it may be missing for a moment: wait for it
// (3 tries, 500 ms apart), as maxmind does.
async function waitExists(path) {
  for (let i = 0; i < 3; i++) {
    if (fs.existsSync(path)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500).unref());
  }
  return false;
}

/**
 * @param {string} path
 * @param {{cache?: {max?: number}, watchForUpdates?: boolean, watchForUpdatesNonPersistent?: boolean,
 *   watchForUpdatesHook?: () => void}} [opts]
 * @returns {Promise<Reader>}
 */
async function open(path, opts, cb) {
  if (cb !== undefined) throw new Error(legacyErrorMessage);
  let geo;
  try {
    // Mapped, checked and indexed on the thread pool, as maxmind reads the
    // file asynchronously.
    geo = await openGeo(path, readerOptions(opts));
  } catch (err) {
    if (err.hpCode !== 'HP_ECORRUPT') throw err;
    throw openError(err, ...headAndTail(path));
  }
  const reader = new Reader(geo, opts);
  if (opts && opts.watchForUpdates) {
    const hook = opts.watchForUpdatesHook;
    if (hook !== undefined && typeof hook !== 'function') {
      reader.close();
      throw new Error('opts.watchForUpdatesHook should be a function');
    }
    // fs.watchFile as maxmind uses it: a stat poll that keeps the process
    // alive unless watchForUpdatesNonPersistent asks otherwise.
    const listener = async () => {
      if (!(await waitExists(path))) return;
      try {
        const next = new GeoReader(path, readerOptions(opts));
        const old = reader._reader;
        reader._reader = next;
        old.close();
      } catch (err) {
        return; // a half-written file: the next change reloads it
      }
      if (hook) hook();
    };
    fs.watchFile(path, { persistent: opts.watchForUpdatesNonPersistent !== true }, listener);
    reader._watched = { path, listener };
  }
  return reader;
}

function openSync() {
  throw new Error(legacyErrorMessage);
}

function init() {
  throw new Error(legacyErrorMessage);
}

/** True when `ip` is an IPv4 or IPv6 address. */
function validate(ip) {
  return typeof ip === 'string' && net.isIP(ip.split('%')[0]) !== 0;
}

disposable(Reader);

module.exports = { open, openSync, init, validate, Reader, default: { open, openSync, init, validate } };
