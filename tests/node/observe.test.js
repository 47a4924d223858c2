'use strict';
// Observability through the public API: stats() of every handle kind, and
// the engine's background events on diagnostics_channel (a watched file
// replaced, a broken file, a real redis-server killed and started again).
const test = require('node:test');
const assert = require('node:assert/strict');
const dc = require('diagnostics_channel');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { hotpath, fixture } = require('../support/fixtures');
const { startRedis } = require('../support/redis');

const hp = hotpath();
const testData = (name) => fixture('maxmind', 'test-data', name);

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-observe-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Collects what `name` publishes until the test ends.
function listen(t, name) {
  const seen = [];
  const fn = (msg) => seen.push(msg);
  dc.subscribe(name, fn);
  t.after(() => dc.unsubscribe(name, fn));
  return seen;
}

async function until(cond, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Replaces `to` in one rename, as a database update does.
function replaceFile(to, bytes) {
  fs.writeFileSync(`${to}.new`, bytes);
  fs.renameSync(`${to}.new`, to);
}


// Once on a server; a cluster client holds a connection per node (and
// loses and regains each), so at least once there.
function once(redis, n, what) {
  assert.ok(n === 1 || (redis.cluster && n >= 1), `${what}: ${n}`);
}

test('diagnostics names its channels', () => {
  assert.deepEqual({ ...hp.diagnostics.channels }, {
    geoReload: 'hotpath:geo:reload',
    recipesReload: 'hotpath:recipes:reload',
    redisDisconnect: 'hotpath:redis:disconnect',
    redisReconnect: 'hotpath:redis:reconnect',
    error: 'hotpath:error',
  });
});

test('GeoReader.stats() counts lookups, and reloads reach hotpath:geo:reload and hotpath:error', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'city.mmdb');
  replaceFile(file, fs.readFileSync(testData('GeoIP2-City-Test.mmdb')));
  const reloads = listen(t, 'hotpath:geo:reload');
  const errors = listen(t, 'hotpath:error');
  const reader = new hp.GeoReader(file, { watchIntervalMs: 20 });
  t.after(() => reader.close());

  let s = reader.stats();
  assert.equal(s.lookups, 0);
  assert.equal(s.generation, 1);
  assert.equal(s.lastReloadAt, null);
  assert.equal(s.lastReloadError, null);
  for (let i = 0; i < 3; i++) assert.equal(reader.lookup('81.2.69.160').countryCode, 'GB');
  assert.equal(reader.lookup('10.0.0.1'), null);
  s = reader.stats();
  // One native search per call, and two more the first time a record is
  // met (to build the object later calls reuse).
  assert.equal(s.lookups, 6);
  assert.equal(s.cacheMisses, 1);
  assert.equal(reader.get('81.2.69.160').country.iso_code, 'GB'); // a second native call: from the record cache
  s = reader.stats();
  assert.equal(s.lookups, 8);
  assert.equal(s.cacheHits, 1);

  await new Promise((r) => setTimeout(r, 100)); // the watch has read the file once
  replaceFile(file, fs.readFileSync(testData('GeoIP2-Country-Test.mmdb')));
  await until(() => reloads.length === 1, 'a reload');
  assert.equal(reloads[0].kind, 'reload');
  assert.equal(reloads[0].handle, 'geo');
  assert.equal(reloads[0].ok, true);
  assert.equal(reloads[0].source, file);
  assert.equal(reloads[0].error, null);
  s = reader.stats();
  assert.equal(s.reloads, 1);
  assert.equal(s.generation, 2);
  assert.equal(typeof s.lastReloadAt, 'number');

  replaceFile(file, 'not a MaxMind DB');
  await until(() => reloads.length === 2, 'a failed reload');
  assert.equal(reloads[1].kind, 'reload_failed');
  assert.equal(reloads[1].ok, false);
  assert.equal(reloads[1].code, 'HP_ECORRUPT');
  assert.ok(reloads[1].error instanceof hp.HotpathError);
  assert.equal(reloads[1].error.code, 'HP_ECORRUPT');
  assert.equal(errors.length, 1);
  assert.equal(errors[0], reloads[1]);
  s = reader.stats();
  assert.equal(s.reloadFailures, 1);
  assert.deepEqual(s.lastReloadError, { code: 'HP_ECORRUPT', message: reloads[1].message });
  assert.equal(reader.lookup('81.2.69.160').countryCode, 'GB'); // the old data stays
});

