'use strict';
// Runs examples/traffic (server.js or server-js.js) for the end-to-end tests
// and the bench on 127.0.0.1:<free port>, and writes recipe fixture files.
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const { freePort } = require('./redis');

const dir = path.resolve(__dirname, '..', '..', 'examples', 'traffic');

/**
 * Starts the service; resolves once every worker listens.
 * @param {{impl?: 'hotpath'|'js', workers?: number, env?: object}} [opts]
 */
async function startTraffic({ impl = 'hotpath', workers = 1, env = {} } = {}) {
  const port = await freePort();
  const script = path.join(dir, impl === 'js' ? 'server-js.js' : 'server.js');
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: String(workers), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { text: '' };
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (c) => (out.text += c));
  }
  await new Promise((resolve, reject) => {
    const onData = () => {
      if (out.text.includes('traffic: health ')) done(resolve);
    };
    const onExit = (code) => done(() => reject(new Error(`traffic exited (${code}):\n${out.text}`)));
    const done = (fn) => {
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      fn();
    };
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
  });
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => resolve(code));
      proc.kill('SIGTERM');
    });
  return { port, url: `http://127.0.0.1:${port}`, proc, out, stop };
}

/** One HTTP request; resolves {status, headers, body}. A fresh connection each time. */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes rows as a gzip JSON array, replacing the file atomically. */
function writeRecipe(file, rows) {
  fs.writeFileSync(`${file}.tmp`, zlib.gzipSync(JSON.stringify(rows)));
  fs.renameSync(`${file}.tmp`, file);
}

module.exports = { startTraffic, request, writeRecipe };
