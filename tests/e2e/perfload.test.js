'use strict';
// examples/perfload over real HTTP on 127.0.0.1: sticky routing by client
// address through hotpath, socket.io sessions on the right worker, and
// metrics broadcast across workers (cluster adapter, then Redis).
const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient } = require('redis');
const { hotpath } = require('../support/fixtures');
const { startRedis } = require('../support/redis');
const { startServer, startClient, get, connect, TOKEN, UI_TOKEN, UI_AUTH } = require('../support/perfload');

const hp = hotpath();
const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

async function metrics(id) {
  return { ...(await hp.host.sample({ windowMs: 20 })), id };
}

// Sources whose worker differs from `worker`.
const elsewhere = (worker, n) => sources.filter((ip) => hp.sticky.pick(ip, n) !== worker);

test('cluster adapter: sticky workers, socket.io sessions and cross-worker metrics', { timeout: 60000 }, async (t) => {
  const workers = 3;
  const expected = new Map(sources.map((ip) => [ip, hp.sticky.pick(ip, workers)]));
  assert.equal(new Set(expected.values()).size, workers, 'the sources cover every worker');

  const server = await startServer({ workers });
  const open = [];
  t.after(async () => {
    for (const c of open) c.close();
    await server.stop();
  });

  // GET /worker from the same source address always names the same worker.
  const pidOf = new Map();
  for (let round = 0; round < 3; round++) {
    for (const ip of sources) {
      const { status, body } = await get(server.port, '/worker', ip);
      assert.equal(status, 200);
      assert.equal(body.worker, expected.get(ip), `${ip}, round ${round}`);
      if (!pidOf.has(body.worker)) pidOf.set(body.worker, body.pid);
      assert.equal(body.pid, pidOf.get(body.worker));
    }
  }
  assert.equal(pidOf.size, workers);

  // A dashboard on one worker, machines on the others, over every transport.
  const uiSource = sources[0];
  const uiWorker = expected.get(uiSource);
  const ui = await connect(server.url, { localAddress: uiSource, auth: { role: 'ui', token: UI_TOKEN } });
  open.push(ui);
  assert.equal(ui.welcome.worker, uiWorker);

  const transports = [['websocket'], ['polling'], ['polling', 'websocket']];
  const machineSources = sources.slice(1, 7);
  const machines = [];
  for (const [i, ip] of machineSources.entries()) {
    const m = await connect(server.url, { localAddress: ip, transports: transports[i % 3], auth: { role: 'machine', token: TOKEN } });
    open.push(m);
    assert.equal(m.welcome.worker, expected.get(ip), `socket.io from ${ip} is served by its sticky worker`);
    assert.equal(m.welcome.pid, pidOf.get(expected.get(ip)));
    machines.push({ ip, id: `machine-${i}`, ...m });
  }
  assert.ok(machines.some((m) => m.welcome.worker !== uiWorker), 'some machine sits on another worker');

  // Several rounds of metrics: each one reaches the dashboard, tagged with the
  // machine's worker. Long-polling sessions survive (they would get "session
  // ID unknown" on any other worker).
  for (let round = 0; round < 3; round++) {
    for (const m of machines) {
      const data = await metrics(m.id);
      m.socket.emit(round === 0 ? 'initPerfData' : 'perfData', data);
      // Events for one machine arrive in the order it sent them.
      const got = await ui.next('machine', (x) => x.id === m.id);
      assert.equal(got.online, true);
      assert.equal(got.upTime, data.upTime);
      assert.equal(got.worker, m.welcome.worker);
      assert.equal(got.totalMem, data.totalMem);
      assert.equal(got.cpuModel, data.cpuModel);
      assert.ok(got.cpuLoad >= 0 && got.cpuLoad <= 100);
      assert.ok(m.socket.connected, `${m.ip} still connected`);
    }
  }
  const polling = machines.filter((m) => m.socket.io.engine.transport.name === 'polling');
  assert.ok(polling.length >= 2, 'some sessions stay on long-polling');

  // Every machine, whichever worker holds it, is listed by any worker.
  const listed = await get(server.port, '/machines', sources[7], UI_AUTH);
  assert.deepEqual(listed.body.map((m) => m.id).sort(), machines.map((m) => m.id).sort());

  // A dashboard that connects later gets the machines online now.
  const late = await connect(server.url, {
    localAddress: elsewhere(uiWorker, workers)[0],
    transports: ['polling'],
    auth: { role: 'ui', token: UI_TOKEN },
  });
  open.push(late);
  const snapshot = await late.next('machines');
  assert.equal(snapshot.length, machines.length);

  // A machine that reconnects comes back to the same worker.
  const again = machines[1];
  again.close();
  const offline = await ui.next('machine', (x) => x.id === again.id && !x.online);
  assert.equal(offline.worker, again.welcome.worker);
  const back = await connect(server.url, { localAddress: again.ip, transports: ['polling'], auth: { role: 'machine', token: TOKEN } });
  open.push(back);
  assert.equal(back.welcome.worker, again.welcome.worker);

  // A wrong token is refused.
  await assert.rejects(
    connect(server.url, { localAddress: sources[3], auth: { role: 'machine', token: 'nope' } }),
    /unauthorized/,
  );
});

