'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const { hotpath } = require('../support/fixtures');

const hp = hotpath();
const root = path.resolve(__dirname, '..', '..');

function golden() {
  return fs
    .readFileSync(path.join(root, 'tests', 'fixtures', 'ua-golden.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}

test('ua.parse returns a plain object with ua-parser-js names', () => {
  const r = hp.ua.parse(
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  );
  assert.deepEqual(
    { ...r },
    {
      browser: 'Safari',
      browserVersion: '17.1',
      engine: 'WebKit',
      engineVersion: '605.1.15',
      os: 'Mac OS',
      osVersion: '10.15.7',
      deviceType: 'desktop',
      vendor: 'Apple',
      model: 'Macintosh',
      isBot: false,
      cpu: undefined,
    },
  );
  assert.deepEqual(JSON.parse(JSON.stringify(r)).browser, 'Safari');
  r.browser = 'changed'; // each call returns its own object
  assert.equal(hp.ua.parse(
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  ).browser, 'Safari');
});

test('ua.parse agrees with every golden string, first parse and cached', () => {
  for (let round = 0; round < 2; round++) {
    for (const [ua, ...want] of golden()) {
      const r = hp.ua.parse(ua);
      const got = [r.browser, r.browserVersion, r.engine, r.engineVersion, r.os, r.osVersion, r.deviceType, r.vendor, r.model]
        .map((x) => x ?? '')
        .concat(r.isBot ? '1' : '0');
      assert.deepEqual(got, want.concat(Array(10 - want.length).fill('')).slice(0, 10), ua);
    }
  }
  const s = hp.ua.stats();
  assert.ok(s.hits > 0 && s.capacity > 0);
});

test('ua.parseMany gives the same results as parse', () => {
  const uas = golden().map((g) => g[0]);
  const many = hp.ua.parseMany(uas);
  assert.equal(many.length, uas.length);
  uas.forEach((ua, i) => assert.deepEqual({ ...many[i] }, { ...hp.ua.parse(ua) }));
  assert.deepEqual(hp.ua.parseMany([]), []);
});

test('ua.parse: empty, missing and non-ASCII input', () => {
  for (const v of ['', undefined, null]) {
    const r = hp.ua.parse(v);
    assert.equal(r.browser, undefined);
    assert.equal(r.deviceType, 'desktop');
    assert.equal(r.isBot, false);
  }
  const r = hp.ua.parse('Mozilla/5.0 (Linux; Android 13; Größe 日本) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36');
  assert.equal(r.model, 'Größe 日本');
  assert.equal(r.browser, 'Chrome');
  assert.equal(hp.ua.parse('x'.repeat(100000)).browser, undefined);
  assert.equal(hp.ua.parse('curl/8.4.0').deviceType, 'bot');
});

test('ua: wrong argument types throw TypeError', () => {
  assert.throws(() => hp.ua.parse(42), TypeError);
  assert.throws(() => hp.ua.parse({}), TypeError);
  assert.throws(() => hp.ua.parseMany('x'), TypeError);
  assert.throws(() => hp.ua.parseMany(['ok', 3]), /item 1/);
});

test('ua works in worker threads, each with its own parser', async () => {
  const code = `
    const { parentPort } = require('worker_threads');
    const hp = require(${JSON.stringify(root)});
    const r = hp.ua.parse('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0');
    parentPort.postMessage(r.browser + '/' + r.os);
  `;
  const results = await Promise.all(
    Array.from({ length: 4 }, () => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', resolve);
      w.once('error', reject);
    })),
  );
  assert.deepEqual(results, Array(4).fill('Firefox/Windows'));
});
