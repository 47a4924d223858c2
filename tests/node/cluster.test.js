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

// Starts the test cluster; resolves once every worker is ready.
function startCluster(env) {
  return spawnCluster(env).then((c) => c.next((e) => e.event === 'ready').then(({ port }) => ({ ...c, port })));
}

// Starts the test cluster; `next(pred)` resolves the first event that matches.
function spawnCluster(env) {
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
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    return exited;
  };
  return Promise.resolve({ proc, next, stop, exited, events });
}

// One request; resolves {status, body} or rejects on a reset.
function get(port, pathname) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
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
  assert.throws(() => sticky.setupPrimary({ port: 0, signals: 'yes' }), TypeError);
  assert.throws(() => sticky.setupPrimary({ mode: 'plain', workers: 0 }), RangeError);
  assert.throws(() => sticky.setupPrimary({ port: 0, env: 'A=1' }), /env must be an object or a function/);
  assert.throws(() => sticky.setupPrimary({ port: 0, workers: 2, env: (i) => (i ? null : {}) }), /env\(1\) must return an object/);
  assert.throws(() => sticky.setupPrimary({ mode: 'modulo' }), RangeError); // a sticky primary needs its port
  assert.throws(() => sticky.setupWorker(http.createServer()), /worker forked by setupPrimary/);
});

test('workersFromEnv reads WORKERS, else counts the CPUs', () => {
  assert.equal(sticky.workersFromEnv({ WORKERS: '3' }), 3);
  assert.ok(sticky.workersFromEnv({}) >= 1);
  assert.equal(sticky.workersFromEnv({ WORKERS: '' }), sticky.workersFromEnv({}));
  for (const bad of ['0', '1.5', 'many', '2000']) assert.throws(() => sticky.workersFromEnv({ WORKERS: bad }), RangeError);
});

test('plain mode: the workers share the port and node spreads the connections', async () => {
  const c = await startCluster({ WORKERS: '3', MODE: 'plain' });
  try {
    const seen = new Map();
    for (let i = 0; i < 30; i++) {
      const r = JSON.parse((await get(c.port, '/')).body);
      seen.set(r.index, r.pid);
    }
    assert.deepEqual([...seen.keys()].sort(), [0, 1, 2]);
    assert.equal(new Set(seen.values()).size, 3);
  } finally {
    await c.stop();
  }
});

test('askAll: every worker answers a worker\'s question, errors and timeouts come back', async () => {
  const c = await startCluster({ WORKERS: '3', MODE: 'plain' });
  try {
    const pids = c.events.filter((e) => e.event === 'worker').sort((a, b) => a.index - b.index).map((e) => e.pid);
    const { answers } = JSON.parse((await get(c.port, '/ask?m=who')).body);
    assert.deepEqual(answers, pids.map((pid, index) => ({ index, reply: { pid, index } })));
    const failed = JSON.parse((await get(c.port, '/ask?m=boom')).body).answers;
    assert.deepEqual(failed.map((a) => a.error), pids.map((pid) => `no, says ${pid}`));
    const late = JSON.parse((await get(c.port, '/ask?m=slow&t=300')).body);
    assert.equal(late.error, '2 of 3 workers answered within 300 ms');
    // The late answer that arrives after the round is dropped; the next round is whole.
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(JSON.parse((await get(c.port, '/ask?m=who')).body).answers.length, 3);
  } finally {
    await c.stop();
  }
});

test('plain mode: a crashed worker is forked again in its slot and serves', async () => {
  const c = await startCluster({ WORKERS: '2', MODE: 'plain' });
  try {
    const first = c.events.filter((e) => e.event === 'worker');
    assert.equal(first.length, 2);
    const victim = first.find((e) => e.index === 1);
    process.kill(victim.pid, 'SIGKILL');
    const exit = await c.next((e) => e.event === 'exit' && e.pid === victim.pid);
    assert.deepEqual([exit.index, exit.signal], [1, 'SIGKILL']);
    const again = await c.next((e) => e.event === 'worker' && e.index === 1 && e.pid !== victim.pid);
    const pids = new Set();
    for (let i = 0; i < 20; i++) pids.add(JSON.parse((await get(c.port, '/')).body).pid);
    assert.ok(pids.has(again.pid), 'the new worker answers');
    assert.ok(!pids.has(victim.pid));
  } finally {
    await c.stop();
  }
});

test('plain mode: env(index) gives each slot its own environment, again after a restart', async () => {
  const c = await startCluster({ WORKERS: '3', MODE: 'plain', SLOT_ENV: '1' });
  try {
    const names = async () => {
      const seen = new Map(); // pid -> answer
      for (let i = 0; i < 30; i++) {
        const r = JSON.parse((await get(c.port, '/')).body);
        seen.set(r.pid, r);
      }
      return [...seen.values()];
    };
    const before = await names();
    assert.deepEqual(before.map((r) => r.index).sort(), [0, 1, 2]);
    for (const r of before) assert.equal(r.name, `slot-${r.index}`);
    const victim = before.find((r) => r.index === 2);
    process.kill(victim.pid, 'SIGKILL');
    const again = await c.next((e) => e.event === 'worker' && e.index === 2 && e.pid !== victim.pid);
    let found = null;
    for (let i = 0; i < 5 && !found; i++) found = (await names()).find((r) => r.pid === again.pid);
    assert.ok(found, 'the new worker answers');
    assert.equal(found.name, 'slot-2');
  } finally {
    await c.stop();
  }
});

test('plain mode: a port that cannot be opened rejects ready and stops the cluster', async () => {
  const blocker = http.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  try {
    const c = await spawnCluster({ WORKERS: '2', MODE: 'plain', PORT: String(blocker.address().port) });
    const failed = await c.next((e) => e.event === 'failed');
    assert.match(failed.message, /EADDRINUSE/);
    assert.deepEqual(await c.exited, { code: 1, signal: null });
  } finally {
    blocker.close();
  }
});

for (const mode of ['plain', 'modulo']) {
  test(`${mode} mode: SIGTERM answers the requests in progress, runs each worker's close, and exits 0`, async () => {
    const c = await startCluster({ WORKERS: '2', MODE: mode });
    const slow = get(c.port, '/slow?ms=700');
    const started = await c.next((e) => e.event === 'request');
    c.proc.kill('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).pid, started.pid);
    assert.deepEqual(await c.exited, { code: 0, signal: null });
    const workers = c.events.filter((e) => e.event === 'worker').map((e) => e.pid);
    const closed = c.events.filter((e) => e.event === 'closed').map((e) => e.pid);
    assert.deepEqual(closed.sort(), workers.sort(), 'every worker ran its close hook');
    assert.ok(c.events.filter((e) => e.event === 'exit').every((e) => e.signal === null), 'none was killed');
  });
}

test('a worker that does not finish draining is killed after killTimeoutMs', async () => {
  const c = await startCluster({ WORKERS: '1', MODE: 'plain', KILL_MS: '300', DRAIN_MS: '60000' });
  const hung = get(c.port, '/hang').catch((err) => err);
  const started = await c.next((e) => e.event === 'request');
  const t0 = Date.now();
  c.proc.kill('SIGTERM');
  assert.deepEqual(await c.exited, { code: 0, signal: null });
  const exit = c.events.find((e) => e.event === 'exit');
  assert.deepEqual([exit.pid, exit.signal], [started.pid, 'SIGKILL']);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal((await hung).code, 'ECONNRESET');
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
