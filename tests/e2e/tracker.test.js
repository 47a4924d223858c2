'use strict';
// examples/tracker over real HTTP on 127.0.0.1: every request answers 200 at
// once; tracking calls become the seed's consumer messages (client IP from
// headers, geo from the bundled GeoIP2-City-Test database, device from the
// User-Agent) in the log files or a Redis list; a clean shutdown writes out
// everything buffered; a Redis outage buffers up to MAX_PENDING, then drops
// and counts.
const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { startRedis } = require('../support/redis');
const { startTracker, request, stats, until, LIVE_USER, LIVE_PASSWORD } = require('../support/tracker');

const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10.13; rv:56.0) Gecko/20100101 Firefox/56.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 11_0 like Mac OS X) AppleWebKit/604.1.38 (KHTML, like Gecko) Version/11.0 Mobile/15A372 Safari/604.1';
const OK = '{"status":"ok"}';

// `eventType meta rawQuery` with ts= and klag= taken out (they depend on the clock).
const MESSAGE = /^(\S+) (type=[^ ]*&ts=)(\d+)(&ip=[0-9a-f]*&klag=)(\d+)(&[^ ]*) (\S+)$/;
function split(line) {
  const m = MESSAGE.exec(line);
  assert.ok(m, `not a consumer message: ${JSON.stringify(line)}`);
  return { text: `${m[1]} ${m[2]}<ts>${m[4]}<klag>${m[6]} ${m[7]}`, ts: Number(m[3]), klag: Number(m[5]) };
}

// Each case: the request, and the message the seed's format gives for it.
const cases = [
  {
    path: '/t/app_open?deviceid=abcdf&ts=123456&referrer=website',
    headers: { 'x-push-ip': '81.2.69.160', 'x-forwarded-for': '89.160.20.112', 'x-real-ip': '216.160.83.56', 'user-agent': FIREFOX_MAC },
    message:
      'app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=tracker.example&ts=<ts>&ip=510245a0&klag=<klag>&country=GB&city=London deviceid=abcdf&ts=123456&referrer=website',
  },
  {
    path: '/t/purchase?item=42&price=9.99',
    headers: { 'x-forwarded-for': '89.160.20.112, 81.2.69.160', 'x-real-ip': '216.160.83.56', 'user-agent': SAFARI_IPHONE },
    message:
      'purchase type=Mobile&browser=Mobile%20Safari&engine=WebKit&version=11.0&os=iOS&host=tracker.example&ts=<ts>&ip=59a01470&klag=<klag>&country=SE&city=Link%C3%B6ping item=42&price=9.99',
  },
  {
    path: '/t/view',
    headers: { 'x-real-ip': '216.160.83.56', 'user-agent': FIREFOX_MAC },
    message:
      'view type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=tracker.example&ts=<ts>&ip=d8a05338&klag=<klag>&country=US&city=Milton e',
  },
  {
    // No header: the socket address, which the test database does not know.
    path: '/t/ping?',
    headers: {},
    message: 'ping type=Desktop&browser=&engine=&version=&os=&host=tracker.example&ts=<ts>&ip=7f000001&klag=<klag>&country=XX&city=XX e',
  },
  {
    path: '/t/a?x=1',
    headers: { 'x-push-ip': '10.1.2.3' },
    message: 'a type=Desktop&browser=&engine=&version=&os=&host=tracker.example&ts=<ts>&ip=0a010203&klag=<klag>&country=XX&city=XX x=1',
  },
  {
    // The seed's own example address.
    path: '/t/app_open?deviceid=abcdf',
    headers: { 'x-push-ip': '::ffff:172.17.0.1', 'user-agent': FIREFOX_MAC },
    message:
      'app_open type=Desktop&browser=Firefox&engine=Gecko&version=56.0&os=Mac&host=tracker.example&ts=<ts>&ip=ffffac110001&klag=<klag>&country=XX&city=XX deviceid=abcdf',
  },
  {
    // A header that is not an address: no ip, no geo, still one message.
    path: '/t/odd?q=a%20b',
    headers: { 'x-push-ip': 'not-an-ip' },
    message: 'odd type=Desktop&browser=&engine=&version=&os=&host=tracker.example&ts=<ts>&ip=&klag=<klag>&country=XX&city=XX q=a%20b',
  },
];

