'use strict';

// Drop-in for the `maxmind` npm package (v5): `require('hotpath/maxmind')`.
// open(path[, opts]) resolves to a reader with get, getWithPrefixLength and
// metadata returning the same shapes (uint64/uint128 as BigInt, bytes as
// Buffer). One difference on purpose: an invalid IP string throws a
// HotpathError with code 'HP_EINVAL' (maxmind 5 returns a record for "1.2.3").
const net = require('net');
const { GeoReader } = require('./geo');

class Reader {
  constructor(reader) {
    this._reader = reader;
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
    this._reader.close();
  }
}

/**
 * @param {string} path
 * @param {{cache?: {max?: number}, watchForUpdates?: boolean, watchForUpdatesNonPersistent?: boolean}} [opts]
 * @returns {Promise<Reader>}
 */
async function open(path, opts) {
  if (arguments.length > 2) {
    throw new Error('Maxmind v2 module has changed API.\nUpgrade instructions can be found here: ' +
      'https://github.com/runk/node-maxmind/wiki/Migration-guide\nIf you want to use legacy library then explicitly install maxmind@1');
  }
  const o = opts ?? {};
  return new Reader(
    new GeoReader(path, {
      cache: o.cache,
      watchIntervalMs: o.watchForUpdates ? 1000 : 0,
    }),
  );
}

/** True when `ip` is an IPv4 or IPv6 address. */
function validate(ip) {
  return typeof ip === 'string' && net.isIP(ip.split('%')[0]) !== 0;
}

module.exports = { open, validate, Reader, default: { open, validate } };
