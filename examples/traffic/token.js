'use strict';
// /ad tokens: hex IV (16 bytes) ':' hex AES-256-CBC ciphertext of
// {"offerId":N,"campaignId":M}. The key is 64 hex digits (32 bytes) from
// TRAFFIC_KEY; DEMO_KEY is for local runs only.
const crypto = require('crypto');

const DEMO_KEY = '6b1f3c9e2a4d8f7065c1b3a9d2e4f6081a3c5e7f90b2d4f6a8c0e2f4b6d8f0a1';
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

class TokenError extends Error {}

/**
 * {offerId, campaignId} of a token, or a TokenError with the reason. Decoded
 * tokens are cached (a link is clicked many times); the cache is bounded.
 */
function createDecoder(key, cacheMax = 10000) {
  const cache = new Map();
  return function decode(token) {
    if (typeof token !== 'string' || token === '') {
      throw new TokenError('missing offer token (?offer=<iv>:<ciphertext>)');
    }
    const hit = cache.get(token);
    if (hit !== undefined) return hit;
    const m = TOKEN_RE.exec(token);
    if (!m) throw new TokenError('offer token must be <32 hex digits IV>:<hex ciphertext, a multiple of 16 bytes>');
    let text;
    try {
      const decipher = crypto.createDecipheriv('aes-256-cbc', key, Buffer.from(m[1], 'hex'));
      text = Buffer.concat([decipher.update(Buffer.from(m[2], 'hex')), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenError('offer token does not decrypt with this key');
    }
    let payload;
    try {
      payload = JSON.parse(text);
    } catch {
      throw new TokenError('offer token does not hold JSON');
    }
    const offerId = Number(payload && payload.offerId);
    const campaignId = Number(payload && payload.campaignId);
    if (!Number.isSafeInteger(offerId) || !Number.isSafeInteger(campaignId)) {
      throw new TokenError('offer token must hold {"offerId": <integer>, "campaignId": <integer>}');
    }
    const ids = Object.freeze({ offerId, campaignId });
    if (cache.size >= cacheMax) cache.clear();
    cache.set(token, ids);
    return ids;
  };
}

module.exports = { DEMO_KEY, parseKey, encrypt, createDecoder, TokenError };
