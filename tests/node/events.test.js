'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const { hotpath, root } = require('../support/fixtures');

const hp = hotpath();
const { events } = hp;
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:56.0) Gecko/20100101 Firefox/56.0';

function tmpFile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-events-'));
  return { file: path.join(dir, 'events.log'), done: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const lines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('events.clientIp follows x-push-ip > x-forwarded-for > x-real-ip > socket', () => {
  const all = { 'x-push-ip': '1.1.1.1', 'x-forwarded-for': '2.2.2.2, 10.0.0.1', 'x-real-ip': '3.3.3.3' };
  assert.equal(events.clientIp(all, '4.4.4.4'), '1.1.1.1');
  assert.equal(events.clientIp({ ...all, 'x-push-ip': '' }, '4.4.4.4'), '2.2.2.2');
  assert.equal(events.clientIp({ 'x-real-ip': '3.3.3.3' }, '4.4.4.4'), '3.3.3.3');
  assert.equal(events.clientIp({}, '::ffff:127.0.0.1'), '::ffff:127.0.0.1');
  assert.equal(events.clientIp({}), undefined);
  assert.throws(() => events.clientIp(null), TypeError);
});

test('events.ipHex gives the seed ip= value', () => {
  assert.equal(events.ipHex('::ffff:172.17.0.1'), 'ffffac110001');
  assert.equal(events.ipHex('192.168.64.2'), 'c0a84002');
  assert.throws(() => events.ipHex('nope'), (e) => e.code === 'HP_EINVAL' && /not an IP/.test(e.message));
});

test('events.format reproduces the seed documentation byte for byte', () => {
  const msg = events.format({
    eventType: 'app_open',
    query: 'deviceid=abcdf&ts=123456&referrer=website',
    host: '192.168.64.2',
    ip: '::ffff:172.17.0.1',
    userAgent: FIREFOX_MAC,
    receivedMs: 1510826008003,
    processedMs: 1510826008269,
  });
  assert.equal(
    msg,
    'app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=192.168.64.2&ts=1510826008003' +
      '&ip=ffffac110001&klag=266&country=XX&city=XX deviceid=abcdf&ts=123456&referrer=website',
  );
  const empty = events.format({ eventType: 'a', country: 'DE', city: 'Köln' });
  assert.match(empty, /&country=DE&city=K%C3%B6ln e$/);
  assert.throws(() => events.format({ eventType: '' }), TypeError);
  assert.throws(() => events.format({ eventType: 'x', query: 'q'.repeat(9000) }), (e) => e.code === 'HP_EINVAL');
});

test('EventLog appends, flushes and closes without losing events', async () => {
  const t = tmpFile();
  const log = new events.EventLog(t.file, { batchEvents: 7 });
  for (let i = 0; i < 100; i++) log.append({ eventType: `e${i}`, query: `i=${i}`, userAgent: FIREFOX_MAC, ip: '10.0.0.1' });
  log.push('raw line');
  await log.flush();
  const s = log.stats();
  assert.equal(s.appended, 101);
  assert.equal(s.written, 101);
  assert.equal(s.pending, 0);
  assert.equal(s.dropped, 0);
  for (let i = 0; i < 10; i++) log.push(`late ${i}`); // buffered, written by close
  await log.close();
  const got = lines(t.file);
  assert.equal(got.length, 111);
  assert.match(got[0], /^e0 type=Desktop&browser=Firefox&.*&ip=0a000001&.* i=0$/);
  assert.equal(got[100], 'raw line');
  assert.equal(got[110], 'late 9');
  assert.throws(() => log.push('x'), (e) => e.code === 'HP_ECLOSED');
  assert.throws(() => log.stats(), (e) => e.code === 'HP_ECLOSED');
  t.done();
});

test('EventLog rotates by size', async () => {
  const t = tmpFile();
  const log = new events.EventLog(t.file, { batchEvents: 4, rotateBytes: 500, keepFiles: 3, fsync: 'none' });
  for (let i = 0; i < 100; i++) log.push(`message number ${String(i).padStart(4, '0')} ........`);
  await log.close();
  assert.ok(fs.existsSync(`${t.file}.1`) && fs.existsSync(`${t.file}.3`) && !fs.existsSync(`${t.file}.4`));
  assert.match(lines(t.file).at(-1), /0099/);
  t.done();
});

test('EventLog on a failing file refuses past maxPending with HP_EUNAVAILABLE', async () => {
  const log = new events.EventLog('/dev/full', { batchEvents: 5, batchMs: 5, maxPending: 20 });
  let refused = 0;
  for (let i = 0; i < 30; i++) {
    try {
      log.push('x');
    } catch (e) {
      assert.equal(e.code, 'HP_EUNAVAILABLE');
      refused++;
    }
  }
  assert.equal(refused, 10);
  await assert.rejects(log.flush(), (e) => e.hpCode === 'HP_EIO');
  assert.equal(log.stats().dropped, 10);
  await assert.rejects(log.close(), (e) => e.hpCode === 'HP_EIO');
});

test('EventLog validates its options', () => {
  assert.throws(() => new events.EventLog(''), TypeError);
  assert.throws(() => new events.EventLog('/tmp/x', { fsync: 'always' }), RangeError);
  assert.throws(() => new events.EventLog('/tmp/x', { batchEvents: 0 }), RangeError);
  assert.throws(() => new events.EventLog('/nonexistent-dir/x/e.log'), (e) => e.code === 'ENOENT' && e.hpCode === 'HP_EIO');
});

test('an EventLog left open in a worker is written when the worker exits', async () => {
  const t = tmpFile();
  const code = `
    const hp = require(${JSON.stringify(root)});
    const log = new hp.events.EventLog(${JSON.stringify(t.file)}, { batchEvents: 100000, batchMs: 60000 });
    for (let i = 0; i < 50; i++) log.push('from worker ' + i);
  `;
  await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('error', reject);
    w.once('exit', resolve);
  });
  assert.equal(lines(t.file).length, 50);
  t.done();
});

test('EventLog.redis RPUSHes batches to a list; an outage is bounded and reported', async () => {
  const { startRedis, freePort, nodeRedisClient, clusterMode } = require('../support/redis');
  const port = await freePort();
  // The server (or the cluster's first node) comes up on this port later.
  const log = events.EventLog.redis(`${clusterMode ? 'redis+cluster' : 'redis'}://127.0.0.1:${port}`, {
    key: 'tracker:events',
    batchEvents: 10,
    batchMs: 10,
    maxPending: 50,
    connectTimeoutMs: 100,
  });
  // No server yet: 50 wait, the rest are refused and counted.
  let refused = 0;
  for (let i = 0; i < 60; i++) {
    try {
      log.append({ eventType: 'open', query: `i=${i}`, userAgent: FIREFOX_MAC });
    } catch (e) {
      assert.equal(e.code, 'HP_EUNAVAILABLE');
      refused++;
    }
  }
  assert.equal(refused, 10);
  await assert.rejects(log.flush(), (e) => e.code === 'HP_EUNAVAILABLE');
  assert.equal(log.stats().dropped, 10);
  const server = await startRedis(port);
  try {
    const deadline = Date.now() + 10000;
    while (log.stats().written < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    log.push('last');
    await log.close();
    const client = await nodeRedisClient(server);
    const list = await client.lRange('tracker:events', 0, -1);
    await client.quit();
    assert.equal(list.length, 51);
    assert.match(list[0], /^open type=Desktop&browser=Firefox&/);
    assert.equal(list.at(-1), 'last');
  } finally {
    await server.cleanup();
  }
});