test('no role without its token: dashboards, machines and /machines each need theirs', async (t) => {
  const server = await startServer({ workers: 1, env: { PERFLOAD_TOKEN: '', PERFLOAD_UI_TOKEN: '' } });
  t.after(() => server.stop());
  // Unset, both tokens are made and printed.
  const ui = /open http:\S+\/#ui=(\S+) /.exec(server.out.text);
  const machine = /PERFLOAD_TOKEN=(\S+) /.exec(server.out.text);
  assert.ok(ui && machine, server.out.text);
  assert.notEqual(ui[1], machine[1]);
  const refused = (auth) => assert.rejects(connect(server.url, { localAddress: '127.0.0.1', auth }), /unauthorized/);
  await refused({ role: 'ui' });
  await refused({ role: 'ui', token: machine[1] });
  await refused({ role: 'ui', token: `${ui[1]}x` });
  await refused({ role: 'machine', token: 'perfload-dev-token' });
  await refused({ role: 'machine', token: ui[1] });
  await refused({});
  const dash = await connect(server.url, { localAddress: '127.0.0.1', auth: { role: 'ui', token: ui[1] } });
  dash.close();
  const box = await connect(server.url, { localAddress: '127.0.0.1', auth: { role: 'machine', token: machine[1] } });
  box.close();
  assert.equal((await get(server.port, '/machines', '127.0.0.1')).status, 401);
  assert.equal((await get(server.port, '/machines', '127.0.0.1', { authorization: `Bearer ${machine[1]}` })).status, 401);
  assert.equal((await get(server.port, '/machines', '127.0.0.1', { authorization: `Bearer ${ui[1]}` })).status, 200);
});

test('the machine client (client.js) appears live, then offline when killed', { timeout: 60000 }, async (t) => {
  const workers = 2;
  const server = await startServer({ workers });
  const ui = await connect(server.url, { localAddress: '127.0.0.1', auth: { role: 'ui', token: UI_TOKEN } });
  const source = elsewhere(ui.welcome.worker, workers)[0];
  const client = startClient({ url: server.url, id: 'e2e-client', localAddress: source });
  t.after(async () => {
    ui.close();
    await client.kill();
    await server.stop();
  });

  const updates = [];
  for (let i = 0; i < 3; i++) {
    updates.push(await ui.next('machine', (x) => x.id === 'e2e-client' && x.online));
  }
  for (const m of updates) {
    assert.equal(m.worker, hp.sticky.pick(source, workers));
    assert.notEqual(m.worker, ui.welcome.worker);
    assert.ok(m.totalMem > 0 && m.usedMem > 0 && m.numCores >= 1 && m.cpuLoad >= 0 && m.osType.length > 0);
  }
  const offline = ui.next('machine', (x) => x.id === 'e2e-client' && !x.online);
  await client.kill();
  assert.equal((await offline).worker, hp.sticky.pick(source, workers));
  assert.match(client.out.text, new RegExp(`worker ${hp.sticky.pick(source, workers)} `));
});

test('a killed worker is replaced in its slot; its clients return to it', { timeout: 60000 }, async (t) => {
  const workers = 2;
  const server = await startServer({ workers });
  t.after(() => server.stop());
  const ip = sources[2];
  const before = (await get(server.port, '/worker', ip)).body;
  process.kill(before.pid, 'SIGKILL');
  const after = (await get(server.port, '/worker', ip)).body;
  assert.equal(after.worker, before.worker);
  assert.notEqual(after.pid, before.pid);
  assert.match(server.out.text, new RegExp(`worker ${before.worker} \\(pid ${before.pid}\\) exited`));
});

test('redis adapter (REDIS_URL): metrics cross workers through a real redis-server', { timeout: 60000 }, async (t) => {
  const redis = await startRedis();
  const workers = 2;
  const server = await startServer({ workers, env: { REDIS_URL: redis.url } });
  const rc = createClient({ url: redis.url });
  const open = [];
  t.after(async () => {
    for (const c of open) c.close();
    await rc.quit().catch(() => {});
    await server.stop();
    await redis.cleanup();
  });
  assert.match(server.out.text, /adapter redis/);

  const uiSource = sources[0];
  const ui = await connect(server.url, { localAddress: uiSource, auth: { role: 'ui', token: UI_TOKEN } });
  open.push(ui);
  const ip = elsewhere(ui.welcome.worker, workers)[0];
  const m = await connect(server.url, { localAddress: ip, transports: ['polling'], auth: { role: 'machine', token: TOKEN } });
  open.push(m);
  assert.equal(m.welcome.worker, hp.sticky.pick(ip, workers));
  assert.notEqual(m.welcome.worker, ui.welcome.worker);

  const data = await metrics('redis-machine');
  const seen = ui.next('machine', (x) => x.id === 'redis-machine');
  m.socket.emit('initPerfData', data);
  assert.equal((await seen).worker, m.welcome.worker);

  // The broadcast went through Redis: every worker subscribes to the adapter's channels.
  await rc.connect();
  const channels = await rc.sendCommand(['PUBSUB', 'CHANNELS', 'socket.io*']);
  assert.ok(channels.length > 0, 'socket.io channels on redis');
  const subs = await rc.sendCommand(['PUBSUB', 'NUMSUB', channels.find((c) => c.endsWith('#/#')) || channels[0]]);
  assert.equal(Number(subs[1]), workers);

  const listed = await get(server.port, '/machines', uiSource, UI_AUTH);
  assert.deepEqual(listed.body.map((x) => x.id), ['redis-machine']);
});
