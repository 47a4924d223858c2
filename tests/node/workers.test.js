'use strict';
// The addon keeps one engine per environment: Workers start and stop with
// work pending and the process neither crashes nor hangs.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { root } = require('../support/fixtures');

const body = `
const { parentPort } = require('node:worker_threads');
const hp = require(${JSON.stringify(root)});
const fp = hp.fingerprint32('hello world');
// A sample still pending when the worker is terminated.
hp.host.sample({ windowMs: 2000 }).catch(() => {});
hp.host.sample({ windowMs: 5 }).then((s) => parentPort.postMessage({ fp, load: s.cpuLoad }));
`;

test('many Workers load the addon, settle promises, and end with work pending', async () => {
  for (let round = 0; round < 4; round++) {
    const workers = Array.from({ length: 6 }, () => new Worker(body, { eval: true }));
    const results = await Promise.all(
      workers.map((w) => new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      })),
    );
    for (const r of results) {
      assert.equal(r.fp, 430397466);
      assert.ok(r.load >= 0);
    }
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    assert.equal(codes.length, 6);
  }
});

test('a Worker that exits on its own with a sample pending ends cleanly', async () => {
  const w = new Worker(`require(${JSON.stringify(root)}).host.sample({ windowMs: 60000 }); process.exit(0);`,
    { eval: true });
  const code = await new Promise((resolve) => w.once('exit', resolve));
  assert.equal(code, 0);
});
