'use strict';
// Bounded work on hostile input through the Node API: crafted MaxMind DB files
// that fan out through pointers, and recipe files and messages past their caps.
// Each case asserts the limit's error, never the clock.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { hotpath } = require('../support/fixtures');

const hp = hotpath();

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-budget-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ------------------------------------------------------------ crafted .mmdb

function control(kind, size) {
  const first = kind <= 7 ? kind << 5 : 0;
  let head = size;
  let tail = [];
  if (size >= 65821) {
    head = 31;
    const v = size - 65821;
    tail = [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  } else if (size >= 285) {
    head = 30;
    tail = [((size - 285) >> 8) & 255, (size - 285) & 255];
  } else if (size >= 29) {
    head = 29;
    tail = [size - 29];
  }
  return Buffer.from([first | head, ...(kind > 7 ? [kind - 7] : []), ...tail]);
}
const str = (s) => Buffer.concat([control(2, Buffer.byteLength(s)), Buffer.from(s)]);
const pointer = (offset) => Buffer.from([0x20 | (3 << 3), (offset >>> 24) & 255, (offset >> 16) & 255, (offset >> 8) & 255, offset & 255]);
const u32 = (v) => Buffer.from([(v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255]);

// An IPv4 database whose record i is the value at data offset records[i],
// reached from address(i).
function mmdb(data, records) {
  const n = records.length;
  const tree = Buffer.concat(records.map((off, i) => Buffer.concat([u32(i + 1 < n ? i + 1 : n), u32(n + 16 + off)])));
  const meta = [
    [str('binary_format_major_version'), Buffer.concat([control(5, 1), Buffer.from([2])])],
    [str('binary_format_minor_version'), control(5, 0)],
    [str('build_epoch'), Buffer.concat([control(9, 1), Buffer.from([1])])],
    [str('database_type'), str('hotpath-crafted')],
    [str('description'), control(7, 0)],
    [str('ip_version'), Buffer.concat([control(5, 1), Buffer.from([4])])],
    [str('languages'), control(11, 0)],
    [str('node_count'), Buffer.concat([control(6, 1), Buffer.from([n])])],
    [str('record_size'), Buffer.concat([control(5, 1), Buffer.from([32])])],
  ];
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    data,
    Buffer.from('abcdef4d61784d696e642e636f6d', 'hex'),
    control(7, meta.length),
    ...meta.flat(),
  ]);
}
const address = (i) => {
  const ip = 2 ** (31 - i);
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.');
};

function fanOut(dir, stringBytes, fan) {
  const head = str('a'.repeat(stringBytes));
  const parts = [head, control(7, fan)];
  for (let i = 0; i < fan; i++) parts.push(str(`k${i}`), pointer(0));
  const file = path.join(dir, 'fan.mmdb');
  fs.writeFileSync(file, mmdb(Buffer.concat(parts), [head.length]));
  return file;
}

test('geo: a map of 400 pointers to one 1 MB string is refused with HP_ELIMIT naming max_record_bytes', (t) => {
  const file = fanOut(tempDir(t), 1 << 20, 400);
  const g = new hp.GeoReader(file);
  t.after(() => g.close());
  assert.throws(() => g.get(address(0)), (e) => e.code === 'HP_ELIMIT' && /max_record_bytes/.test(e.message));
  assert.throws(() => g.lookup(address(0)), { code: 'HP_ELIMIT' });
  // Inside a raised budget it decodes: every value is the one string.
  const big = new hp.GeoReader(file, { maxRecordBytes: 2 ** 30 });
  t.after(() => big.close());
  const rec = big.get(address(0));
  assert.equal(Object.keys(rec).length, 400);
  assert.ok(Object.values(rec).every((v) => v.length === 1 << 20));
});

