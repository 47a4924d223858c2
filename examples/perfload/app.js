'use strict';
// One Perfload worker: the HTTP routes and the socket.io server. Machines
// (client.js) connect with a token and send their metrics; dashboards (the
// web page) connect as 'ui' and receive every machine's metrics, whichever
// worker the machine is connected to: the adapter (cluster or Redis)
// carries the broadcasts between workers.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { Server } = require('socket.io');
const { workerIndex } = require('hotpath/cluster');

const PUBLIC = path.join(__dirname, 'public');
const STATIC = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const NUMBERS = ['freeMem', 'totalMem', 'usedMem', 'memUsage', 'upTime', 'numCores', 'cpuSpeed', 'cpuLoad'];
const STRINGS = ['osType', 'cpuModel', 'macA'];

/** Whether `given` is `want`, in time that does not depend on where they differ. */
function sameSecret(given, want) {
  if (typeof given !== 'string') return false;
  const digest = (s) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(given), digest(want));
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The fields of a metrics message we keep, or null when it is not one. */
function cleanMetrics(data) {
  if (!data || typeof data !== 'object') return null;
  const id = typeof data.id === 'string' && data.id ? data.id : data.macA;
  if (typeof id !== 'string' || id === '' || id.length > 128) return null;
  const out = { id };
  for (const k of NUMBERS) out[k] = Number.isFinite(data[k]) ? data[k] : null;
  for (const k of STRINGS) out[k] = typeof data[k] === 'string' ? data[k].slice(0, 256) : '';
  return out;
}

/**
 * Builds the worker's HTTP server and socket.io server; resolves with the
 * HTTP server (not listening: the primary hands connections to it).
 */
async function start({ redisUrl, token, uiToken }) {
  const worker = workerIndex();
  const pages = {};
  for (const [route, [file, type]] of Object.entries(STATIC)) {
    pages[route] = { body: fs.readFileSync(path.join(PUBLIC, file)), type };
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://perfload');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/worker') return json(res, 200, { worker, pid: process.pid });
    if (url.pathname === '/machines') {
      if (!sameSecret(req.headers.authorization, `Bearer ${uiToken}`)) return json(res, 401, { error: 'unauthorized' });
      try {
        return json(res, 200, await onlineMachines());
      } catch (err) {
        return json(res, 503, { error: err.message });
      }
    }
    const page = pages[url.pathname];
    if (!page) return json(res, 404, { error: 'not found' });
    res.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : page.body);
  });

  const io = new Server(server);
  if (redisUrl) {
    const { createClient } = require('redis');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    // Redis going away is logged; the clients reconnect on their own.
    for (const c of [pub, sub]) c.on('error', (err) => console.error(`perfload: redis: ${err.message}`));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  } else {
    io.adapter(require('@socket.io/cluster-adapter').createAdapter());
  }

  // The last metrics of every machine connected to any worker.
  async function onlineMachines() {
    const sockets = await io.in('machines').fetchSockets();
    return sockets.filter((s) => s.data.machine).map((s) => ({ ...s.data.machine, online: true }));
  }

  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    // Dashboards and machines each prove themselves with their own token.
    if (!sameSecret(auth.token, auth.role === 'ui' ? uiToken : token)) return next(new Error('unauthorized'));
    next();
  });

  io.on('connection', (socket) => {
    socket.emit('welcome', { worker, pid: process.pid });
    if (socket.handshake.auth.role === 'ui') {
      socket.join('ui');
      onlineMachines().then(
        (list) => socket.emit('machines', list),
        (err) => console.error(`perfload: worker ${worker}: listing machines: ${err.message}`),
      );
      return;
    }
    socket.join('machines');
    const publish = (data) => {
      const m = cleanMetrics(data);
      if (!m) return;
      m.worker = worker;
      socket.data.machine = m;
      io.to('ui').emit('machine', { ...m, online: true });
    };
    socket.on('initPerfData', publish);
    socket.on('perfData', publish);
    socket.on('disconnect', () => {
      if (socket.data.machine) io.to('ui').emit('machine', { ...socket.data.machine, online: false });
    });
  });

  return server;
}

module.exports = { start, cleanMetrics };
