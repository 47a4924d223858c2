'use strict';

const native = require('./native');

/** How `pick` maps a client address to a worker. */
const MODES = Object.freeze({ modulo: native.STICKY_MODULO, jump: native.STICKY_JUMP });

/**
 * FarmHash Fingerprint32 of a string (its UTF-8 bytes) or bytes, identical to
 * the `farmhash` npm package's fingerprint32.
 * @param {string | Uint8Array} input
 * @returns {number}
 */
function fingerprint32(input) {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError('fingerprint32: input must be a string, Buffer or Uint8Array');
  }
  return native.fingerprint32(input);
}

// UTF-16 units per native call: the UTF-8 text of one call stays in cache.
const CHUNK_UNITS = 1 << 15;

/**
 * Fingerprint32 of many strings in one native call.
 * @param {string[]} inputs
 * @returns {Uint32Array}
 */
function fingerprint32Many(inputs) {
  if (!Array.isArray(inputs)) throw new TypeError('fingerprint32Many: inputs must be an array of strings');
  // One string table in per chunk: the strings joined, and their lengths.
  const n = inputs.length;
  const lengths = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const s = inputs[i];
    if (typeof s !== 'string') return native.fingerprint32Many(inputs);  // throws, naming the item
    lengths[i] = s.length;
  }
  let out = null;
  for (let first = 0; first < n || first === 0; ) {
    let end = first;
    let units = 0;
    while (end < n && (end === first || units + lengths[end] <= CHUNK_UNITS)) units += lengths[end++];
    const part = native.fingerprint32Joined(
      end - first === n ? inputs.join('') : inputs.slice(first, end).join(''),
      lengths.subarray(first, end),
    );
    if (part === null) return native.fingerprint32Many(inputs);  // lone surrogates fused by joining
    if (end - first === n) return part;
    if (out === null) out = new Uint32Array(n);
    out.set(part, first);
    first = end;
  }
  return out;
}

/**
 * The worker index for a client address.
 * 'modulo' (default) is the Perfload seed's fingerprint32(address) % workers
 * on the address text as node reports it; 'jump' folds IPv4-mapped IPv6 to
 * IPv4 and uses jump consistent hashing, so adding a worker moves ~1/n of
 * the clients.
 * @param {string} address
 * @param {number} workers
 * @param {'modulo' | 'jump'} [mode]
 * @returns {number}
 */
function pick(address, workers, mode = 'modulo') {
  if (typeof address !== 'string') throw new TypeError('pick: address must be a string');
  if (!Number.isInteger(workers) || workers < 1 || workers > 0xffffffff) {
    throw new RangeError('pick: workers must be a positive integer');
  }
  if (!(mode in MODES)) throw new RangeError(`pick: mode must be 'modulo' or 'jump', not ${String(mode)}`);
  return native.stickyPick(address, workers, MODES[mode]);
}

module.exports = { fingerprint32, fingerprint32Many, pick };
