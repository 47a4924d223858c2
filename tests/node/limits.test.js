'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { AsyncLocalStorage } = require('node:async_hooks');
const { hotpath } = require('../support/fixtures');
const { startRedis, startRedisCluster, commandCalls } = require('../support/redis');

const hp = hotpath();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-limits-'));
  return { spec: `sqlite:${path.join(dir, 'limits.db')}`, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// The same contract on every backend, through the Promise API.
async function semantics(l) {
  const a = await l.acquire('u1', 's1', { limit: 3, ttlMs: 60000 });
  assert.equal(a.status, 'granted');
  assert.equal(a.ok, true);
  assert.equal(a.count, 1);
  assert.ok(a.leaseId > 0);
  const again = await l.acquire('u1', 's1', { limit: 3 });
  assert.deepEqual(again, { status: 'already_held', ok: true, count: 1, leaseId: a.leaseId });
  const b = await l.acquire('u1', 's2', { limit: 3 });
  const c = await l.acquire('u1', 's3', { limit: 3 });
  assert.ok(b.leaseId > a.leaseId && c.leaseId > b.leaseId);
  assert.equal((await l.acquire('u1', 's2', { limit: 3 })).status, 'already_held');
  const d = await l.acquire('u1', 's4', { limit: 3 });
  assert.equal(d.status, 'denied');
  assert.equal(d.ok, false);
  assert.deepEqual(d.holders.map((h) => h.resource), ['s1', 's2', 's3']);
  assert.equal(d.holders[0].leaseId, a.leaseId);
  assert.ok(d.holders[0].expiresInMs > 50000);
  assert.deepEqual((await l.holders('u1')).map((h) => h.resource), ['s1', 's2', 's3']);
  assert.equal(await l.release('u1', 's2'), true);
  assert.equal(await l.release('u1', 's2'), false);
  assert.equal((await l.acquire('u1', 's4', { limit: 3 })).status, 'granted');

  // TTL and renew.
  assert.equal((await l.acquire('ttl', 'a', { limit: 1, ttlMs: 150 })).status, 'granted');
  assert.equal((await l.acquire('ttl', 'b', { limit: 1, ttlMs: 150 })).status, 'denied');
  await sleep(100);
  assert.equal(await l.renew('ttl', 'a', { ttlMs: 300 }), true);
  await sleep(100);
  assert.equal((await l.acquire('ttl', 'b', { limit: 1, ttlMs: 150 })).status, 'denied');
  await sleep(300);
  assert.equal(await l.renew('ttl', 'a', 300), false);
  assert.equal((await l.acquire('ttl', 'b', { limit: 1, ttlMs: 150 })).status, 'granted');

  // GCRA: 10/s in bursts of 3.
  const opts = { rate: 10, periodMs: 1000, burst: 3 };
  assert.equal((await l.hit('k', opts)).remaining, 2);
  assert.equal((await l.hit('k', opts)).remaining, 1);
  const third = await l.hit('k', opts);
  assert.equal(third.allowed, true);
  assert.equal(third.remaining, 0);
  const fourth = await l.hit('k', opts);
  assert.equal(fourth.allowed, false);
  assert.ok(fourth.retryAfterMs > 0 && fourth.retryAfterMs <= 100);
  assert.equal((await l.hit('k', { ...opts, cost: 0 })).allowed, true);

  assert.equal(await l.setAdd('users', 'alice'), true);
  assert.equal(await l.setAdd('users', 'alice'), false);
  assert.equal(await l.setHas('users', 'alice'), true);
  assert.equal(await l.setHas('users', 'bob'), false);
  await l.ping();

  // An acquire that requires memberships: one atomic step.
  assert.equal(await l.setAdd('streams', 'cs1'), true);
  const known = [
    { set: 'users', member: 'alice' },
    { set: 'streams', member: 'cs1' },
  ];
  assert.equal((await l.acquire('alice', 'cs1', { limit: 1, require: known })).status, 'granted');
  const stranger = await l.acquire('bob', 'cs1', { limit: 1, require: [{ set: 'users', member: 'bob' }, known[1]] });
  assert.deepEqual(stranger, { status: 'not_member', ok: false, count: 0, leaseId: 0, missing: 0 });
  const unknown = await l.acquire('alice', 'cs9', { limit: 3, require: [known[0], { set: 'streams', member: 'cs9' }] });
  assert.equal(unknown.status, 'not_member');
  assert.equal(unknown.missing, 1);
  assert.deepEqual(await l.holders('bob'), []);
  assert.equal((await l.acquire('alice', 'cs2', { limit: 1, require: [known[0]] })).status, 'denied');
  if (l.backend !== 'redis') {
    assert.deepEqual(l.acquireSync('bob', 'cs1', { limit: 1, require: [{ set: 'users', member: 'bob' }] }), {
      status: 'not_member',
      ok: false,
      count: 0,
      leaseId: 0,
      missing: 0,
    });
  }
  assert.throws(() => l.acquireSync('alice', 'cs1', { limit: 1, require: 'users' }), TypeError);
  assert.throws(() => l.acquireSync('alice', 'cs1', { limit: 1, require: Array(9).fill(known[0]) }), TypeError);
  assert.throws(() => l.acquireSync('alice', 'cs1', { limit: 1, require: [{ set: 'users', member: '' }] }), RangeError);
}

test('memory: the contract, sync and async', async () => {
  const l = hp.openLimiter('memory:');
  assert.equal(l.backend, 'memory');
  await semantics(l);
  assert.equal(l.acquireSync('s', 'a', { limit: 1 }).status, 'granted');
  assert.equal(l.acquireSync('s', 'b', { limit: 1 }).status, 'denied');
  assert.deepEqual(l.holdersSync('s').map((h) => h.resource), ['a']);
  assert.equal(l.renewSync('s', 'a', 1000), true);
  assert.equal(l.releaseSync('s', 'a'), true);
  let allowed = 0;
  for (let i = 0; i < 20; i++) if (l.hitSync('r', { rate: 5, periodMs: 3600000 }).allowed) allowed++;
  assert.equal(allowed, 5);
  l.close();
  assert.throws(() => l.acquireSync('s', 'a', { limit: 1 }), { code: 'HP_ECLOSED' });
});

test('sqlite: the contract, on the thread pool and inline, shared between limiters', async () => {
  const db = tempDb();
  try {
    const l = hp.openLimiter(db.spec);
    assert.equal(l.backend, 'sqlite');
    await semantics(l);
    const pool = hp.openLimiter(db.spec, { sqliteInline: true, prefix: 'inline' });
    await semantics(pool);
    // Two limiters on one file see each other's leases.
    const other = hp.openLimiter(db.spec);
    assert.equal(other.acquireSync('u1', 'zz', { limit: 3 }).status, 'denied');
    assert.equal(await other.setHas('users', 'alice'), true);
    l.close();
    pool.close();
    other.close();
  } finally {
    db.cleanup();
  }
});

test('sqlite: several processes never over-grant', async () => {
  const db = tempDb();
  try {
    hp.openLimiter(db.spec).close();
    const script = `
      const hp = require(${JSON.stringify(path.resolve(__dirname, '..', '..'))});
      const l = hp.openLimiter(process.argv[1], { timeoutMs: 10000 });
      (async () => {
        let granted = 0;
        await Promise.all(Array.from({ length: 50 }, async (_, i) => {
          const r = await l.acquire('hammer', process.argv[2] + '-' + i, { limit: 3 });
          if (r.status === 'granted') granted++;
        }));
        process.stdout.write(String(granted));
      })();`;
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, p) =>
        new Promise((resolve, reject) => {
          const { execFile } = require('child_process');
          execFile(process.execPath, ['-e', script, db.spec, `p${p}`], (err, out) => (err ? reject(err) : resolve(Number(out))));
        }),
      ),
    );
    assert.equal(runs.reduce((a, b) => a + b, 0), 3);
    const l = hp.openLimiter(db.spec);
    assert.equal((await l.holders('hammer')).length, 3);
    l.close();
  } finally {
    db.cleanup();
  }
});

