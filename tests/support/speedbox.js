'use strict';
// Starts a SpeedBox deployment (file servers + load balancer, each its own
// process, on free loopback ports; or all under start.js's supervisor) and
// speaks its HTTP contract: streamed multipart uploads and downloads hashed
// on the fly.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { freePort, waitForPort } = require('./redis');

const DIR = path.resolve(__dirname, '..', '..', 'examples', 'speedbox');
const { processEnv } = require(path.join(DIR, 'server'));

// The plain-directory baseline's server (dir: specs).
const DIR_SERVER = path.resolve(__dirname, '..', '..', 'bench', 'blobs', 'dir-server.js');

// As start.js runs them (plain node, server.js's processEnv), unless nodeArgs says otherwise.
function startProcess(script, env, nodeArgs = []) {
  const proc = spawn(process.execPath, [...nodeArgs, path.resolve(DIR, script)], {
    env: processEnv({ ...process.env, ...env }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let killed = false;
  const kill = (signal = 'SIGTERM') => {
    killed = true;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  // True when the process ended without being asked to (a crash).
  const crashed = () => !killed && (proc.exitCode !== null || proc.signalCode !== null);
  return { proc, kill, exited, crashed };
}

/**
 * Start `servers` file servers on one store and a load balancer before them.
 * @param {{spec: string, servers?: number, healthIntervalMs?: number}} opts
 */
async function startSpeedbox({ spec, servers = 3, healthIntervalMs = 200, env = {}, nodeArgs }) {
  const serverScript = spec.startsWith('dir:') ? DIR_SERVER : 'server.js';
  const nodes = [];
  for (let i = 0; i < servers; i++) {
    const port = await freePort();
    nodes.push({
      port,
      ...startProcess(serverScript, { SERVER_PORT: String(port), SPEEDBOX_STORE: spec, ...env }, nodeArgs),
    });
  }
  await Promise.all(nodes.map((n) => waitForPort(n.port, 15000)));
  const port = await freePort();
  const lb = startProcess('load-balancer.js', {
    PORT: String(port),
    SPEEDBOX_SERVERS: nodes.map((n) => `http://127.0.0.1:${n.port}`).join(','),
    HEALTH_INTERVAL_MS: String(healthIntervalMs),
    ...env,
  }, nodeArgs);
  await waitForPort(port, 15000);
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    servers: nodes,
    lb,
    // Start server i again on its port, after it was killed.
    restart: async (i) => {
      const { port: p } = nodes[i];
      nodes[i] = { port: p, ...startProcess(serverScript, { SERVER_PORT: String(p), SPEEDBOX_STORE: spec, ...env }, nodeArgs) };
      await waitForPort(p, 15000);
    },
    // Processes that died on their own so far.
    crashes: () => [lb, ...nodes].filter((n) => n.crashed()).length,
    stop: () => Promise.all([lb.kill(), ...nodes.map((n) => n.kill())]),
  };
}

// `count` consecutive ports free on 127.0.0.1 (start.js numbers its servers
// from FIRST_SERVER_PORT).
async function freePorts(count) {
  for (;;) {
    const first = await freePort();
    if (first + count > 65536) continue;
    const held = [];
    try {
      for (let i = 0; i < count; i++) {
        const srv = net.createServer();
        await new Promise((resolve, reject) => srv.once('error', reject).listen(first + i, '127.0.0.1', resolve));
        held.push(srv);
      }
      return first;
    } catch {
      // taken: try elsewhere
    } finally {
      await Promise.all(held.map((srv) => new Promise((r) => srv.close(r))));
    }
  }
}

// The workers of a start.js primary now: [{pid, role, port}] from /proc
// (each worker's environment names its role and port).
function deploymentWorkers(primaryPid) {
  const text = fs.readFileSync(`/proc/${primaryPid}/task/${primaryPid}/children`, 'utf8').trim();
  const workers = [];
  for (const pid of text ? text.split(/\s+/).map(Number) : []) {
    let env;
    try {
      env = Object.fromEntries(
        fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
    } catch {
      continue; // it exited meanwhile
    }
    const role = env.SPEEDBOX_ROLE;
    workers.push({ pid, role, port: Number(role === 'balancer' ? env.PORT : env.SERVER_PORT) });
  }
  return workers;
}

/**
 * Start a deployment the way a user does: examples/speedbox/start.js, one
 * hotpath/cluster supervisor over `servers` file servers and the balancer.
 */
async function startDeployment({ spec, servers = 3, env = {} }) {
  const first = await freePorts(servers);
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(DIR, 'start.js')], {
    env: { ...process.env, SERVERS: String(servers), FIRST_SERVER_PORT: String(first), PORT: String(port), SPEEDBOX_STORE: spec, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let log = '';
  proc.stdout.setEncoding('utf8').on('data', (d) => (log += d));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const serverPorts = Array.from({ length: servers }, (_, i) => first + i);
  await Promise.all([port, ...serverPorts].map((p) => waitForPort(p, 15000)));
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    serverPorts,
    proc,
    exited,
    log: () => log,
    workers: () => deploymentWorkers(proc.pid),
    stop: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * POST /upload with the bytes of `source` (a Buffer, or an async iterable of
 * Buffers) as the multipart field `filename`, streamed with chunked encoding.
 * `cutAfter` destroys the connection once that many file bytes were sent.
 * @returns {Promise<{status: number, body: string}>}
 */
function upload(base, filename, source, { contentType = 'application/octet-stream', cutAfter, field = 'filename' } = {}) {
  const boundary = `----speedbox${crypto.randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      `Content-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL('/upload', base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: url.pathname,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const write = (buf) =>
      new Promise((ok) => {
        if (req.write(buf)) ok();
        else req.once('drain', ok);
      });
    (async () => {
      await write(head);
      let sent = 0;
      const parts = Buffer.isBuffer(source) ? [source] : source;
      for await (const part of parts) {
        if (cutAfter !== undefined && sent + part.length >= cutAfter) {
          await write(part.subarray(0, cutAfter - sent));
          // Give the bytes time to reach the server, then cut.
          await new Promise((r) => setTimeout(r, 100));
          req.destroy(new Error('cut off'));
          return;
        }
        if (part.length) await write(part);
        sent += part.length;
      }
      req.end(tail);
    })().catch((err) => req.destroy(err));
  });
}

/**
 * GET a URL and hash the body as it arrives.
 * @returns {Promise<{status: number, headers: object, length: number, sha256: string, body?: Buffer}>}
 */
function download(base, route, headers = {}, { keep = false, method = 'GET' } = {}) {
  const url = new URL(route, base);
  return new Promise((resolve, reject) => {
    http
      .request({ method, host: url.hostname, port: url.port, path: url.pathname + url.search, headers, agent: false }, (res) => {
        const hash = crypto.createHash('sha256');
        const parts = [];
        let length = 0;
        res.on('data', (d) => {
          hash.update(d);
          length += d.length;
          if (keep) parts.push(d);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            length,
            sha256: hash.digest('hex'),
            body: keep ? Buffer.concat(parts) : undefined,
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject)
      .end();
  });
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

module.exports = { startSpeedbox, startDeployment, startProcess, upload, download, sha256, freePort };
