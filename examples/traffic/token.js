'use strict';
// /ad tokens: hex IV (16 bytes) ':' hex AES-256-CBC ciphertext of
// {"offerId":N,"campaignId":M}. The key is 64 hex digits (32 bytes) from
// TRAFFIC_KEY (a demo run makes a fresh one).
const crypto = require('crypto');

const TOKEN_RE = /^([0-9a-fA-F]{32}):((?:[0-9a-fA-F]{32})+)$/;

/** The 32-byte key from 64 hex digits; throws with a reason otherwise. */
function parseKey(hex) {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error('TRAFFIC_KEY must be 64 hex digits (a 32-byte AES-256 key)');
  }
  return Buffer.from(hex, 'hex');
}

function encrypt(key, payload) {
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-cbc', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return `${iv.toString('hex')}:${body.toString('hex')}`;
}

// Every bad token fails the same way, with one message: telling a token that
// does not decrypt from one that decrypts to something else is a padding
// oracle, which lets a client decrypt and forge tokens.
class TokenError extends Error {
  constructor() {
    super('invalid offer token');
  }
}

function ids(token, key) {
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  try {
    const decipher = crypto.createDecipheriv('aes-256-cbc', key, Buffer.from(m[1], 'hex'));
    const text = Buffer.concat([decipher.update(Buffer.from(m[2], 'hex')), decipher.final()]).toString('utf8');
    const payload = JSON.parse(text);
    const offerId = Number(payload && payload.offerId);
    const campaignId = Number(payload && payload.campaignId);
    if (!Number.isSafeInteger(offerId) || !Number.isSafeInteger(campaignId)) return null;
    return Object.freeze({ offerId, campaignId });
  } catch {
    return null;
  }
}

/**
 * {offerId, campaignId} of a token, or a TokenError. Decoded tokens are
 * cached (a link is clicked many times); the cache is bounded.
 */
function createDecoder(key, cacheMax = 10000) {
  const cache = new Map();
  return function decode(token) {
    const hit = typeof token === 'string' ? cache.get(token) : undefined;
    if (hit !== undefined) return hit;
    const found = typeof token === 'string' ? ids(token, key) : null;
    if (!found) throw new TokenError();
    if (cache.size >= cacheMax) cache.clear();
    cache.set(token, found);
    return found;
  };
}

module.exports = { parseKey, encrypt, createDecoder, TokenError };
