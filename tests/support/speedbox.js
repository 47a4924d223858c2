'use strict';
// Starts a SpeedBox deployment (file servers + load balancer, each its own
// process, on free loopback ports) and speaks its HTTP contract: streamed
// multipart uploads and downloads hashed on the fly.
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { freePort, waitForPort } = require('./redis');

const DIR = path.resolve(__dirname, '..', '..', 'examples', 'speedbox');
const { NODE_ARGS, launchEnv } = require(path.join(DIR, 'launch'));

// The plain-directory baseline's server (dir: specs).
const DIR_SERVER = path.resolve(__dirname, '..', '..', 'bench', 'blobs', 'dir-server.js');

// As start.js runs them (examples/speedbox/launch.js), unless nodeArgs says otherwise.
function startProcess(script, env, nodeArgs = NODE_ARGS) {
  const proc = spawn(process.execPath, [...nodeArgs, path.resolve(DIR, script)], {
    env: launchEnv({ ...process.env, ...env }),
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

module.exports = { startSpeedbox, startProcess, upload, download, sha256, freePort };
