'use strict';
// canWatch over real HTTP on 127.0.0.1: every route and status on memory,
// SQLite, a real redis-server (stopped mid-run) and a 3-master Redis Cluster,
// and the over-grant hammer across cluster workers.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort, startRedis, startRedisCluster } = require('../support/redis');

const SERVER = path.resolve(__dirname, '..', '..', 'examples', 'canwatch', 'server.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startCanwatch(env) {
  const port = await freePort();
  const proc = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: '4', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  proc.stdout.on('data', (d) => (banner += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const r = await fetch(`${base}/`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('canwatch did not start');
    await sleep(50);
  }
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    });
  return { base, stop, banner: () => banner };
}

async function call(base, method, route, userId) {
  const headers = userId ? { 'x-userid': userId } : {};
  const r = await fetch(base + route, { method, headers });
  return { status: r.status, body: await r.text(), type: r.headers.get('content-type') };
}

async function newId(base, kind) {
  const r = await call(base, 'GET', `/${kind}/newId`);
  assert.equal(r.status, 200);
  const id = JSON.parse(r.body)[kind === 'users' ? 'userId' : 'streamId'];
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return id;
}

// Every route and status of the seed's contract.
async function contract(base) {
  const root = await call(base, 'GET', '/');
  assert.deepEqual([root.status, root.body], [200, 'yo']);
  const user = await newId(base, 'users');
  const streams = [];
  for (let i = 0; i < 4; i++) streams.push(await newId(base, 'streams'));
  const ok = JSON.stringify({ status: 'ok' });
  for (let i = 0; i < 3; i++) {
    const r = await call(base, i % 2 ? 'POST' : 'PATCH', `/streams/${streams[i]}/activate`, user);
    assert.deepEqual([r.status, r.body], [200, ok]);
  }
  // Re-activating an active stream: 200, no slot used.
  assert.equal((await call(base, 'PATCH', `/streams/${streams[0]}/activate`, user)).status, 200);
  const fourth = await call(base, 'PATCH', `/streams/${streams[3]}/activate`, user);
  assert.deepEqual([fourth.status, fourth.body], [403, 'Stream Limit Reached']);
  // Unknown user, unknown stream, missing header.
  for (const [route, who] of [
    [`/streams/${streams[3]}/activate`, 'no-such-user'],
    ['/streams/no-such-stream/activate', user],
    [`/streams/${streams[3]}/activate`, undefined],
    [`/streams/${streams[0]}/deactivate`, undefined],
    [`/streams/nope/deactivate`, user],
  ]) {
    const r = await call(base, 'POST', route, who);
    assert.deepEqual([r.status, r.body], [404, 'Invalid Data.'], route);
  }
  // A malformed % escape is the client's error, not the store's.
  for (const id of ['%', '%zz', 'a%e0%a4%a']) {
    const r = await call(base, 'PATCH', `/streams/${id}/activate`, user);
    assert.deepEqual([r.status, r.body], [400, 'Invalid Data.'], id);
  }
  // Deactivate frees a slot, with either method.
  assert.deepEqual((await call(base, 'POST', `/streams/${streams[1]}/deactivate`, user)).body, ok);
  assert.equal((await call(base, 'PATCH', `/streams/${streams[3]}/activate`, user)).status, 200);
  assert.equal((await call(base, 'PATCH', `/streams/${streams[1]}/activate`, user)).status, 403);
  assert.equal((await call(base, 'PATCH', `/streams/${streams[3]}/deactivate`, user)).status, 200);
  return { user, streams };
}

// 64 clients each activate 10 streams for one user at once: exactly 3 pass.
async function hammer(base) {
  const user = await newId(base, 'users');
  const streams = await Promise.all(Array.from({ length: 640 }, () => newId(base, 'streams')));
  const statuses = await Promise.all(
    Array.from({ length: 64 }, async (_, c) => {
      const out = [];
      for (let i = 0; i < 10; i++) out.push((await call(base, 'PATCH', `/streams/${streams[c * 10 + i]}/activate`, user)).status);
      return out;
    }),
  );
  const flat = statuses.flat();
  assert.equal(flat.filter((s) => s === 200).length, 3, 'exactly 3 grants');
  assert.equal(flat.filter((s) => s === 403).length, 637);
}

