'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const farmhash = require('farmhash');
const { hotpath, readVectors } = require('../support/fixtures');

const hp = hotpath();

test('fingerprint32 matches the issue vectors', () => {
  assert.equal(hp.fingerprint32('hello world'), 430397466);
  assert.equal(hp.fingerprint32('127.0.0.1'), 1211160241);
  assert.equal(hp.fingerprint32('::ffff:127.0.0.1'), 3208593540);
  assert.equal(hp.fingerprint32('::1'), 3686423519);
  assert.equal(hp.fingerprint32('192.168.1.10'), 3038424652);
});

test('fingerprint32 matches every committed vector, as Buffer and as string', () => {
  const vectors = readVectors();
  assert.ok(vectors.length >= 1000);
  for (const { bytes, value } of vectors) assert.equal(hp.fingerprint32(bytes), value);
  const ascii = vectors.filter((v) => /^[\x20-\x7e]*$/.test(v.bytes.toString('latin1')));
  assert.ok(ascii.length > 500);
  for (const { bytes, value } of ascii) assert.equal(hp.fingerprint32(bytes.toString('latin1')), value);
});

test('fingerprint32 agrees with the farmhash package on long and non-ASCII strings', () => {
  const inputs = ['', 'é', '日本語のテキスト', 'x'.repeat(507), 'y'.repeat(508), '€'.repeat(200), 'z'.repeat(100000)];
  for (const s of inputs) assert.equal(hp.fingerprint32(s), farmhash.fingerprint32(s), `length ${s.length}`);
});

test('fingerprint32Many returns the same values in a Uint32Array', () => {
  const inputs = Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const many = hp.fingerprint32Many(inputs);
  assert.ok(many instanceof Uint32Array);
  assert.deepEqual(Array.from(many), inputs.map((s) => farmhash.fingerprint32(s)));
});

test('bad input raises TypeError or RangeError before the native call', () => {
  assert.throws(() => hp.fingerprint32(42), TypeError);
  assert.throws(() => hp.fingerprint32Many('nope'), TypeError);
  assert.throws(() => hp.fingerprint32Many(['ok', 7]), TypeError);
  assert.throws(() => hp.sticky.pick('1.2.3.4', 0), RangeError);
  assert.throws(() => hp.sticky.pick('1.2.3.4', 2, 'ring'), RangeError);
  assert.throws(() => hp.sticky.pick(12, 2), TypeError);
});

test('pick in modulo mode is the seed rule, in jump mode folds mapped IPv4', () => {
  for (const ip of ['::ffff:10.0.0.1', '127.0.0.1', '::1']) {
    for (const n of [1, 2, 3, 7]) assert.equal(hp.sticky.pick(ip, n), farmhash.fingerprint32(ip) % n);
  }
  assert.equal(hp.sticky.pick('::ffff:10.9.8.7', 5, 'jump'), hp.sticky.pick('10.9.8.7', 5, 'jump'));
});

test('native errors are HotpathErrors with a code and the detail', () => {
  assert.throws(
    () => hp.sticky.pick('not-an-ip', 3, 'jump'),
    (err) => err instanceof hp.HotpathError && err.code === 'HP_EINVAL' && err.errno === hp.codes.HP_EINVAL &&
      /not-an-ip/.test(err.message),
  );
  assert.throws(() => hp.sticky.pick('1'.repeat(300), 3), { code: 'HP_EINVAL' });
  assert.throws(() => hp.sticky.pick('', 3), { code: 'HP_EINVAL' });
});

test('fingerprint32Many agrees with farmhash across chunk borders, long and non-ASCII strings', () => {
  const inputs = [];
  for (let i = 0; i < 2000; i++) {
    const len = (i * 37) % 700;
    inputs.push(i % 5 === 0 ? 'ü€日'.repeat(len % 90) : 'k'.repeat(len) + i);
  }
  inputs.splice(7, 0, '', 'z'.repeat(100000), '€'.repeat(40000), '');
  const many = hp.fingerprint32Many(inputs);
  assert.equal(many.length, inputs.length);
  inputs.forEach((s, i) => assert.equal(many[i], farmhash.fingerprint32(s), `item ${i}, length ${s.length}`));
  assert.equal(hp.fingerprint32Many([]).length, 0);
  // A second call reuses the buffers and still gives the same answers.
  assert.deepEqual(Array.from(hp.fingerprint32Many(inputs.slice(0, 50))), Array.from(many.slice(0, 50)));
});

test('fingerprint32Many: surrogate pairs, lone surrogates and halves that meet across items', () => {
  const inputs = ['a\uD83D', '\uDE00b', '😀', '\uD83D', '\uDE00', 'x\uDE00', '\uD83Dy', '1.2.3.4', '😀'.repeat(3)];
  const many = hp.fingerprint32Many(inputs);
  inputs.forEach((s, i) => assert.equal(many[i], hp.fingerprint32(s), `item ${i}`));
  // Lone halves, no neighbour to fuse with: the joined path.
  const lone = ['x\uDE00', '\uD83Dy', 'é', '1.2.3.4'];
  const out = hp.fingerprint32Many(lone);
  lone.forEach((s, i) => assert.equal(out[i], hp.fingerprint32(s), `lone item ${i}`));
  // Many short strings across several native calls.
  const ips = Array.from({ length: 10000 }, (_, i) => `10.${i >> 8}.${i & 255}.${i % 7}`);
  const all = hp.fingerprint32Many(ips);
  ips.forEach((s, i) => assert.equal(all[i], farmhash.fingerprint32(s), `ip ${i}`));
});
