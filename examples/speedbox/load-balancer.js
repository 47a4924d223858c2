'use strict';
// SpeedBox load balancer: round-robin over the servers that pass their
// health checks, a retry on the next server when one cannot be reached, and
// http-proxy (the seed's proxy) for the forwarding: bodies stream both ways
// with backpressure, never buffered, so a 2 GB upload costs no more memory
// than a 2 KB one.
const http = require('node:http');
const httpProxy = require('http-proxy');
const { releaseBuffer } = require('../..').blobs;
const { guardedServer, limitsFromEnv, runUntilStopped } = require('./server');

// Headers that describe one connection and must not be forwarded (RFC 9110
// 7.6.1).
const HOP_BY_HOP = /^(connection|keep-alive|proxy-(authenticate|authorization|connection)|te|trailer|upgrade)$/;
const dropHopByHop = (names, drop) => names.filter((h) => HOP_BY_HOP.test(h)).forEach(drop);

/**
 * A pool of upstream servers with health state and a round-robin cursor.
 * `next(tried)` returns the next healthy server not in `tried`, looking at
 * each configured server at most once (the cursor runs modulo the number of
 * configured servers, every one of which is a candidate), or null.
 */
class Pool {
  constructor(targets, { healthPath = '/health', intervalMs = 1000, timeoutMs = 1000 } = {}) {
    this.servers = targets.map((t) => {
      const u = new URL(t);
      return { url: u.origin, host: u.hostname, port: Number(u.port || 80), healthy: true };
    });
    this.cursor = 0;
    this.healthPath = healthPath;
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
    this.timer = null;
  }

  next(tried) {
    return this._pick(tried, true) || this._pick(tried, false);
  }

  // When every server failed its last check, try them anyway: the checks may
  // be stale (the servers were starting), and a refused connection costs
  // only a retry.
  _pick(tried, healthyOnly) {
    const n = this.servers.length;
    for (let i = 0; i < n; i++) {
      const s = this.servers[(this.cursor + i) % n];
      if ((s.healthy || !healthyOnly) && !tried.has(s)) {
        this.cursor = (this.cursor + i + 1) % n;
        return s;
      }
    }
    return null;
  }

  markDown(server) {
    server.healthy = false;
  }

  check(server) {
    return new Promise((resolve) => {
      const req = http.get(
        { host: server.host, port: server.port, path: this.healthPath, agent: false, timeout: this.timeoutMs },
        (res) => {
          res.resume();
          server.healthy = res.statusCode === 200;
          resolve(server.healthy);
        },
      );
      req.on('timeout', () => req.destroy(new Error('health check timed out')));
      req.on('error', () => {
        server.healthy = false;
        resolve(false);
      });
    });
  }

  checkAll() {
    return Promise.all(this.servers.map((s) => this.check(s)));
  }

  start() {
    const tick = async () => {
      await this.checkAll();
      this.timer = setTimeout(tick, this.intervalMs);
      this.timer.unref();
    };
    return tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.agent.destroy();
  }
}