test('redis: the contract, one round trip per check, down then recovery', async () => {
  const redis = await startRedis();
  try {
    // 500 ms: short enough to see the outage answered quickly, long enough
    // for the checks before it on a loaded machine. The outage itself is a
    // refused connection: answered within the 2 s it always had.
    const l = hp.openLimiter(redis.url, { timeoutMs: 500 });
    assert.equal(l.backend, 'redis');
    // The JS thread runs the engine's loop: a synchronous Redis call there
    // could never get its answer, so it refuses at once.
    for (const call of [
      () => l.acquireSync('u', 'a', { limit: 1 }),
      () => l.hitSync('k', { rate: 1 }),
      () => l.holdersSync('u'),
      () => l.releaseSync('u', 'a'),
    ]) {
      assert.throws(call, { code: 'HP_EINVAL', message: /would block the engine loop/ });
    }
    await semantics(l);

    // Exactly one command per lease check, counted by the server; the rate
    // hits of one loop turn share one.
    const calls = (cmd) => commandCalls(redis, cmd);
    let before = calls('evalsha');
    const evalBefore = calls('eval');
    await Promise.all(Array.from({ length: 100 }, (_, i) => l.acquire('rt', `s${i}`, { limit: 3 })));
    assert.equal(calls('evalsha') - before, 100);
    before = calls('evalsha');
    const hits = await Promise.all(Array.from({ length: 300 }, (_, i) => l.hit(`rt${i % 3}`, { rate: 50, periodMs: 3600000 })));
    const batched = calls('evalsha') - before;
    // Each decided exactly: 50 of the 100 hits on each key pass.
    for (let k = 0; k < 3; k++) assert.equal(hits.filter((r, i) => i % 3 === k && r.allowed).length, 50);
    if (!redis.cluster) {
      assert.ok(batched >= 3 && batched < 30, `${batched} EVALSHA for 300 hits`);
      assert.equal(calls('eval') - evalBefore, 0);
    } else {
      // On a cluster each hit is its own EVALSHA (a batch would span
      // slots), and a master that had not run the rate script yet answers
      // NOSCRIPT to each one in flight, resent with EVAL; once every
      // master has it, none is.
      assert.equal(batched, 300);
      before = calls('evalsha');
      const evals = calls('eval');
      await Promise.all(Array.from({ length: 300 }, (_, i) => l.hit(`rt${i % 3}`, { rate: 50, periodMs: 3600000 })));
      assert.equal(calls('evalsha') - before, 300);
      assert.equal(calls('eval') - evals, 0);
    }

    // Concurrency from one process: 200 racing acquires, 3 grants.
    const racing = await Promise.all(Array.from({ length: 200 }, (_, i) => l.acquire('race', `s${i}`, { limit: 3 })));
    assert.equal(racing.filter((r) => r.status === 'granted').length, 3);

    await redis.stop();
    const t0 = Date.now();
    await assert.rejects(l.acquire('u9', 'a', { limit: 3 }), { code: 'HP_EUNAVAILABLE' });
    await assert.rejects(l.ping(), { code: 'HP_EUNAVAILABLE' });
    assert.ok(Date.now() - t0 < 2000);
    await redis.restart();
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await l.ping().then(() => true, () => false);
      if (!ok) await sleep(50);
    }
    assert.ok(ok, 'the limiter reconnected by itself');
    assert.equal((await l.acquire('u9', 'a', { limit: 3 })).status, 'granted');
    l.close();
  } finally {
    await redis.cleanup();
  }
});

