'use strict';
// AbortSignal on every Promise API and Symbol.dispose / Symbol.asyncDispose
// on every handle, on real files and stores.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { hotpath, fixture } = require('../support/fixtures');

const hp = hotpath();
const dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
const cityDb = fixture('maxmind', 'test-data', 'GeoIP2-City-Test.mmdb');

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-idioms-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Rejects with node's AbortError shape, the reason as its cause.
async function assertAborted(promise, reason) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'ABORT_ERR');
    assert.ok(err instanceof hp.AbortError);
    assert.equal(err.cause, reason);
    return true;
  });
}

function aborted(reason = new Error('gave up')) {
  const c = new AbortController();
  c.abort(reason);
  return c.signal;
}

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('geo.open: an aborted signal rejects at once; one aborted while opening rejects and the reader is closed', async () => {
  const reason = new Error('first');
  await assertAborted(hp.openGeo(cityDb, { signal: aborted(reason) }), reason);
  await assertAborted(hp.openGeo(fs.readFileSync(cityDb), { signal: aborted(reason) }), reason);

  const c = new AbortController();
  const opening = hp.openGeo(cityDb, { signal: c.signal });
  c.abort('late');
  await assert.rejects(opening, (err) => err.name === 'AbortError' && err.cause === 'late');

  // Not aborted: the reader works, and the signal's listener is gone.
  const ok = new AbortController();
  const reader = await hp.openGeo(cityDb, { signal: ok.signal });
  assert.equal(reader.lookup('81.2.69.160').countryCode, 'GB');
  ok.abort();
  assert.equal(reader.lookup('81.2.69.160').countryCode, 'GB');
  reader.close();

  await assert.rejects(hp.geo.open(cityDb, { signal: 'no' }), TypeError);
});

test('limiter: every Promise method honours signal; a lease granted after the abort is given back', async (t) => {
  const dir = tmpdir(t);
  for (const spec of ['memory:', `sqlite:${path.join(dir, 'lim.db')}`]) {
    const limiter = hp.openLimiter(spec);
    const reason = new Error(spec);
    const signal = aborted(reason);
    await assertAborted(limiter.acquire('s', 'r', { limit: 1, signal }), reason);
    await assertAborted(limiter.release('s', 'r', { signal }), reason);
    await assertAborted(limiter.renew('s', 'r', { ttlMs: 1000, signal }), reason);
    await assertAborted(limiter.holders('s', { signal }), reason);
    await assertAborted(limiter.hit('k', { rate: 1, signal }), reason);
    await assertAborted(limiter.setAdd('set', 'm', { signal }), reason);
    await assertAborted(limiter.setHas('set', 'm', { signal }), reason);
    await assertAborted(limiter.ping({ signal }), reason);
    // Nothing ran: the hit budget and the slots are untouched.
    assert.equal(limiter.hitSync('k', { rate: 1 }).allowed, true);
    assert.deepEqual(limiter.holdersSync('s'), []);
    assert.equal(await limiter.setHas('set', 'm'), false);

    const c = new AbortController();
    const pending = limiter.acquire('s', 'late', { limit: 1, ttlMs: 60000, signal: c.signal });
    c.abort('late');
    await assert.rejects(pending, { name: 'AbortError' });
    // Whenever the late acquire runs, its slot comes free again (its TTL is a minute).
    await until(() => limiter.acquireSync('s', 'other', { limit: 1 }).status !== 'denied', `${spec}: the slot`);
    assert.deepEqual(limiter.holdersSync('s').map((h) => h.resource), ['other']);
    limiter[dispose]();
    await assert.rejects(limiter.ping(), { code: 'HP_ECLOSED' });
  }
});