test('canwatch on memory (one process)', async () => {
  const cw = await startCanwatch({ CANWATCH_STORE: 'memory:' });
  try {
    await contract(cw.base);
    await hammer(cw.base);
    assert.match(cw.banner(), /one process/);
  } finally {
    await cw.stop();
  }
});

test('canwatch on SQLite across 4 workers, persisting through a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canwatch-'));
  const db = path.join(dir, 'canwatch.db');
  let cw = await startCanwatch({ CANWATCH_DB: db });
  try {
    assert.match(cw.banner(), new RegExp(`store sqlite:${db}`));
    const { user, streams } = await contract(cw.base);
    await hammer(cw.base);
    await cw.stop();
    cw = await startCanwatch({ CANWATCH_DB: db });
    // The user and its two active streams survived the restart: one slot is left.
    assert.equal((await call(cw.base, 'PATCH', `/streams/${streams[0]}/activate`, user)).status, 200);
    assert.equal((await call(cw.base, 'PATCH', `/streams/${streams[3]}/activate`, user)).status, 200);
    assert.equal((await call(cw.base, 'PATCH', `/streams/${streams[1]}/activate`, user)).status, 403);

    // A store that stays locked past the timeout answers 503 on writes.
    const { execFile } = require('node:child_process');
    const holder = execFile('python3', ['-c', `
import sqlite3, sys, time
c = sqlite3.connect(${JSON.stringify(db)}, isolation_level=None)
c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(2)`]);
    await new Promise((resolve) => holder.stdout.once('data', resolve));
    const locked = await call(cw.base, 'PATCH', `/streams/${streams[2]}/activate`, user);
    assert.deepEqual([locked.status, JSON.parse(locked.body)], [503, { status: 'ko', error: 'Service Unavailable' }]);
    await new Promise((resolve) => holder.once('exit', resolve));
    assert.equal((await call(cw.base, 'PATCH', `/streams/${streams[2]}/activate`, user)).status, 200);
  } finally {
    await cw.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('canwatch on Redis across 4 workers; Redis stopped mid-run gives 503, then recovers', async () => {
  const redis = await startRedis();
  // 1 s per store call: the hammer's 640 concurrent calls fit on a loaded
  // (or sanitizer-built) machine; the outage below is a refused connection.
  const cw = await startCanwatch({ REDIS_URL: redis.url, STORE_TIMEOUT_MS: '1000' });
  try {
    assert.match(cw.banner(), redis.cluster ? /store redis\+cluster:\/\// : /store redis:\/\//);
    const { user, streams } = await contract(cw.base);
    await hammer(cw.base);

    await redis.stop();
    const unavailable = { status: 'ko', error: 'Service Unavailable' };
    for (const [method, route, who] of [
      ['GET', '/'],
      ['GET', '/users/newId'],
      ['GET', '/streams/newId'],
      ['PATCH', `/streams/${streams[0]}/activate`, user],
      ['POST', `/streams/${streams[0]}/deactivate`, user],
    ]) {
      const t0 = Date.now();
      const r = await call(cw.base, method, route, who);
      assert.deepEqual([r.status, JSON.parse(r.body)], [503, unavailable], route);
      assert.ok(Date.now() - t0 < 3000);
    }
    await redis.restart();
    const deadline = Date.now() + 10000;
    let root;
    do {
      // Every worker reconnects by itself; ask until all answer.
      const rs = await Promise.all(Array.from({ length: 8 }, () => call(cw.base, 'GET', '/')));
      root = rs.every((r) => r.status === 200);
      if (!root) await sleep(100);
    } while (!root && Date.now() < deadline);
    assert.ok(root, 'recovered');
    // The restarted server kept nothing (no persistence): fresh ids work.
    await contract(cw.base);
  } finally {
    await cw.stop();
    await redis.cleanup();
  }
});

test('canwatch on a 3-master Redis Cluster across 4 workers: the contract and the hammer', async () => {
  const cluster = await startRedisCluster();
  // 1 s per store call, as above: on a cluster an activation reads the two
  // memberships before its script (the sets live on other slots).
  const cw = await startCanwatch({ REDIS_URL: cluster.url, STORE_TIMEOUT_MS: '1000' });
  try {
    assert.match(cw.banner(), /store redis\+cluster:\/\//);
    await contract(cw.base);
    await hammer(cw.base);
    await hammer(cw.base);
  } finally {
    await cw.stop();
    await cluster.cleanup();
  }
});
