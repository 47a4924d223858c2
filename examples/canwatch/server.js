'use strict';
// canWatch: how many video streams may a user watch at once? The seed's
// HTTP contract on hotpath's limits: one atomic acquire per activation, so
// concurrent requests never over-grant, in a Node cluster.
const cluster = require('node:cluster');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { openLimiter } = require('../..');
const { setupPrimary, setupWorker, workersFromEnv } = require('hotpath/cluster');

const PORT = Number(process.env.PORT || 9004);
const HOST = process.env.HOST || '127.0.0.1';
const LIMIT = Number(process.env.STREAM_LIMIT || 3);
const TTL_MS = Number(process.env.STREAM_TTL_MS || 6 * 3600 * 1000);
const TIMEOUT_MS = Number(process.env.STORE_TIMEOUT_MS || 200);
const DB_PATH = process.env.CANWATCH_DB || path.join(os.tmpdir(), 'canwatch', 'canwatch.db');

function storeSpec() {
  if (process.env.CANWATCH_STORE) return process.env.CANWATCH_STORE;
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  return `sqlite:${DB_PATH}`;
}

const spec = storeSpec();
// A memory store lives in one process, so it runs without workers.
const workers = spec.startsWith('memory') ? 0 : workersFromEnv();

const UNAVAILABLE = JSON.stringify({ status: 'ko', error: 'Service Unavailable' });
const OK = JSON.stringify({ status: 'ok' });

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
const json = (res, status, obj) => send(res, status, typeof obj === 'string' ? obj : JSON.stringify(obj), 'application/json');

function serve() {
  const limiter = openLimiter(spec, { timeoutMs: TIMEOUT_MS, prefix: 'canwatch' });

  async function newId(res, set, field) {
    const id = crypto.randomUUID();
    await limiter.setAdd(set, id);
    json(res, 200, { [field]: id });
  }

  async function stream(req, res, streamId, action) {
    const userId = req.headers['x-userid'];
    if (!userId || !streamId || Buffer.byteLength(userId) > 512 || Buffer.byteLength(streamId) > 512) {
      return send(res, 404, 'Invalid Data.');
    }
    if (action === 'activate') {
      // One atomic step: both must be known, and the user under the limit.
      const require = [
        { set: 'users', member: userId },
        { set: 'streams', member: streamId },
      ];
      const r = await limiter.acquire(userId, streamId, { limit: LIMIT, ttlMs: TTL_MS, require });
      if (r.status === 'not_member') return send(res, 404, 'Invalid Data.');
      if (!r.ok) return send(res, 403, 'Stream Limit Reached');
      return json(res, 200, OK);
    }
    const [user, known] = await Promise.all([limiter.setHas('users', userId), limiter.setHas('streams', streamId)]);
    if (!user || !known) return send(res, 404, 'Invalid Data.');
    await limiter.release(userId, streamId);
    return json(res, 200, OK);
  }

  async function route(req, res) {
    const url = new URL(req.url, 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && parts.length === 0) {
      await limiter.ping();
      return send(res, 200, 'yo');
    }
    if (req.method === 'GET' && parts.length === 2 && parts[1] === 'newId') {
      if (parts[0] === 'users') return newId(res, 'users', 'userId');
      if (parts[0] === 'streams') return newId(res, 'streams', 'streamId');
    }
    if ((req.method === 'POST' || req.method === 'PATCH') && parts.length === 3 && parts[0] === 'streams' &&
        (parts[2] === 'activate' || parts[2] === 'deactivate')) {
      let streamId;
      try {
        streamId = decodeURIComponent(parts[1]);
      } catch {
        return send(res, 400, 'Invalid Data.'); // a malformed % escape
      }
      return stream(req, res, streamId, parts[2]);
    }
    return send(res, 404, 'Invalid Data.');
  }

  const server = http.createServer((req, res) => {
    req.resume();
    route(req, res).catch((err) => {
      // The store is down, slow or broken: fail fast so clients can decide.
      if (err && err.code !== 'HP_EUNAVAILABLE') console.error('canwatch:', err.message);
      if (!res.headersSent) json(res, 503, UNAVAILABLE);
    });
  });
  server.keepAliveTimeout = 5000;
  return { server, limiter };
}

if (workers > 0 && cluster.isPrimary) {
  if (spec.startsWith('sqlite:')) fs.mkdirSync(path.dirname(spec.slice(7)), { recursive: true });
  // Create the schema once before the workers race for it.
  openLimiter(spec).close();
  console.log(`canwatch: http://${HOST}:${PORT} store ${spec} limit ${LIMIT} workers ${workers}`);
  const sup = setupPrimary({ mode: 'plain', port: PORT, host: HOST, workers });
  sup.on('exit', ({ worker, code, signal, restart }) => {
    if (restart) console.error(`canwatch: worker ${worker.process.pid} exited (${signal || code}), restarting`);
  });
  sup.ready.catch((err) => {
    console.error(`canwatch: ${err.message}`);
    process.exit(1);
  });
} else {
  const { server, limiter } = serve();
  if (workers > 0) {
    setupWorker(server, { close: () => limiter.close() });
  } else {
    console.log(`canwatch: http://${HOST}:${PORT} store ${spec} limit ${LIMIT} (one process)`);
    server.listen(PORT, HOST);
    process.on('SIGTERM', () => server.close(() => process.exit(0)));
  }
}
