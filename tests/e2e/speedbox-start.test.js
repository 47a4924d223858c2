'use strict';
// examples/speedbox/start.js: the whole deployment under one hotpath/cluster
// supervisor, over real HTTP on 127.0.0.1. Servers and balancer answer, a
// killed one comes back on its port, and SIGTERM lets an upload in progress
// finish before everything exits 0.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDeployment, upload, download, sha256 } = require('../support/speedbox');
const { waitForPort } = require('../support/redis');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const query = (name) => `/download?filename=${encodeURIComponent(name)}`;

// Waits until `pred()` holds (checked every 50 ms, up to 15 s).
async function until(pred, what) {
  for (let i = 0; i < 300; i++) {
    const v = await pred();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('start.js: servers and balancer under one supervisor, restarted when they die, stopped gracefully', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedbox-e2e-start-'));
  const spec = `sqlite:${path.join(dir, 'store', 'speedbox.db')}`;
  const box = await startDeployment({ spec, servers: 2, env: { HEALTH_INTERVAL_MS: '100' } });
  t.after(async () => {
    await box.stop('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Two servers on FIRST_SERVER_PORT.., the balancer on PORT, one store.
  const workers = await until(() => (box.workers().length === 3 ? box.workers() : null), 'three workers');
  assert.deepEqual(workers.map((w) => `${w.role}:${w.port}`).sort(), [
    `balancer:${box.port}`,
    `server:${box.serverPorts[0]}`,
    `server:${box.serverPorts[1]}`,
  ].sort());
  for (const p of box.serverPorts) {
    const r = await download(`http://127.0.0.1:${p}`, '/', {}, { keep: true });
    assert.equal(JSON.parse(r.body).msg, `resp from server listening at port : ${p}`);
  }
  const data = crypto.randomBytes(600 * 1024);
  assert.equal((await upload(box.base, 'a.bin', data)).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await download(box.base, query('a.bin'))).sha256, sha256(data));

  // A killed server and a killed balancer are forked again on their ports.
  for (const role of ['server', 'balancer']) {
    const victim = box.workers().find((w) => w.role === role);
    process.kill(victim.pid, 'SIGKILL');
    const again = await until(() => box.workers().find((w) => w.port === victim.port && w.pid !== victim.pid), `${role} back`);
    assert.equal(again.role, role);
    await waitForPort(victim.port, 15000);
    let served = 0;
    for (let i = 0; i < 100 && served < 4; i++) {
      const r = await download(box.base, query('a.bin')).catch(() => null);
      if (r && r.status === 200) {
        assert.equal(r.sha256, sha256(data));
        served++;
      } else {
        await sleep(50);
      }
    }
    assert.equal(served, 4, `served after the ${role} was killed`);
  }
  assert.match(box.log(), /server-\d exited \(SIGKILL\); starting it again/);
  assert.match(box.log(), /load-balancer exited \(SIGKILL\); starting it again/);

  // SIGTERM with an upload in progress: it is answered, then all exit 0.
  let release;
  const gate = new Promise((r) => (release = r));
  const late = crypto.randomBytes(3 * 261120);
  async function* held() {
    yield late.subarray(0, 261120);
    await gate;
    yield late.subarray(261120);
  }
  const pending = upload(box.base, 'late.bin', held());
  await sleep(300);
  const pids = box.workers().map((w) => w.pid);
  box.proc.kill('SIGTERM');
  await sleep(300);
  release();
  assert.equal((await pending).status, 200);
  assert.deepEqual(await box.exited, { code: 0, signal: null });
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} is gone`);
  const store = require('../..').blobs.open(spec);
  try {
    assert.equal((await store.get('late.bin')).toString('hex'), late.toString('hex'));
  } finally {
    store.close();
  }
});
