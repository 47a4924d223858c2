'use strict';
// 100 Workers, each with a watched geo reader, a recipe set subscribed on
// Redis, a Redis limiter with hits in flight and a blob upload in flight,
// end mid-work: no crash, the process exits by itself (no handle left),
// and its RSS comes back within 10% of where it started. The start is
// taken after as many Workers that only load hotpath (node's own Worker
// churn grows RSS by a third or more before it levels off: churn/main.js).
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRedis } = require('../support/redis');
const { fixture } = require('../support/fixtures');

test('100 Workers ending mid-work leave no crash, no handle and no growth', { timeout: 240000 }, async () => {
  const redis = await startRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-churn-'));
  try {
    const geoDb = path.join(dir, 'city.mmdb');
    fs.copyFileSync(fixture('maxmind', 'test-data', 'GeoIP2-City-Test.mmdb'), geoDb);
    const churn = () =>
      new Promise((resolve, reject) => {
        execFile(
          process.execPath,
          ['--expose-gc', path.join(__dirname, 'churn', 'main.js'), redis.url, geoDb, dir, '100'],
          { timeout: 200000, env: process.env },
          (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(JSON.parse(out))),
        );
      });
    const r = await churn();
    assert.equal(r.workers, 100);
    const mb = (n) => (n / 1e6).toFixed(1);
    console.log(
      `worker churn: RSS ${mb(r.rssStart)} -> ${mb(r.rssEnd)} MB ` +
        `(before it, Workers opening nothing: ${mb(r.rssBeforePlain)} -> ${mb(r.rssStart)} MB)`,
    );
    // Under AddressSanitizer freed memory waits in its quarantine (256 MB by
    // default), so RSS says nothing about leaks there: LSan does.
    const asan = /libasan/.test(process.env.LD_PRELOAD || '');
    if (!asan) assert.ok(r.rssEnd < 1.1 * r.rssStart, `RSS grew from ${mb(r.rssStart)} to ${mb(r.rssEnd)} MB`);
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
