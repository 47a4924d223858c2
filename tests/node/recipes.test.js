'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { Worker } = require('worker_threads');
const { AsyncLocalStorage } = require('node:async_hooks');
const { hotpath, root } = require('../support/fixtures');

const hp = hotpath();

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hp-recipes-node-'));
}

function writeAtomic(file, text) {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function offers(n, extra = {}) {
  const out = [];
  for (let i = 1; i <= n; i++) {
    out.push({
      offerId: i,
      name: `Offer ${i}`,
      geoRules: JSON.stringify({ geo: [{ country: 'US', include: true }] }),
      ...extra,
    });
  }
  return out;
}

function offerTable(recipes) {
  return recipes.define('offers', { key: 'offerId', jsonFields: ['geoRules', 'customLpRules'], updateType: 'offer' });
}

test('loads plain and gzip files; get returns a deeply frozen record with rules parsed', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  fs.writeFileSync(path.join(dir, 'o.json'), JSON.stringify(offers(3)));
  fs.writeFileSync(path.join(dir, 'o.json.gz'), zlib.gzipSync(JSON.stringify(offers(5))));

  const stats = await table.load(path.join(dir, 'o.json'));
  assert.equal(stats.size, 3);
  assert.equal(stats.loads, 1);
  assert.equal(table.size, 3);
  const o = table.get(2);
  assert.deepEqual(o, { offerId: 2, name: 'Offer 2', geoRules: { geo: [{ country: 'US', include: true }] } });
  assert.ok(Object.isFrozen(o));
  assert.ok(Object.isFrozen(o.geoRules.geo[0]));
  assert.equal(table.get('2'), o, 'a decimal string finds an integer key');
  assert.equal(table.get(99), null);
  assert.equal(table.has(3), true);
  assert.equal(table.has(4), false);
  assert.equal(table.json(1), '{"offerId":1,"name":"Offer 1","geoRules":{"geo":[{"country":"US","include":true}]}}');

  const gz = await table.load(path.join(dir, 'o.json.gz'), { wholeInflateMax: 1 });
  assert.equal(gz.size, 5);
  assert.ok(gz.fileBytes < gz.jsonBytes);
  assert.deepEqual(table.keys().sort((a, b) => a - b), [1, 2, 3, 4, 5]);
  assert.equal([...table].length, 5);
  assert.equal(table.stats().loads, 2);
});

test('a second get of an unchanged record returns the same object, also across a reload', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify(offers(3)));
  await table.load(file);
  const a = table.get(1);
  const b = table.get(2);
  assert.equal(table.get(1), a);
  const changed = offers(3);
  changed[1].name = 'renamed';
  fs.writeFileSync(file, JSON.stringify(changed));
  await table.load(file);
  assert.equal(table.get(1), a, 'unchanged record: same object');
  assert.notEqual(table.get(2), b);
  assert.equal(table.get(2).name, 'renamed');
});

test('a change is seen by the very next get, whatever JS runs first; other tables keep their objects', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const other = recipes.define('campaigns', { key: 'campaignId' });
  const file = path.join(dir, 'o.json');
  const cfile = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify(offers(2)));
  fs.writeFileSync(cfile, JSON.stringify([{ campaignId: 7, name: 'c' }]));
  await table.load(file);
  await other.load(cfile);
  const c = other.get(7);
  assert.equal(table.get(1).name, 'Offer 1');
  // A point update: the next get sees it, the other table's object stays.
  const body = { offerId: 1, name: 'updated' };
  const stamp = Date.now() + 1000;
  assert.equal(recipes.update({ type: 'offer', id: 1, action: 'updateOrCreate', timestamp: stamp, body }), 'applied');
  assert.equal(table.get(1).name, 'updated');
  assert.equal(other.get(7), c);
  // A reload by a watch: its callback already sees the new records.
  assert.equal(table.get(2).name, 'Offer 2');
  const seen = await new Promise((resolve, reject) => {
    let calls = 0;
    const w = table.watch(file, { intervalMs: 20, debounceMs: 0 }, (err) => {
      if (err) {
        w.close();
        reject(err);
      } else if (++calls === 1) {
        // The first load (same content): the old object is still current.
        assert.equal(table.get(2).name, 'Offer 2');
        writeAtomic(file, JSON.stringify(offers(2, { name: 'reloaded' })));
      } else {
        w.close();
        resolve(table.get(2).name);
      }
    });
  });
  assert.equal(seen, 'reloaded');
  assert.equal(table.get(1).name, 'updated', 'the newer point update survives the reload');
  assert.equal(other.get(7), c);
});