test('promises keep AsyncLocalStorage context', async () => {
  const l = hp.openLimiter('memory:');
  const als = new AsyncLocalStorage();
  const seen = await als.run({ id: 7 }, () => l.acquire('als', 'a', { limit: 1 }).then(() => als.getStore()));
  assert.deepEqual(seen, { id: 7 });
  l.close();
});

test('bad arguments throw TypeError, RangeError or HotpathError', () => {
  assert.throws(() => hp.openLimiter(42), TypeError);
  assert.throws(() => hp.openLimiter('mysql://x'), { code: 'HP_EINVAL', message: /unknown spec/ });
  assert.throws(() => hp.openLimiter('memory:', { timeoutMs: 0 }), RangeError);
  const l = hp.openLimiter('memory:');
  assert.throws(() => l.acquireSync('', 'a', { limit: 1 }), RangeError);
  assert.throws(() => l.acquireSync('u', 'a'), TypeError);
  assert.throws(() => l.acquireSync('u', 'a', { limit: 0 }), RangeError);
  assert.throws(() => l.acquireSync('u', 'x'.repeat(513), { limit: 1 }), RangeError);
  assert.throws(() => l.acquireSync(1, 'a', { limit: 1 }), TypeError);
  assert.throws(() => l.hitSync('k', { rate: 0 }), RangeError);
  assert.throws(() => l.hitSync('k', { rate: 2, burst: 2, cost: 3 }), RangeError);
  l.close();
  l.close();
});

test('limits on a 3-master Redis Cluster (redis+cluster://)', async () => {
  const cluster = await startRedisCluster();
  try {
    const l = hp.openLimiter(cluster.url, { timeoutMs: 1000 });
    assert.equal(l.backend, 'redis');
    await semantics(l);
    // Subjects spread over the masters: each holds some keys.
    await Promise.all(Array.from({ length: 30 }, (_, i) => l.acquire(`spread${i}`, 'a', { limit: 1 })));
    for (const port of cluster.ports) {
      const n = Number(execFileSync('redis-cli', ['-p', String(port), 'DBSIZE']).toString());
      assert.ok(n > 0, `master ${port} holds no key`);
    }
    l.close();
  } finally {
    await cluster.cleanup();
  }
});
