'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('os');
const { AsyncLocalStorage } = require('node:async_hooks');
const { hotpath } = require('../support/fixtures');

const hp = hotpath();

test('snapshot has the Perfload payload fields, agreeing with node:os', () => {
  const s = hp.host.snapshot();
  assert.equal(s.osType, os.type());
  assert.equal(s.numCores, os.cpus().length);
  assert.equal(s.totalMem, os.totalmem());
  assert.equal(s.cpuModel, os.cpus()[0].model);
  assert.equal(s.usedMem, s.totalMem - s.freeMem);
  assert.ok(s.memUsage >= 0 && s.memUsage <= 1);
  assert.ok(Math.abs(s.upTime - os.uptime()) < 5);
  assert.match(s.macA, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$|^$/);
  assert.equal(s.cpuLoad, undefined);
});

test('sample measures cpuLoad over the window without blocking the loop', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const started = Date.now();
  const s = await hp.host.sample({ windowMs: 100 });
  clearInterval(timer);
  assert.ok(Date.now() - started >= 95);
  assert.ok(ticks >= 5, `the loop kept running (${ticks} ticks)`);
  assert.ok(s.cpuLoad >= 0 && s.cpuLoad <= 100);
  assert.equal(s.osType, os.type());
});

test('sample keeps AsyncLocalStorage context and runs microtasks', async () => {
  const als = new AsyncLocalStorage();
  const seen = await als.run({ id: 42 }, () => hp.host.sample({ windowMs: 5 }).then(() => als.getStore()));
  assert.deepEqual(seen, { id: 42 });
});

test('sample rejects a bad window', () => {
  assert.throws(() => hp.host.sample({ windowMs: 0 }), RangeError);
  assert.throws(() => hp.host.sample({ windowMs: 1.5 }), RangeError);
});