test('tracking calls answer 200 and become the seed consumer messages in the log files', { timeout: 60000 }, async (t) => {
  const tracker = await startTracker({ workers: 2 });
  t.after(() => tracker.cleanup());

  const windows = new Map();
  for (const c of cases) {
    const before = Date.now();
    const res = await request(tracker.port, c.path, { headers: { host: 'tracker.example', ...c.headers } });
    const after = Date.now();
    assert.equal(res.status, 200, c.path);
    assert.equal(res.body, OK);
    assert.equal(res.headers['content-type'], 'application/json');
    windows.set(c.message.split(' ')[0] + c.path, [before, after]);
  }
  // Any other GET path answers the same and tracks nothing; so do other methods.
  for (const [method, p] of [['GET', '/'], ['GET', '/event?d=1'], ['GET', '/favicon.ico'], ['GET', '/t/'], ['POST', '/t/posted?x=1'], ['HEAD', '/t/head']]) {
    const res = await request(tracker.port, p, { method });
    assert.equal(res.status, 200, `${method} ${p}`);
    if (method !== 'HEAD') assert.equal(res.body, OK);
  }

  assert.equal(await tracker.stop(), 0);
  const lines = tracker.readSink();
  assert.equal(lines.length, cases.length, lines.join('\n'));
  const got = lines.map(split);
  assert.deepEqual(got.map((g) => g.text).sort(), cases.map((c) => c.message).sort());
  // ts is when the request arrived; klag is a non-negative delay.
  for (const c of cases) {
    const g = got.find((x) => x.text === c.message);
    const [before, after] = windows.get(c.message.split(' ')[0] + c.path);
    assert.ok(g.ts >= before && g.ts <= after, `${c.path}: ts ${g.ts} outside [${before}, ${after}]`);
    assert.ok(Number.isInteger(g.klag) && g.klag >= 0);
  }
  assert.match(tracker.out.text, new RegExp(`events -> ${tracker.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/events-<worker>\\.log`));
});

