'use strict';
// Runs examples/perfload for the end-to-end tests: the server on
// 127.0.0.1:<free port>, machine clients, and socket.io clients that connect
// from a chosen loopback source address (127.0.0.2, 127.0.0.3, ...).
const { spawn } = require('child_process');
const http = require('http');
const path = require('path');
const { io } = require('socket.io-client');
const { startService, collect, stopProcess } = require('./service');

const example = path.resolve(__dirname, '..', '..', 'examples', 'perfload');
// The tokens the tests start the server with: machines, dashboards.
const TOKEN = 'perfload-test-machine-token';
const UI_TOKEN = 'perfload-test-ui-token';
const UI_AUTH = { authorization: `Bearer ${UI_TOKEN}` };

/**
 * Starts the Perfload server; resolves once it printed the URL to open
 * (every worker is ready by then).
 */
async function startServer({ workers = 3, env = {} } = {}) {
  return startService(path.join(example, 'server.js'), {
    name: 'server',
    workers,
    env: { PERFLOAD_TOKEN: TOKEN, PERFLOAD_UI_TOKEN: UI_TOKEN, ...env },
    ready: (text, url) => text.includes(`open ${url}/`),
  });
}

/** Starts examples/perfload/client.js from `localAddress` as machine `id`. */
function startClient({ url, id, localAddress, intervalMs = 200, transports, env = {} }) {
  const proc = spawn(process.execPath, [path.join(example, 'client.js')], {
    env: {
      ...process.env,
      PERFLOAD_URL: url,
      PERFLOAD_TOKEN: TOKEN,
      MACHINE_ID: id,
      LOCAL_ADDRESS: localAddress,
      INTERVAL_MS: String(intervalMs),
      ...(transports ? { TRANSPORTS: transports.join(',') } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collect(proc);
  return { proc, out, kill: (signal = 'SIGKILL') => stopProcess(proc, signal) };
}

/** GET `path` on a fresh connection from `localAddress`; resolves {status, body}. */
function get(port, urlPath, localAddress, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, localAddress, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body = text;
        if ((res.headers['content-type'] || '').startsWith('application/json')) body = JSON.parse(text);
        resolve({ status: res.statusCode, body, headers: res.headers });
      });
    });
    req.on('error', reject);
  });
}

/**
 * A socket.io client from `localAddress` (every HTTP request and the
 * WebSocket use that source address). Resolves once connected, with the
 * server's welcome {worker, pid} and `next(event, pred)`, which resolves
 * with the first event received since the connection (and not taken by an
 * earlier next) that satisfies `pred`: events that arrive in the same
 * polling response as the welcome are not missed.
 */
function connect(url, { localAddress, transports = ['polling', 'websocket'], auth }) {
  const agent = new http.Agent({ keepAlive: true, localAddress });
  const socket = io(url, { agent, transports, auth, reconnection: false, forceNew: true });
  const inbox = [];
  const waiters = [];
  socket.onAny((event, payload) => {
    const at = waiters.findIndex((w) => w.event === event && w.pred(payload));
    if (at >= 0) waiters.splice(at, 1)[0].resolve(payload);
    else inbox.push({ event, payload });
  });
  const next = (event, pred = () => true) => {
    const at = inbox.findIndex((m) => m.event === event && pred(m.payload));
    if (at >= 0) return Promise.resolve(inbox.splice(at, 1)[0].payload);
    return new Promise((resolve) => waiters.push({ event, pred, resolve }));
  };
  const close = () => {
    socket.close();
    agent.destroy();
  };
  const welcome = new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    next('welcome').then(resolve);
  });
  return welcome.then(
    (w) => ({ socket, welcome: w, next, close }),
    (err) => {
      close();
      throw err;
    },
  );
}

module.exports = { startServer, startClient, get, connect, stopProcess, TOKEN, UI_TOKEN, UI_AUTH };