test('blobs: put aborts its upload, get stops reading, the rest reject at once', async (t) => {
  const dir = tmpdir(t);
  const store = hp.openBlobs(`sqlite:${path.join(dir, 'b.db')}`, { chunkSize: 1024 });
  const reason = new Error('stop');
  const signal = aborted(reason);
  await assertAborted(store.put('pre', 'x', { signal }), reason);
  assert.equal(await store.exists('pre'), false);

  const big = Buffer.alloc(4 << 20, 7);
  const c = new AbortController();
  const putting = store.put('big', big, { signal: c.signal });
  c.abort(reason);
  await assertAborted(putting, reason);
  await until(() => true, 'a loop turn');
  assert.equal(await store.exists('big'), false);

  await store.put('small', 'hello');
  await assertAborted(store.get('small', { signal }), reason);
  const g = new AbortController();
  const getting = store.get('small', { signal: g.signal });
  g.abort(reason);
  await assertAborted(getting, reason);
  assert.equal((await store.get('small', { signal: new AbortController().signal })).toString(), 'hello');

  await assertAborted(store.stat('small', { signal }), reason);
  await assertAborted(store.exists('small', { signal }), reason);
  await assertAborted(store.list({ signal }), reason);
  await assertAborted(store.files({ signal }).next(), reason);
  await assertAborted(store.delete('small', { signal }), reason);
  await assertAborted(store.gc({ signal }), reason);
  assert.equal(await store.exists('small'), true); // the aborted delete did not run

  await store[asyncDispose]();
  await assert.rejects(store.stat('small'), { code: 'HP_ECLOSED' });
});

test('events, recipes and host waits honour signal', async (t) => {
  const dir = tmpdir(t);
  const reason = new Error('enough');
  const signal = aborted(reason);

  const log = new hp.events.EventLog(path.join(dir, 'events.log'));
  log.push('one');
  await assertAborted(log.flush({ signal }), reason);
  await log.flush();
  assert.equal(fs.readFileSync(path.join(dir, 'events.log'), 'utf8'), 'one\n');
  await log[asyncDispose]();
  assert.throws(() => log.push('two'), { code: 'HP_ECLOSED' });

  const recipes = new hp.Recipes();
  const table = recipes.define('offers', { key: 'offerId' });
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify([{ offerId: 1 }]));
  await assertAborted(table.load(file, { signal }), reason);
  assert.equal(table.get(1), null); // never started
  assert.equal((await table.load(file, { signal: new AbortController().signal })).items, 1);

  const c = new AbortController();
  const sampling = hp.host.sample({ windowMs: 5000, signal: c.signal });
  setTimeout(() => c.abort(reason), 10);
  const started = Date.now();
  await assertAborted(sampling, reason);
  assert.ok(Date.now() - started < 4000, 'the abort ended the wait');
  recipes[dispose]();
  assert.throws(() => table.get(1), { code: 'HP_ECLOSED' });
});

test('Symbol.dispose closes every handle; watches and subscriptions stop', async (t) => {
  const dir = tmpdir(t);
  const reader = new hp.GeoReader(cityDb);
  reader[dispose]();
  assert.throws(() => reader.lookup('81.2.69.160'), { code: 'HP_ECLOSED' });
  const again = new hp.GeoReader(cityDb);
  await again[asyncDispose]();
  assert.throws(() => again.get('81.2.69.160'), { code: 'HP_ECLOSED' });

  const maxmind = require('../../bindings/node/lib/maxmind');
  const mm = await maxmind.open(cityDb);
  mm[dispose]();
  assert.throws(() => mm.get('81.2.69.160'), { code: 'HP_ECLOSED' });

  const recipes = new hp.Recipes();
  const table = recipes.define('offers', { key: 'offerId' });
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify([{ offerId: 1 }]));
  const reloads = [];
  const watch = table.watch(file, { intervalMs: 20, debounceMs: 1 }, (err, stats) => reloads.push(err ?? stats));
  await until(() => reloads.length === 1, 'the first load');
  watch[dispose]();
  fs.writeFileSync(file, JSON.stringify([{ offerId: 1 }, { offerId: 2 }]));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(reloads.length, 1, 'no reload after dispose');
  assert.equal(table.has(2), false);
  recipes.close();
});
