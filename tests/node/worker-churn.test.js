'use strict';
// 100 Workers, each with a watched geo reader, a recipe set subscribed on
// Redis, a Redis limiter with hits in flight and a blob upload in flight,
// end mid-work: no crash, the process exits by itself (no handle left),
// and its RSS comes back within 10% of where it started.
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
    const { stdout } = await new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', path.join(__dirname, 'churn', 'main.js'), redis.url, geoDb, dir, '100'],
        { timeout: 200000, env: process.env },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve({ stdout: out })),
      );
    });
    const r = JSON.parse(stdout.trim());
    assert.equal(r.workers, 100);
    const growth = (r.rssEnd - r.rssStart) / r.rssStart;
    console.log(`worker churn: RSS ${(r.rssStart / 1e6).toFixed(1)} MB -> ${(r.rssEnd / 1e6).toFixed(1)} MB`);
    assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}%`);
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
