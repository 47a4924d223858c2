'use strict';
// Runs examples/tracker for the end-to-end tests on 127.0.0.1:<free port>,
// with its event log files in a fresh temporary directory.
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { startService } = require('./service');

const server = path.resolve(__dirname, '..', '..', 'examples', 'tracker', 'server.js');

const LIVE_USER = 'admin';
const LIVE_PASSWORD = 'tracker-test-password';

/**
 * Starts the tracker; resolves once every worker listens.
 * @returns {Promise<{port: number, url: string, dir: string, proc: import('child_process').ChildProcess,
 *   out: {text: string}, stop: () => Promise<number|null>, readSink: () => string[], cleanup: () => Promise<void>}>}
 */
async function startTracker({ workers = 2, env = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-tracker-'));
  const service = await startService(server, {
    name: 'tracker',
    workers,
    env: { EVENTS_DIR: dir, LIVE_PASSWORD, ...env },
    ready: (text) => text.includes('/live (user'),
  });
  const { stop } = service;
  /** Every line of every events-<worker>.log, in file order. */
  const readSink = () =>
    fs
      .readdirSync(dir)
      .filter((f) => /^events-\d+\.log$/.test(f))
      .sort()
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
  const cleanup = async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { ...service, dir, readSink, cleanup };
}

/** One HTTP request; resolves {status, headers, body}. */
function request(port, pathname, { method = 'GET', headers = {}, auth } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathname, method, headers, auth, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The batcher counters summed over the workers (GET /live/stats). */
async function stats(port) {
  const res = await request(port, '/live/stats', { auth: `${LIVE_USER}:${LIVE_PASSWORD}` });
  if (res.status !== 200) throw new Error(`/live/stats: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

/** Polls `fn` every 20 ms until it returns a truthy value (or throws after `ms`). */
async function until(fn, ms = 10000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { startTracker, request, stats, until, LIVE_USER, LIVE_PASSWORD };
