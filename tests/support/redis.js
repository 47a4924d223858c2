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

/**
 * Starts redis-server on 127.0.0.1:<free port> with no persistence.
 * @returns {Promise<{port: number, url: string, stop: () => Promise<void>, restart: () => Promise<void>}>}
 */
async function startRedis(port) {
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
    url: `redis://127.0.0.1:${port}/0`,
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

/**
 * Starts a 3-master Redis Cluster: three redis-server --cluster-enabled yes
 * on free loopback ports, joined by redis-cli --cluster create.
 * @returns {Promise<{ports: number[], url: string, cleanup: () => Promise<void>}>}
 */
async function startRedisCluster() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-cluster-'));
  const procs = [];
  const ports = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const bus = await freePort();
    ports.push(port);
    procs.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--cluster-port', String(bus)], { stdio: 'ignore' }));
    await waitForPort(port);
  }
  const cleanup = async () => {
    await Promise.all(procs.map((p) => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    })));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0',
      '--cluster-yes'], { stdio: 'ignore' });
    const deadline = Date.now() + 10000;
    const ok = (p) => execFileSync('redis-cli', ['-p', String(p), 'CLUSTER', 'INFO']).toString().includes('cluster_state:ok');
    while (!ports.every(ok)) {
      if (Date.now() > deadline) throw new Error('the cluster did not come up');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { ports, url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, cleanup };
}

module.exports = { startRedis, startRedisCluster, freePort, waitForPort };
