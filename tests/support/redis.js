'use strict';
// Starts a real redis-server (or a 3-master Redis Cluster) on free loopback
// ports for a test, and stops it.
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function waitForPort(port, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

// HOTPATH_TEST_REDIS=cluster (make test-cluster): startRedis() hands out a
// 3-master Redis Cluster in place of one server, so every test of a
// Redis-backed feature runs on a cluster too. The handle has the same shape
// either way: url (redis:// or redis+cluster://), port (the first node),
// ports, nodeUrls (redis:// of each node, for a plain client: PUBLISH on
// any node reaches every subscriber), stop, restart and cleanup.
const clusterMode = process.env.HOTPATH_TEST_REDIS === 'cluster';

/**
 * Starts redis-server on 127.0.0.1:<free port> with no persistence, or a
 * 3-master cluster whose first node listens on `port` when
 * HOTPATH_TEST_REDIS=cluster (unless `opts.single`: for a test of a Redis
 * use that is not hotpath's, such as socket.io's adapter).
 * @param {number} [port]
 * @param {{single?: boolean}} [opts]
 */
async function startRedis(port, opts = {}) {
  if (clusterMode && !opts.single) return startRedisCluster(port);
  return startServer(port);
}

/**
 * Starts redis-server on 127.0.0.1:<free port> with no persistence.
 * @returns {Promise<{port: number, url: string, stop: () => Promise<void>, restart: () => Promise<void>}>}
 */
async function startServer(port) {
  port = port || (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-redis-'));
  let proc;
  const launch = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir], { stdio: 'ignore' });
    await waitForPort(port);
  };
  await launch();
  const stop = () =>
    new Promise((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  return {
    port,
    ports: [port],
    url: `redis://127.0.0.1:${port}/0`,
    nodeUrls: [`redis://127.0.0.1:${port}/0`],
    cluster: false,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    cleanup: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function clusterOk(port) {
  try {
    return execFileSync('redis-cli', ['-p', String(port), 'CLUSTER', 'INFO']).toString().includes('cluster_state:ok');
  } catch {
    return false;
  }
}

async function waitClusterOk(ports) {
  const deadline = Date.now() + 15000;
  while (!ports.every(clusterOk)) {
    if (Date.now() > deadline) throw new Error('the cluster did not come up');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a 3-master Redis Cluster: three redis-server --cluster-enabled yes
 * on free loopback ports (the first on `firstPort` when given), joined by
 * redis-cli --cluster create. stop() kills every node; restart() starts them
 * again on their ports with their node files, and waits until the cluster
 * serves every slot again (its keys are gone, as with one server).
 * @param {number} [firstPort]
 */
async function startRedisCluster(firstPort) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-cluster-'));
  const procs = [];
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const port = i === 0 && firstPort ? firstPort : await freePort();
    nodes.push({ port, bus: await freePort() });
  }
  const ports = nodes.map((n) => n.port);
  const launch = async () => {
    // A restart forgets the keys (no persistence) but keeps the slot map.
    for (const f of fs.readdirSync(dir)) if (!f.startsWith('nodes-')) fs.rmSync(path.join(dir, f), { force: true });
    for (const [i, { port, bus }] of nodes.entries()) {
      procs[i] = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-port', String(bus)], { stdio: 'ignore' });
    }
    for (const port of ports) await waitForPort(port);
  };
  const stop = () =>
    Promise.all(procs.map((p) => new Promise((resolve) => {
      if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    })));
  const cleanup = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await launch();
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0',
      '--cluster-yes'], { stdio: 'ignore' });
    await waitClusterOk(ports);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    port: ports[0],
    ports,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodeUrls: ports.map((p) => `redis://127.0.0.1:${p}`),
    cluster: true,
    stop,
    restart: async () => {
      await stop();
      await launch();
      await waitClusterOk(ports);
    },
    cleanup,
  };
}

/**
 * A connected node-redis client of `redis` (a handle from startRedis):
 * a cluster client on a cluster. Errors are ignored (tests stop servers).
 */
async function nodeRedisClient(redis) {
  const { createClient, createCluster } = require('redis');
  const client = redis.cluster
    ? createCluster({ rootNodes: redis.nodeUrls.map((url) => ({ url })) })
    : createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Subscribers of `channel` over every node (on a cluster, PUBSUB NUMSUB
 * counts only the node asked).
 */
function subscribers(redis, channel) {
  let n = 0;
  for (const port of redis.ports) {
    try {
      const out = execFileSync('redis-cli', ['-p', String(port), 'PUBSUB', 'NUMSUB', channel]).toString().split('\n');
      n += Number(out[1]) || 0;
    } catch {
      // a node that is down has none
    }
  }
  return n;
}

/** The sum of `redis-cli INFO commandstats` calls of `cmd` over every node. */
function commandCalls(redis, cmd) {
  let n = 0;
  for (const port of redis.ports) {
    const info = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'commandstats']).toString();
    const m = info.match(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`));
    n += m ? Number(m[1]) : 0;
  }
  return n;
}

module.exports = { startRedis, startRedisCluster, nodeRedisClient, commandCalls, subscribers, clusterMode, freePort, waitForPort };
