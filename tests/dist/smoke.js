'use strict';
// Smoke test of an installed hotpath npm tarball: one function per subsystem,
// each asserting on real results. Run by tests/dist/run.sh inside a fresh npm
// project outside the checkout: node smoke.js DATA_DIR (GeoIP2-City-Test.mmdb).
const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');

const hotpath = require('hotpath');

const data = path.resolve(process.argv[2]);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-smoke-'));

function checkInstalled() {
  // The package and its addon come from this project's node_modules, and the
  // addon is the prebuilt one unless HOTPATH_SMOKE_EXPECT_ADDON says otherwise.
  const pkgDir = path.dirname(require.resolve('hotpath/package.json'));
  assert.equal(pkgDir, path.join(process.cwd(), 'node_modules', 'hotpath'));
  const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
  assert.equal(addons.length, 1, addons.join(', '));
  const expected = process.env.HOTPATH_SMOKE_EXPECT_ADDON ||
    path.join('prebuilds', `${process.platform}-${process.arch}-glibc`, 'hotpath.node');
  assert.equal(addons[0], path.join(pkgDir, expected));
  assert.equal(hotpath.version, require('hotpath/package.json').version);
  console.log(`installed: hotpath ${hotpath.version}, addon ${addons[0]}`);
}

function checkGeo() {
  const geo = new hotpath.GeoReader(path.join(data, 'GeoIP2-City-Test.mmdb'));
  const e = geo.lookup('81.2.69.160');
  assert.equal(e.countryCode, 'GB');
  assert.equal(e.city, 'London');
  assert.equal(geo.lookup('127.0.0.1'), null);
  assert.deepEqual(geo.lookupMany(['81.2.69.160', '10.0.0.1']).countryCode, ['GB', null]);
  geo.close();
  console.log('geo: ok');
}

async function checkMaxmindDropIn() {
  const maxmind = require('hotpath/maxmind');
  const reader = await maxmind.open(path.join(data, 'GeoIP2-City-Test.mmdb'));
  assert.equal(reader.get('81.2.69.160').city.names.en, 'London');
  console.log('maxmind drop-in: ok');
}

async function checkRecipes() {
  const file = path.join(work, 'offers.json');
  fs.writeFileSync(file, JSON.stringify([
    { offerId: 1, name: 'one', geoRules: JSON.stringify({ geo: [{ country: 'US', include: true }] }) },
    { offerId: 2, name: 'two' },
  ]));
  const recipes = new hotpath.Recipes();
  const offers = recipes.define('offers', { key: 'offerId', jsonFields: ['geoRules'], updateType: 'offer' });
  const stats = await offers.load(file);
  assert.equal(stats.size, 2);
  assert.equal(offers.get(1).name, 'one');
  assert.equal(offers.get(1).geoRules.geo[0].country, 'US');
  assert.equal(offers.get(3), null);
  assert.equal(offers.match(1, { country: 'FR' }).geo, 'fail');
  recipes.close();
  console.log('recipes: ok');
}

async function checkLimiter(spec) {
  const limiter = hotpath.openLimiter(spec);
  const allowed = [];
  for (let i = 0; i < 3; i++) allowed.push((await limiter.hit('ip:1', { rate: 2, periodMs: 60000 })).allowed);
  assert.deepEqual(allowed, [true, true, false]);
  assert.equal((await limiter.acquire('user-1', 'stream-1', { limit: 1, ttlMs: 60000 })).status, 'granted');
  assert.equal((await limiter.acquire('user-1', 'stream-2', { limit: 1, ttlMs: 60000 })).status, 'denied');
  limiter.close();
}

async function checkLimits() {
  await checkLimiter('memory:');
  await checkLimiter(`sqlite:${path.join(work, 'limits.db')}`);
  assert.ok(fs.existsSync(path.join(work, 'limits.db')));
  console.log('limits: ok (memory, sqlite)');
}

function checkUa() {
  const r = hotpath.ua.parse('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 ' +
    '(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0');
  assert.deepEqual([r.browser, r.os, r.deviceType], ['Edge', 'Windows', 'desktop']);
  assert.equal(hotpath.ua.parse('curl/8.4.0').isBot, true);
  console.log('ua: ok');
}

function checkSticky() {
  assert.equal(hotpath.fingerprint32('hello world'), 430397466);
  assert.deepEqual([...hotpath.fingerprint32Many(['127.0.0.1', '::1'])], [1211160241, 3686423519]);
  assert.equal(hotpath.sticky.pick('::ffff:10.0.0.1', 4), hotpath.fingerprint32('::ffff:10.0.0.1') % 4);
  console.log('sticky: ok');
}

function checkHost() {
  const snap = hotpath.host.snapshot();
  assert.ok(snap.numCores >= 1 && snap.totalMem > 0);
  console.log('host: ok');
}

async function checkEvents() {
  const file = path.join(work, 'events.log');
  const log = new hotpath.events.EventLog(file);
  log.append({ eventType: 'app_open', query: 'deviceid=abc', host: 'example.test', ip: '::ffff:172.17.0.1',
    userAgent: 'curl/8' });
  await log.close();
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.includes('app_open') && text.includes('deviceid=abc'), text);
  console.log('events: ok');
}

async function checkBlobs() {
  const crypto = require('crypto');
  const store = hotpath.blobs.open(`sqlite:${path.join(work, 'blobs.db')}`, { chunkSize: 1000 });
  const data = crypto.randomBytes(2500); // three chunks, the last one short
  const file = await store.put('a.bin', data, { contentType: 'application/octet-stream' });
  assert.strictEqual(file.length, 2500);
  assert.strictEqual(file.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.ok((await store.get('a.bin')).equals(data));
  store.close();
  console.log('blobs: ok (sqlite)');
}

// The checks that run, in order; one per subsystem, so adding one is one line.
const checks = [checkInstalled, checkGeo, checkMaxmindDropIn, checkRecipes, checkLimits, checkUa, checkSticky,
  checkHost, checkEvents, checkBlobs];

(async () => {
  for (const check of checks) await check();
  console.log(`smoke: ${checks.length} checks passed`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