async function fire(port, n, { concurrency = 16, type = 'load' } = {}) {
  let next = 0;
  const one = async () => {
    while (next < n) {
      const i = next++;
      const res = await request(port, `/t/${type}?seq=${i}`, { headers: { 'x-push-ip': '81.2.69.160' } });
      assert.equal(res.status, 200);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
}

function seqs(lines, type = 'load') {
  return lines
    .filter((l) => l.startsWith(`${type} `))
    .map((l) => Number(/ seq=(\d+)$/.exec(l)[1]))
    .sort((a, b) => a - b);
}
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

// Cleanups run last-in first-out (the Redis client before the server it talks to).
function cleanups(t) {
  const fns = [];
  t.after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return (fn) => fns.push(fn);
}

async function redisClient(url) {
  const client = createClient({ url });
  client.on('error', () => {}); // the outage test stops the server under it
  await client.connect();
  return client;
}

test('batches by FLUSH_EVENTS, and SIGTERM writes out everything still buffered', { timeout: 60000 }, async (t) => {
  // One worker, batches of 10, no timer flush within the test.
  const one = await startTracker({ workers: 1, env: { FLUSH_EVENTS: '10', FLUSH_MS: '600000' } });
  t.after(() => one.cleanup());
  await fire(one.port, 25, { concurrency: 1 });
  await until(() => one.readSink().length === 20, 10000, 'two full batches');
  assert.equal(one.readSink().length, 20);
  assert.equal(await one.stop(), 0);
  assert.deepEqual(seqs(one.readSink()), range(0, 25));

  // Two workers, nothing flushed before the shutdown.
  const two = await startTracker({ workers: 2, env: { FLUSH_EVENTS: '100000', FLUSH_MS: '600000' } });
  t.after(() => two.cleanup());
  await fire(two.port, 400);
  const before = await stats(two.port);
  assert.equal(before.appended, 400);
  assert.equal(before.pending, 400);
  assert.equal(before.workers, 2);
  assert.deepEqual(two.readSink(), []);
  assert.equal(await two.stop(), 0);
  const lines = two.readSink();
  assert.deepEqual(seqs(lines), range(0, 400));
  for (const l of lines) assert.match(l, /^load type=Desktop&.*&ip=510245a0&klag=\d+&country=GB&city=London seq=\d+$/);
});

test('/live/stats needs the live credentials', async (t) => {
  const tracker = await startTracker({ workers: 1 });
  t.after(() => tracker.cleanup());
  assert.equal((await request(tracker.port, '/live/stats')).status, 401);
  assert.equal((await request(tracker.port, '/live/stats', { auth: `${LIVE_USER}:wrong` })).status, 401);
  assert.equal((await request(tracker.port, '/live/stats', { auth: `${LIVE_USER}:${LIVE_PASSWORD}` })).status, 200);
});

test('no default live password: one is made and printed when LIVE_PASSWORD is unset', async (t) => {
  const tracker = await startTracker({ workers: 2, env: { LIVE_PASSWORD: '' } });
  t.after(() => tracker.cleanup());
  const made = /\/live \(user admin, password (\S{16})\)/.exec(tracker.out.text);
  assert.ok(made, tracker.out.text);
  assert.equal((await request(tracker.port, '/live/stats', { auth: `${LIVE_USER}:tracker` })).status, 401);
  // Both workers know it.
  for (let i = 0; i < 4; i++) assert.equal((await request(tracker.port, '/live/stats', { auth: `${LIVE_USER}:${made[1]}` })).status, 200);
});

test('the live WebSocket: same origin only, credentials from basic auth or the page cookie, no token in the URL', async (t) => {
  const WebSocket = require('ws');
  const tracker = await startTracker({ workers: 1 });
  t.after(() => tracker.cleanup());
  const basic = `Basic ${Buffer.from(`${LIVE_USER}:${LIVE_PASSWORD}`).toString('base64')}`;
  // The status the upgrade answers, or 101 when it opened.
  const open = (headers, query = '') =>
    new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${tracker.port}/live/ws${query}`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve('error'));
    });
  const self = `http://127.0.0.1:${tracker.port}`;

  const page = await request(tracker.port, '/live', { auth: `${LIVE_USER}:${LIVE_PASSWORD}` });
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.body, /token/);
  const setCookie = [].concat(page.headers['set-cookie'])[0];
  assert.match(setCookie, /^tracker_live=\d+\.[0-9a-f]{64}; Path=\/live; HttpOnly; SameSite=Strict/);
  const cookie = setCookie.split(';')[0];

  assert.equal(await open({ authorization: basic }), 101);
  assert.equal(await open({ authorization: basic, origin: self }), 101);
  assert.equal(await open({ cookie, origin: self }), 101);
  assert.equal(await open({}), 401);
  assert.equal(await open({ origin: self }, `?token=${cookie.split('=')[1]}`), 401);
  assert.equal(await open({ cookie: 'tracker_live=1.00' }), 401);
  for (const origin of ['http://evil.example', `http://127.0.0.1:${tracker.port + 1}`, 'null']) {
    assert.equal(await open({ authorization: basic, origin }), 403, origin);
    assert.equal(await open({ cookie, origin }), 403, origin);
  }
});

test('REDIS_URL: messages go to a Redis list', { timeout: 60000 }, async (t) => {
  const defer = cleanups(t);
  const redis = await startRedis();
  defer(() => redis.cleanup());
  const tracker = await startTracker({ workers: 2, env: { REDIS_URL: redis.url, REDIS_KEY: 'pushtech:events', FLUSH_MS: '20' } });
  defer(() => tracker.cleanup());
  const client = await redisClient(redis.url);
  defer(() => client.quit());
  assert.match(tracker.out.text, /events -> redis list 'pushtech:events'/);

  const c = cases[0];
  const res = await request(tracker.port, c.path, { headers: { host: 'tracker.example', ...c.headers } });
  assert.equal(res.body, OK);
  await fire(tracker.port, 200);
  await until(async () => (await client.lLen('pushtech:events')) === 201, 10000, '201 messages in Redis');
  const list = await client.lRange('pushtech:events', 0, -1);
  assert.deepEqual(seqs(list), range(0, 200));
  assert.deepEqual(list.filter((l) => l.startsWith('app_open ')).map((l) => split(l).text), [c.message]);
  assert.equal(await tracker.stop(), 0);
  assert.deepEqual(tracker.readSink(), [], 'no log file is written with REDIS_URL');
});

test('REDIS_URL: a Redis outage buffers up to MAX_PENDING, then drops and counts', { timeout: 60000 }, async (t) => {
  const defer = cleanups(t);
  const redis = await startRedis();
  defer(() => redis.cleanup());
  const tracker = await startTracker({
    workers: 1,
    env: { REDIS_URL: redis.url, FLUSH_EVENTS: '10', FLUSH_MS: '10', MAX_PENDING: '40' },
  });
  defer(() => tracker.cleanup());
  let client = await redisClient(redis.url);

  await fire(tracker.port, 5, { type: 'before' });
  await until(async () => (await client.lLen('tracker:events')) === 5, 10000, 'the first events in Redis');
  await until(async () => (await stats(tracker.port)).pending === 0, 10000, 'nothing pending');
  await client.disconnect();

  // Redis goes away (no persistence: the list goes with it). The tracker
  // still answers every call at once; 40 events wait, the rest are dropped.
  await redis.stop();
  await fire(tracker.port, 60, { concurrency: 1, type: 'during' });
  const s = await stats(tracker.port);
  assert.equal(s.appended, 45);
  assert.equal(s.pending, 40);
  assert.equal(s.dropped, 20);
  assert.equal(s.refused, 20);

  // Redis is back: the 40 buffered events arrive, none of the dropped ones.
  await redis.restart();
  client = await redisClient(redis.url);
  defer(() => client.quit());
  await until(async () => (await stats(tracker.port)).pending === 0, 20000, 'the buffer written out');
  const list = await client.lRange('tracker:events', 0, -1);
  assert.deepEqual(seqs(list, 'during'), range(0, 40));
  assert.equal(list.length, 40);
  const after = await stats(tracker.port);
  assert.equal(after.written, 45);
  assert.equal(after.dropped, 20);
  assert.equal(await tracker.stop(), 0);
});
