'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('child_process');
const http = require('http');
const path = require('path');
const readline = require('readline');
const { hotpath } = require('../support/fixtures');

const hp = hotpath();
const sticky = require('hotpath/cluster');
const app = path.join(__dirname, '..', 'support', 'sticky-app.js');

// Starts the sticky test cluster; resolves once every worker is ready.
function startCluster(env) {
  const proc = spawn(process.execPath, [app], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const waiters = [];
  const events = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const ev = JSON.parse(line);
    events.push(ev);
    for (const w of waiters.splice(0)) w();
  });
  const next = (pred) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.find(pred);
        if (found) return resolve(found);
        if (proc.exitCode !== null) return reject(new Error('cluster exited'));
        waiters.push(check);
      };
      check();
    });
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', resolve);
      proc.kill('SIGTERM');
    });
  return next((e) => e.event === 'ready').then(({ port }) => ({ port, next, stop, events }));
}

// One request on a fresh connection from `localAddress`.
function whoAmI(port, localAddress) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
  });
}

const sources = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);

test('hotpath/cluster resolves through the package exports', () => {
  assert.equal(sticky, require('../../bindings/node/lib/cluster.js'));
  assert.equal(typeof sticky.setupPrimary, 'function');
  assert.equal(typeof sticky.setupWorker, 'function');
  assert.equal(sticky.workerIndex(), null);
});

test('setupPrimary and setupWorker reject bad use', () => {
  assert.throws(() => sticky.setupPrimary(), TypeError);
  assert.throws(() => sticky.setupPrimary({ port: -1 }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 70000 }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 0, workers: 0 }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 0, workers: 1.5 }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 0, mode: 'ring' }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 0, onWorkerExit: 3 }), TypeError);
  assert.throws(() => sticky.setupWorker(http.createServer()), /worker forked by setupPrimary/);
});

test('each source address lands on the worker pick() names, every time (modulo)', async () => {
  const workers = 3;
  const expected = sources.map((ip) => hp.sticky.pick(ip, workers));
  // The addresses must spread over every worker for the test to mean anything.
  assert.equal(new Set(expected).size, workers);
  const c = await startCluster({ WORKERS: String(workers) });
  try {
    const pidOf = new Map();
    for (let round = 0; round < 4; round++) {
      for (const [i, ip] of sources.entries()) {
        const r = await whoAmI(c.port, ip);
        assert.equal(r.remote, ip);
        assert.equal(r.index, expected[i], `${ip} round ${round}`);
        if (!pidOf.has(r.index)) pidOf.set(r.index, r.pid);
        assert.equal(r.pid, pidOf.get(r.index), `index ${r.index} is one process`);
      }
    }
    assert.equal(new Set(pidOf.values()).size, workers);
  } finally {
    await c.stop();
  }
});

test('jump mode routes by pick(ip, n, "jump") as well', async () => {
  const workers = 2;
  const expected = sources.map((ip) => hp.sticky.pick(ip, workers, 'jump'));
  assert.equal(new Set(expected).size, workers);
  const c = await startCluster({ WORKERS: String(workers), MODE: 'jump' });
  try {
    for (let round = 0; round < 2; round++) {
      for (const [i, ip] of sources.entries()) assert.equal((await whoAmI(c.port, ip)).index, expected[i]);
    }
  } finally {
    await c.stop();
  }
});

test('a killed worker is re-forked in its slot and its clients come back to it', async () => {
  const workers = 3;
  const c = await startCluster({ WORKERS: String(workers) });
  try {
    const victim = sources[0];
    const before = await whoAmI(c.port, victim);
    const sameSlot = sources.filter((ip) => hp.sticky.pick(ip, workers) === before.index);
    const others = sources.filter((ip) => hp.sticky.pick(ip, workers) !== before.index);
    const otherPids = new Map();
    for (const ip of others) otherPids.set(ip, (await whoAmI(c.port, ip)).pid);

    process.kill(before.pid, 'SIGKILL');
    const exit = await c.next((e) => e.event === 'exit' && e.pid === before.pid);
    assert.equal(exit.index, before.index);

    // Requests right after the crash wait for the new worker of that slot.
    for (let round = 0; round < 3; round++) {
      for (const ip of sameSlot) {
        const r = await whoAmI(c.port, ip);
        assert.equal(r.index, before.index);
        assert.notEqual(r.pid, before.pid);
      }
      for (const ip of others) assert.equal((await whoAmI(c.port, ip)).pid, otherPids.get(ip), 'others untouched');
    }
    assert.equal(c.events.filter((e) => e.event === 'exit').length, 1);
  } finally {
    await c.stop();
  }
});

test('connections made right after a worker is killed are served by its replacement', async () => {
  const workers = 2;
  const c = await startCluster({ WORKERS: String(workers) });
  try {
    const ip = sources[1];
    let pid = (await whoAmI(c.port, ip)).pid;
    for (let i = 0; i < 5; i++) {
      process.kill(pid, 'SIGKILL');
      // No wait for the exit: the primary may still think the worker alive.
      const r = await whoAmI(c.port, ip);
      assert.equal(r.index, hp.sticky.pick(ip, workers));
      assert.notEqual(r.pid, pid);
      pid = r.pid;
    }
  } finally {
    await c.stop();
  }
});