test('geo: maxRecordNodes and cacheBytes', (t) => {
  const dir = tempDir(t);
  const parts = [];
  const records = [];
  let at = 0;
  for (let i = 0; i < 16; i++) {
    records.push(at);
    const rec = [control(7, 32)];
    for (let k = 0; k < 32; k++) rec.push(str(`k${k}`), str(String(i)));
    const b = Buffer.concat(rec);
    parts.push(b);
    at += b.length;
  }
  const file = path.join(dir, 'many.mmdb');
  fs.writeFileSync(file, mmdb(Buffer.concat(parts), records));
  const tight = new hp.GeoReader(file, { maxRecordNodes: 64 });
  t.after(() => tight.close());
  assert.throws(() => tight.get(address(3)), (e) => e.code === 'HP_ELIMIT' && /max_record_nodes/.test(e.message));
  const small = new hp.GeoReader(file, { cacheBytes: 4096, cache: { max: 1 } });
  t.after(() => small.close());
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < 16; i++) assert.equal(small.get(address(i)).k0, String(i));
  }
  for (const bad of [-1, 1.5, 'x']) {
    assert.throws(() => new hp.GeoReader(file, { maxRecordBytes: bad }), RangeError);
  }
});

// ----------------------------------------------------------------- recipes

test('recipes: caps on items, item bytes, JSON bytes and update bodies', async (t) => {
  const dir = tempDir(t);
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = recipes.define('offers', { key: 'offerId', maxItems: 3, maxItemBytes: 1024, maxJsonBytes: 64 << 10 });
  const items = (n) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ offerId: i })));
  fs.writeFileSync(path.join(dir, 'ok.json'), items(3));
  await table.load(path.join(dir, 'ok.json'));
  assert.equal(table.size, 3);
  fs.writeFileSync(path.join(dir, 'many.json'), items(4));
  await assert.rejects(table.load(path.join(dir, 'many.json')), (e) => e.code === 'HP_ELIMIT' && /max_items/.test(e.message));
  fs.writeFileSync(path.join(dir, 'wide.json.gz'), zlib.gzipSync(JSON.stringify([{ offerId: 1, x: 'x'.repeat(2000) }])));
  await assert.rejects(table.load(path.join(dir, 'wide.json.gz')), (e) => /max_item_bytes/.test(e.message));
  fs.writeFileSync(path.join(dir, 'bomb.json.gz'), zlib.gzipSync('[' + ' '.repeat(1 << 20) + ']'));
  for (const wholeInflateMax of [0, 1]) {
    await assert.rejects(table.load(path.join(dir, 'bomb.json.gz'), { wholeInflateMax }), (e) => /max_json_bytes/.test(e.message));
  }
  assert.equal(table.size, 3, 'the old table stays');
  const body = { offerId: 9, x: 'y'.repeat(2000) };
  assert.throws(() => recipes.update({ type: 'offers', id: 9, action: 'updateOrCreate', body }), { code: 'HP_ELIMIT' });
  assert.throws(() => recipes.define('bad', { key: 'id', maxItems: -1 }), RangeError);
});

test('recipes: a pub/sub message over maxMessageBytes is refused unparsed', async (t) => {
  const Redis = require('ioredis');
  const { startRedis, subscribers } = require('../support/redis');
  const redis = await startRedis();
  t.after(() => redis.cleanup());
  // PUBLISH on any node of a cluster reaches every subscriber.
  const pub = new Redis(redis.nodeUrls[0], { maxRetriesPerRequest: 1, lazyConnect: false });
  pub.on('error', () => {});
  t.after(() => pub.disconnect());
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = recipes.define('offers', { key: 'offerId', updateType: 'offer' });
  const seen = [];
  let wake = null;
  const sub = recipes.subscribe(redis.url, 'capped', { maxMessageBytes: 200 }, (err, result) => {
    seen.push(err ? err.code : result);
    if (wake) wake();
  });
  t.after(() => sub.close());
  while (subscribers(redis, 'capped') !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
  for (const name of ['n'.repeat(300), 'short']) {
    const body = JSON.stringify({ offerId: name.length, name });
    await pub.publish('capped', JSON.stringify({ type: 'offer', id: name.length, action: 'updateOrCreate', body }));
  }
  while (seen.length < 2) await new Promise((resolve) => (wake = resolve));
  assert.deepEqual(seen, ['HP_ELIMIT', 'applied']);
  assert.equal(table.size, 1);
});