test('malformed files reject with the byte offset and keep the old table', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify(offers(2)));
  await table.load(file);
  fs.writeFileSync(file, '[{"offerId":1},{"offerId":2,}]');
  await assert.rejects(table.load(file), (err) => {
    assert.ok(err instanceof hp.HotpathError);
    assert.equal(err.code, 'HP_ECORRUPT');
    assert.match(err.message, /byte 28: expected a string key/);
    return true;
  });
  await assert.rejects(table.load(path.join(dir, 'nope.json')), { code: 'ENOENT', hpCode: 'HP_EIO', syscall: 'open' });
  assert.equal(table.size, 2);
  assert.equal(table.stats().loadFailures, 2);
  fs.writeFileSync(file, '[{"offerId":1},{"name":"no key"},{"offerId":"x"},5,{"offerId":1,"v":2}]');
  const s = await table.load(file);
  assert.equal(s.skipped, 3);
  assert.equal(s.duplicates, 1);
  assert.deepEqual(table.get(1), { offerId: 1, v: 2 });
});

test('argument checks throw TypeError and RangeError', () => {
  const recipes = new hp.Recipes();
  const table = offerTable(recipes);
  assert.throws(() => table.get({}), TypeError);
  assert.throws(() => table.get(1.5), RangeError);
  assert.throws(() => table.load(''), TypeError);
  assert.throws(() => recipes.define('x', {}), TypeError);
  assert.throws(() => recipes.define('x', { key: 'id', keyType: 'float' }), RangeError);
  assert.throws(() => recipes.define('offers', { key: 'id' }), { code: 'HP_EINVAL' });
  recipes.close();
  recipes.close();
  assert.throws(() => table.get(1), { code: 'HP_ECLOSED' });
});

test('point updates apply, go stale, and a reload never undoes a newer one', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify(offers(3)));
  await table.load(file, { timestamp: 1000 });
  const body = JSON.stringify({ offerId: 2, name: 'updated', geoRules: '{"geo":[]}' });
  assert.equal(recipes.update({ type: 'offer', id: 2, action: 'updateOrCreate', timestamp: 2000, body }), 'applied');
  assert.deepEqual(table.get(2), { offerId: 2, name: 'updated', geoRules: { geo: [] } });
  assert.equal(recipes.update({ type: 'offer', id: 2, action: 'delete', timestamp: 1500 }), 'stale');
  assert.equal(recipes.update(JSON.stringify({ type: 'offer', id: 3, action: 'delete', timestamp: 2000 })), 'applied');
  assert.equal(table.get(3), null);
  assert.throws(() => recipes.update({ type: 'nope', id: 1, action: 'delete' }), { code: 'HP_EINVAL' });
  assert.throws(() => recipes.update({ type: 'offer', id: 1, action: 'updateOrCreate', timestamp: 9e12, body: '{' }), {
    code: 'HP_ECORRUPT',
  });
  await table.load(file, { timestamp: 1800 });
  assert.equal(table.get(2).name, 'updated');
  assert.equal(table.get(3), null);
  await table.load(file, { timestamp: 2500 });
  assert.equal(table.get(2).name, 'Offer 2');
  assert.equal(table.size, 3);
});

test('match evaluates campaign target rules and offer geo rules', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const campaigns = recipes.define('campaigns', { key: 'campaignId', jsonFields: ['targetRules'], updateType: 'campaign' });
  const targetRules = {
    redirectTo: 'https://lp.example/mobile',
    rules: [
      {
        include: true,
        filterGroups: [
          { conditions: [{ dimension: 'country', value: 'US' }, { dimension: 'deviceType', value: 'mobile' }] },
          { conditions: [{ dimension: 'country', value: ['CA', 'MX'] }] },
        ],
      },
      { include: false, filterGroups: [{ conditions: [{ dimension: 'browser', value: 'Opera' }] }] },
    ],
  };
  const file = path.join(dir, 'c.json');
  fs.writeFileSync(file, JSON.stringify([{ campaignId: 40, targetRules: JSON.stringify(targetRules) }, { campaignId: 41 }]));
  await campaigns.load(file);
  assert.deepEqual(campaigns.match(40, { country: 'us', deviceType: 'Mobile' }), {
    geo: 'none',
    target: 'pass',
    rule: 0,
    redirectTo: 'https://lp.example/mobile',
  });
  assert.equal(campaigns.match(40, { country: 'us', deviceType: 'desktop' }).target, 'fail');
  assert.equal(campaigns.match(40, { country: 'MX' }).target, 'pass');
  assert.equal(campaigns.match(40, { country: 'MX', browser: 'opera' }).target, 'fail');
  assert.equal(campaigns.match(40, { country: 'MX', browser: 'opera' }).rule, 1);
  assert.equal(campaigns.match(41, { country: 'MX' }).target, 'none');
  assert.equal(campaigns.match(42, {}), null);

  const table = offerTable(recipes);
  fs.writeFileSync(path.join(dir, 'o.json'), JSON.stringify(offers(1)));
  await table.load(path.join(dir, 'o.json'));
  assert.equal(table.match(1, { country: 'US' }).geo, 'pass');
  assert.equal(table.match(1, { country: 'DE' }).geo, 'fail');
  assert.equal(table.match(1).geo, 'fail');
});

