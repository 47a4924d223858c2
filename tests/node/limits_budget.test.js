'use strict';
// Local budgets for Redis rate limits from Node: hits settle from the hits
// in hand, several processes never grant more than a window's limit, and
// what a process did not use goes back.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { execFile } = require('child_process');
const { hotpath } = require('../support/fixtures');
const { startRedis, nodeRedisClient } = require('../support/redis');

const hp = hotpath();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function runChild(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'limits_budget_child.js'), ...args.map(String)], (err, out, errOut) => {
      if (err) reject(new Error(`${err.message}\n${errOut}`));
      else resolve(JSON.parse(out));
    });
  });
}

test('local budget: 4 processes hammer one key, 0 over-grants in every window', async () => {
  const redis = await startRedis();
  try {
    const rate = 3000;
    const periodMs = 250;
    const runs = await Promise.all([0, 1, 2, 3].map(() => runChild([redis.url, 'hot', rate, periodMs, 64, 1500])));
    const perWindow = {};
    for (const r of runs) {
      assert.equal(r.errors, 0);
      for (const [w, n] of Object.entries(r.grants)) perWindow[w] = (perWindow[w] || 0) + n;
    }
    const windows = Object.keys(perWindow).sort();
    assert.ok(windows.length >= 5, `windows: ${windows.length}`);
    for (const w of windows) assert.ok(perWindow[w] <= rate, `window ${w}: ${perWindow[w]} grants, limit ${rate}`);
    // Most hits never waited for Redis: far fewer commands than hits.
    const hits = runs.reduce((a, r) => a + r.hits, 0);
    const commands = runs.reduce((a, r) => a + r.commands, 0);
    assert.ok(commands * 10 < hits, `${commands} commands for ${hits} hits`);
    // The full windows (not the first and last, which the run cuts) lose
    // only what the processes held unused when the window ended.
    for (const w of windows.slice(1, -1)) assert.ok(perWindow[w] >= rate * 0.75, `window ${w}: ${perWindow[w]}`);
  } finally {
    await redis.stop();
  }
});

test('local budget: hitLocal, early denial, give back on close', async () => {
  const redis = await startRedis();
  const client = await nodeRedisClient(redis);
  try {
    const spec = { rate: 10, periodMs: 3600000 };
    const a = hp.openLimiter(redis.url, { localBudget: 4, localHoldMs: 60000 });
    const b = hp.openLimiter(redis.url, { localBudget: 4, localHoldMs: 60000 });
    assert.equal(a.hitLocal('k', spec), null); // nothing leased yet
    assert.equal((await a.hit('k', spec)).allowed, true);
    const local = a.hitLocal('k', spec);
    assert.equal(local.allowed, true);
    assert.ok(local.resetAfterMs > 0 && local.resetAfterMs <= 3600000);
    for (let i = 0; i < 4; i++) assert.equal((await a.hit('k', spec)).allowed, true);
    // a used 6 and holds 2 (two blocks of 4); b gets the last 2.
    let allowedB = 0;
    for (let i = 0; i < 5; i++) allowedB += (await b.hit('k', spec)).allowed ? 1 : 0;
    assert.equal(allowedB, 2);
    const denied = b.hitLocal('k', spec);
    assert.equal(denied.allowed, false);
    assert.ok(denied.retryAfterMs > 0);
    assert.equal(Number(await client.hGet('hp:lim:{k}:window', 'n')), 10);
    // a gives its 2 back when it closes: b may use them.
    a.close();
    for (let i = 0; i < 50 && Number(await client.hGet('hp:lim:{k}:window', 'n')) !== 8; i++) await sleep(10);
    assert.equal(Number(await client.hGet('hp:lim:{k}:window', 'n')), 8);
    b.close();
    // A burst other than the rate has no meaning in a window.
    const c = hp.openLimiter(redis.url, { localBudget: 4 });
    await assert.rejects(c.hit('k', { rate: 10, burst: 3 }), { code: 'HP_EINVAL' });
    assert.throws(() => hp.openLimiter(redis.url, { localBudget: -1 }), RangeError);
    c.close();
  } finally {
    await client.quit().catch(() => {});
    await redis.stop();
  }
});