test('a watched recipe file reload reaches hotpath:recipes:reload', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'offers.json');
  fs.writeFileSync(file, JSON.stringify([{ offerId: 1, name: 'a' }]));
  const reloads = listen(t, 'hotpath:recipes:reload');
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const offers = recipes.define('offers', { key: 'offerId' });
  const watch = offers.watch(file, { intervalMs: 20, debounceMs: 0 });
  t.after(() => watch.close());
  await until(() => reloads.length >= 1, 'the first load');
  replaceFile(file, JSON.stringify([{ offerId: 1, name: 'b' }]));
  await until(() => offers.get(1)?.name === 'b', 'the new data');
  const last = reloads[reloads.length - 1];
  assert.equal(last.kind, 'reload');
  assert.equal(last.handle, 'recipes');
  assert.equal(last.source, file);
});

test('Limiter.stats() counts checks; a killed and restarted redis-server reaches the redis channels', async (t) => {
  const memory = hp.openLimiter('memory:');
  for (let i = 0; i < 3; i++) memory.hitSync('k', { rate: 2, periodMs: 60000 });
  assert.deepEqual(memory.stats(), { checks: 3, granted: 2, denied: 1, storeErrors: 0, redis: null });
  memory.close();

  const redis = await startRedis();
  t.after(() => redis.cleanup());
  const lost = listen(t, 'hotpath:redis:disconnect');
  const back = listen(t, 'hotpath:redis:reconnect');
  const errors = listen(t, 'hotpath:error');
  const limiter = hp.openLimiter(redis.url);
  t.after(() => limiter.close());
  assert.equal((await limiter.acquire('u', 'a', { limit: 1, ttlMs: 60000 })).status, 'granted');
  let s = limiter.stats();
  assert.equal(s.checks, 1);
  assert.equal(s.granted, 1);
  once(redis, s.redis.connected, 'connected');
  assert.ok(s.redis.commands >= 1);
  // Nothing of ours in flight; a cluster client may be refreshing its slot map.
  assert.ok(s.redis.inFlight === 0 || redis.cluster, `inFlight ${s.redis.inFlight}`);

  await redis.stop();
  await until(() => lost.length >= 1, 'the disconnect');
  assert.equal(lost[0].handle, 'limiter');
  assert.equal(lost[0].code, 'HP_EUNAVAILABLE');
  assert.ok(redis.ports.map((p) => `127.0.0.1:${p}`).includes(lost[0].source), lost[0].source);
  assert.ok(errors.includes(lost[0]));
  await assert.rejects(limiter.acquire('u', 'b', { limit: 1, ttlMs: 60000 }), { code: 'HP_EUNAVAILABLE' });

  await redis.restart();
  await until(() => back.length >= 1, 'the reconnect');
  assert.equal(back[0].kind, 'redis_reconnect');
  assert.equal(back[0].ok, true);
  s = limiter.stats();
  once(redis, s.redis.disconnects, 'disconnects');
  once(redis, s.redis.reconnects, 'reconnects');
  assert.ok(s.storeErrors >= 1);
});

test('BlobStore.stats() counts bytes, commits and corrupt reads', async (t) => {
  const dir = tempDir(t);
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'b.db')}`);
  t.after(() => store.close());
  await store.put('a.txt', Buffer.from('hello world'));
  const back = [];
  for await (const chunk of store.createReadStream('a.txt')) back.push(chunk);
  assert.equal(Buffer.concat(back).toString(), 'hello world');
  assert.deepEqual(store.stats(), { bytesIn: 11, bytesOut: 11, commits: 1, corruptReads: 0, redis: null });
});

test('EventLog.stats() has the Redis figures of a Redis list, null for a file', async (t) => {
  const dir = tempDir(t);
  const log = new hp.events.EventLog(path.join(dir, 'events.log'));
  assert.equal(log.stats().redis, null);
  await log.close();
  const redis = await startRedis();
  t.after(() => redis.cleanup());
  const list = hp.events.EventLog.redis(redis.url);
  list.push('click x y');
  await list.flush();
  const s = list.stats();
  assert.equal(s.written, 1);
  assert.ok(s.redis.commands >= 1);
  once(redis, s.redis.connected, 'connected');
  await list.close();
});

test('nothing is built for channels nobody listens to', () => {
  // The handler runs for every event, but returns at once without subscribers.
  for (const name of Object.values(hp.diagnostics.channels)) assert.equal(dc.channel(name).hasSubscribers, false);
});