test('watch reloads on change, reports a vanished file and keeps the table', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const file = path.join(dir, 'o.json');
  writeAtomic(file, JSON.stringify(offers(2)));
  const events = [];
  let wake = null;
  const next = () => new Promise((resolve) => (wake = resolve));
  let waiting = next();
  const w = table.watch(file, { intervalMs: 100, debounceMs: 20 }, (err, stats) => {
    events.push(err ? err.code : stats.size);
    wake();
  });
  await waiting;
  assert.deepEqual(events, [2]);
  waiting = next();
  writeAtomic(file, JSON.stringify(offers(4)));
  await waiting;
  assert.equal(table.size, 4);
  waiting = next();
  fs.rmSync(file);
  await waiting;
  assert.equal(events.at(-1), 'ENOENT');
  assert.equal(table.size, 4);
  waiting = next();
  writeAtomic(file, JSON.stringify(offers(1)));
  await waiting;
  assert.equal(table.size, 1);
  w.close();
  w.close();
});

test('loads keep AsyncLocalStorage context', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  fs.writeFileSync(path.join(dir, 'o.json'), '[]');
  const als = new AsyncLocalStorage();
  const seen = await als.run({ id: 7 }, () => table.load(path.join(dir, 'o.json')).then(() => als.getStore()));
  assert.deepEqual(seen, { id: 7 });
});

test('a watch callback that throws is an uncaught exception, as from fs.watch', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'o.json');
  fs.writeFileSync(file, JSON.stringify([{ offerId: 1 }]));
  // In a child process: the test runner treats an uncaught exception as a failure of its own.
  const code = `
    const hp = require(${JSON.stringify(root)});
    const r = new hp.Recipes();
    const t = r.define('offers', { key: 'offerId' });
    process.on('uncaughtException', (err) => {
      console.log('uncaught: ' + err.message);
      r.close();
    });
    let calls = 0;
    t.watch(${JSON.stringify(file)}, { persistent: false }, () => {
      calls++;
      if (calls === 1) throw new Error('thrown by onReload');
    });
    setTimeout(() => console.log('calls: ' + calls), 300);
  `;
  const { execFileSync } = require('child_process');
  const out = execFileSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 10000 });
  assert.match(out, /^uncaught: thrown by onReload$/m);
  assert.match(out, /^calls: 1$/m);
});