function fail(res, status, message) {
  if (res.headersSent) return res.destroy();
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Stream a request body upstream, with backpressure. Each body piece is
 * released once the upstream socket has taken it: nothing else holds it
 * then, and V8 would otherwise let some 32 MB of such pieces pile up before
 * collecting them. A client that goes away mid-upload aborts the upstream
 * request too, so the server discards the partial file; an upstream that
 * fails leaves the rest of the body to be read into the void.
 */
function forwardBody(req, up) {
  const onData = (piece) => {
    if (up.write(piece, () => releaseBuffer(piece))) return;
    req.pause();
    up.once('drain', () => req.resume());
  };
  req.on('data', onData);
  req.on('end', () => up.end());
  req.on('error', (err) => up.destroy(err));
  req.on('close', () => {
    if (!req.complete) up.destroy(new Error('the client went away mid-upload'));
  });
  up.on('close', () => {
    req.removeListener('data', onData);
    req.resume();
  });
}

/**
 * The request body as http-proxy's `buffer`: http-proxy pipes it into the
 * upstream request at once, but it starts to flow only when that request's
 * connection is open, so a server that refuses the connection leaves the
 * body untouched for the next one.
 */
function heldBody(req, hasBody) {
  const body = {
    started: false,
    pipe: (up) => up.once('socket', (socket) => (socket.connecting ? socket.once('connect', () => start(up)) : start(up))),
  };
  const start = (up) => {
    if (body.started || up.destroyed) return;
    body.started = true;
    if (hasBody) forwardBody(req, up);
    else up.end();
  };
  return body;
}

// Responses whose upstream answer has begun: too late to retry them.
const answered = new WeakSet();

/**
 * The proxy: http-proxy with the balancer's rules on top. Hop-by-hop headers
 * are dropped both ways; an upstream answer cut off midway cuts off the
 * client's, and a client that goes away stops the upstream one.
 */
function createProxy() {
  const proxy = httpProxy.createProxyServer({ xfwd: false });
  proxy.on('proxyReq', (up) => dropHopByHop(up.getHeaderNames(), (h) => up.removeHeader(h)));
  proxy.on('proxyRes', (upRes, req, res) => {
    answered.add(res);
    dropHopByHop(Object.keys(upRes.headers), (h) => delete upRes.headers[h]);
    upRes.on('error', (err) => res.destroy(err));
    upRes.on('close', () => {
      if (!upRes.complete) res.destroy();
    });
    res.on('close', () => {
      if (!upRes.complete) upRes.destroy();
    });
  });
  return proxy;
}

/**
 * Proxy one request. Requests without a body (GET, HEAD) are also retried
 * when the upstream fails before answering.
 */
function forward(proxy, pool, req, res) {
  const tried = new Set();
  const hasBody = !(req.method === 'GET' || req.method === 'HEAD') || req.headers['content-length'] > 0;
  const from = req.socket.remoteAddress;
  const prior = req.headers['x-forwarded-for'];
  const headers = { 'x-forwarded-for': prior ? `${prior}, ${from}` : from };
  let attempts = 0;

  const attempt = () => {
    const server = pool.next(tried);
    if (!server) return fail(res, 503, 'No server available');
    tried.add(server);
    const mine = ++attempts;
    const body = heldBody(req, hasBody);
    // A request with a body gets a fresh connection: a pooled one that the
    // server closed meanwhile would fail after the body started, too late to
    // retry.
    const agent = hasBody ? false : pool.agent;
    proxy.web(req, res, { target: server.url, headers, buffer: body, agent }, (err) => {
      if (mine !== attempts) return; // an earlier attempt's request
      if (answered.has(res)) return res.destroy(err);
      if ((!body.started || !hasBody) && !req.destroyed) {
        if (err.code === 'ECONNREFUSED') pool.markDown(server);
        return attempt();
      }
      fail(res, 502, 'Bad Gateway');
    });
  };
  req.on('close', () => {
    if (!req.complete) res.destroy();
  });
  attempt();
}

/**
 * Start the load balancer.
 * @param {{port: number, host?: string, servers: string[], healthIntervalMs?: number}} opts
 * @returns {Promise<{server: http.Server, pool: Pool, close: () => Promise<void>}>}
 */
async function startLoadBalancer({ port, host = '127.0.0.1', servers, healthIntervalMs = 1000, limits = limitsFromEnv({}) }) {
  const pool = new Pool(servers, { intervalMs: healthIntervalMs });
  await pool.start();
  const proxy = createProxy();
  const server = guardedServer((req, res) => forward(proxy, pool, req, res), limits);
  server.keepAliveTimeout = 5000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    // exclusive: in a cluster worker too, the balancer's own socket.
    server.listen({ port, host, exclusive: true }, resolve);
  });
  const close = () =>
    new Promise((resolve) => {
      pool.stop();
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  return { server, pool, close };
}

function serversFromEnv(env) {
  if (env.SPEEDBOX_SERVERS) return env.SPEEDBOX_SERVERS.split(',').map((s) => s.trim()).filter(Boolean);
  const count = Number(env.SERVERS || 3);
  const first = Number(env.FIRST_SERVER_PORT || 8001);
  const host = env.SERVER_HOST || '127.0.0.1';
  return Array.from({ length: count }, (_, i) => `http://${host}:${first + i}`);
}

/** Run the balancer as the environment says (PORT or the seed's SERVER_PORT, HOST, the servers, the limits). */
function main() {
  const port = Number(process.env.PORT || process.env.SERVER_PORT || 3000);
  const host = process.env.HOST || '127.0.0.1';
  const servers = serversFromEnv(process.env);
  const healthIntervalMs = Number(process.env.HEALTH_INTERVAL_MS || 1000);
  const starting = startLoadBalancer({ port, host, servers, healthIntervalMs, limits: limitsFromEnv(process.env) });
  runUntilStopped('speedbox load balancer', starting, (lb) => lb.pool.stop(), `http://${host}:${port} -> ${servers.join(' ')}`);
}

if (require.main === module) main();

module.exports = { Pool, main, startLoadBalancer, serversFromEnv };