test('workers load their own tables and exit with loads in flight', async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'o.json'), JSON.stringify(offers(5000)));
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    const hp = require(${JSON.stringify(root)});
    const r = new hp.Recipes();
    const t = r.define('offers', { key: 'offerId' });
    t.watch(workerData.file, { intervalMs: 50 }, () => {});
    t.load(workerData.file).then((s) => parentPort.postMessage(s.size));
    if (workerData.exitEarly) process.exit(0);
  `;
  const run = (exitEarly) =>
    new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { file: path.join(dir, 'o.json'), exitEarly } });
      let size = null;
      w.on('message', (m) => {
        size = m;
        w.terminate();
      });
      w.on('error', reject);
      w.on('exit', () => resolve(size));
    });
  assert.equal(await run(false), 5000);
  for (let i = 0; i < 4; i++) assert.equal(await run(true), null);
});

test('subscribe applies every message of a Redis channel and resubscribes after a restart', async (t) => {
  const Redis = require('ioredis');
  const { startRedis, subscribers } = require('../support/redis');
  const redis = await startRedis();
  t.after(() => redis.cleanup());
  // PUBLISH on any node of a cluster reaches every subscriber.
  const pub = new Redis(redis.nodeUrls[0], { maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: false });
  pub.on('error', () => {});
  t.after(() => pub.disconnect());
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = offerTable(recipes);
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'o.json'), JSON.stringify(offers(1)));
  await table.load(path.join(dir, 'o.json'), { timestamp: 1000 });

  const seen = [];
  let wake = null;
  const sub = recipes.subscribe(redis.url, 'recipes', { reconnectMaxMs: 100 }, (err, result) => {
    seen.push(err ? err.code : result);
    if (wake) wake();
  });
  const waitFor = async (n) => {
    while (seen.length < n) await new Promise((resolve) => (wake = resolve));
  };
  const subscribed = async () => {
    while (subscribers(redis, 'recipes') !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  const message = (id, timestamp, name) =>
    JSON.stringify({ type: 'offer', id, action: 'updateOrCreate', timestamp, body: JSON.stringify({ offerId: id, name }) });

  await subscribed();
  const before = table.get(1);
  // (On a cluster PUBLISH counts only the subscribers of the node it ran on.)
  const reached = await pub.publish('recipes', message(1, Date.now() + 1000, 'from redis'));
  if (!redis.cluster) assert.equal(reached, 1);
  await waitFor(1);
  assert.deepEqual(seen, ['applied']);
  assert.notEqual(table.get(1), before, 'a cached record revalidates after a message');
  assert.equal(table.get(1).name, 'from redis');

  await pub.publish('recipes', message(1, 1, 'too old'));
  await pub.publish('recipes', '{"type":"offer"}');
  await waitFor(3);
  assert.deepEqual(seen, ['applied', 'stale', 'HP_EINVAL']);

  await redis.restart();
  await subscribed();
  await pub.publish('recipes', JSON.stringify({ type: 'offer', id: 2, action: 'updateOrCreate', timestamp: Date.now() + 2000, body: { offerId: 2, name: 'after restart' } }));
  await waitFor(4);
  assert.equal(seen[3], 'applied');
  assert.equal(table.get(2).name, 'after restart');
  const { redis: figures, ...counts } = sub.stats();
  assert.deepEqual(counts, { messages: 4, applied: 2, stale: 1, errors: 1, resyncs: 1 });
  // Once on a server; on a cluster the subscriber may move between nodes.
  const once = (n) => n === 1 || (redis.cluster && n >= 1);
  assert.ok(once(figures.disconnects) && once(figures.reconnects), JSON.stringify(figures));

  sub.close();
  while (subscribers(redis, 'recipes') !== 0) await new Promise((resolve) => setTimeout(resolve, 20));
  sub.close();
  assert.equal(sub.stats().messages, 4);
});

test('subscribe checks its arguments', () => {
  const recipes = new hp.Recipes();
  try {
    assert.throws(() => recipes.subscribe('', 'c'), TypeError);
    assert.throws(() => recipes.subscribe('redis://127.0.0.1', ''), TypeError);
    assert.throws(() => recipes.subscribe('http://x', 'c'), (err) => err.code === 'HP_EINVAL');
    assert.throws(() => recipes.subscribe('redis://127.0.0.1', 'c', { reconnectMaxMs: -1 }), RangeError);
  } finally {
    recipes.close();
  }
  assert.throws(() => recipes.subscribe('redis://127.0.0.1', 'c'), (err) => err.code === 'HP_ECLOSED');
});

// The traffic generator's data written by JSON.stringify: a record's text is
// JSON.stringify of the row with its jsonFields parsed, byte for byte.
test('the records of generated traffic data write back the text JSON.stringify gives', async (t) => {
  const dir = tempDir();
  const recipes = new hp.Recipes();
  t.after(() => {
    recipes.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const { execFileSync } = require('child_process');
  execFileSync(process.execPath, [
    path.join(root, 'examples', 'traffic', 'data', 'generate.js'),
    '--offers', '30000', '--campaigns', '10', '--seed', '11', '--out', dir,
  ], { stdio: 'ignore' });
  const file = path.join(dir, 'offersRecipe.json.gz');
  const rows = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)));
  const table = offerTable(recipes);
  for (const opts of [{}, { wholeInflateMax: 1 }]) {
    const stats = await table.load(file, opts);
    assert.equal(stats.size, rows.length);
    let differing = 0;
    for (const row of rows) {
      const expected = JSON.stringify({
        ...row,
        geoRules: JSON.parse(row.geoRules),
        customLpRules: JSON.parse(row.customLpRules),
      });
      if (table.json(row.offerId) !== expected) differing++;
    }
    assert.equal(differing, 0);
  }
});
