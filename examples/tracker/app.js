'use strict';
// One tracker worker: answers every request at once, then enriches tracking
// calls (client IP, geo, user agent) and appends the consumer message to a
// native batcher (hotpath.events.EventLog) that writes a local log file or a
// Redis list. Serves the live viewer (/live, basic auth) and its WebSocket.
//
// Live events cross workers through the cluster primary (see server.js):
// while any viewer is open anywhere, every worker forwards its formatted
// messages to the primary in small batches and the primary hands them to
// the workers that hold viewers.
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { WebSocketServer } = require('ws');
const hotpath = require('../..');
const { askAll } = require('hotpath/cluster');

const OK_BODY = '{"status":"ok"}';
const OK_HEADERS = { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) };
const LIVE_PAGE = fs.readFileSync(path.join(__dirname, 'live.html'));
const FORWARD_MS = 50;
const LIVE_COOKIE = 'tracker_live';

function cookie(req, name) {
  for (const part of String(req.headers.cookie || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return '';
}

// A browser names the page that opens a WebSocket in Origin: only the live
// page itself may (another site's page would ride on the viewer's
// credentials). Clients that are not browsers send none.
function sameOrigin(req) {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** The event type of `/t/<eventType>?...`, or '' for any other path. */
function eventTypeOf(url) {
  if (url.length < 4 || url.charCodeAt(0) !== 47 || url.charCodeAt(1) !== 116 || url.charCodeAt(2) !== 47) return '';
  const q = url.indexOf('?', 3);
  return q < 0 ? url.slice(3) : url.slice(3, q);
}

function queryOf(url) {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * @param {object} cfg  see server.js for the environment it comes from
 * @param {number} cfg.index  this worker's slot
 * @param {string} cfg.geoDb
 * @param {string} [cfg.redisUrl]
 * @param {string} [cfg.redisKey]
 * @param {string} cfg.logPath
 * @param {number} cfg.batchEvents
 * @param {number} cfg.batchMs
 * @param {number} cfg.maxPending
 * @param {number} cfg.rotateBytes
 * @param {string} cfg.liveUser
 * @param {string} cfg.livePassword
 * @param {(msg: object) => void} cfg.send  message to the primary
 */
function createApp(cfg) {
  const geo = new hotpath.GeoReader(cfg.geoDb);
  const log = cfg.redisUrl
    ? hotpath.events.EventLog.redis(cfg.redisUrl, {
        key: cfg.redisKey,
        batchEvents: cfg.batchEvents,
        batchMs: cfg.batchMs,
        maxPending: cfg.maxPending,
      })
    : new hotpath.events.EventLog(cfg.logPath, {
        batchEvents: cfg.batchEvents,
        batchMs: cfg.batchMs,
        maxPending: cfg.maxPending,
        rotateBytes: cfg.rotateBytes,
      });

  let refused = 0; // appends the batcher refused (HP_EUNAVAILABLE); it counts them as dropped too
  let forwarding = false; // a viewer is open on some worker
  let outbox = [];
  let outboxTimer = null;
  const viewers = new Set();

  const expectedAuth = 'Basic ' + Buffer.from(`${cfg.liveUser}:${cfg.livePassword}`).toString('base64');
  const authorized = (req) => safeEqual(req.headers.authorization || '', expectedAuth);
  const deny = (res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="tracker live", charset="UTF-8"', 'content-type': 'text/plain' });
    res.end('authentication required\n');
  };

  function flushOutbox() {
    outboxTimer = null;
    if (outbox.length === 0) return;
    const list = outbox;
    outbox = [];
    cfg.send({ t: 'tracker:events', list });
  }

  function track(req, eventType, receivedMs) {
    const headers = req.headers;
    const ip = hotpath.events.clientIp(headers, req.socket.remoteAddress) || '';
    let country = '';
    let city = '';
    if (ip) {
      try {
        const g = geo.lookup(ip);
        if (g) {
          country = g.countryCode || '';
          city = g.city || '';
        }
      } catch {
        // Not an address (a header can say anything): no geo, ip= stays empty.
      }
    }
    const event = {
      eventType,
      query: queryOf(req.url),
      host: headers.host,
      ip,
      userAgent: headers['user-agent'],
      country,
      city,
      receivedMs,
    };
    try {
      if (forwarding) {
        const message = hotpath.events.format(event);
        log.push(message);
        outbox.push(message);
        if (!outboxTimer) outboxTimer = setTimeout(flushOutbox, FORWARD_MS);
      } else {
        log.append(event);
      }
    } catch (err) {
      if (err.code === 'HP_EUNAVAILABLE') refused++;
      else if (err.code !== 'HP_EINVAL') throw err; // HP_EINVAL: an oversized event type or query
    }
  }

  function liveToken(expires) {
    return crypto.createHmac('sha256', `${cfg.liveUser}:${cfg.livePassword}`).update(String(expires)).digest('hex');
  }

  function serveLive(req, res) {
    if (!authorized(req)) return deny(res);
    // The page's WebSocket proves itself with a cookie, not a token in the
    // URL (URLs end up in logs and histories).
    const expires = Date.now() + 3600 * 1000;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'set-cookie': `${LIVE_COOKIE}=${expires}.${liveToken(expires)}; Path=/live; HttpOnly; SameSite=Strict; Max-Age=3600`,
    });
    res.end(LIVE_PAGE);
  }

  // Every worker's counters, summed; the Redis client's figures (an object)
  // stay per worker.
  async function serveStats(req, res) {
    if (!authorized(req)) return deny(res);
    let answers;
    try {
      answers = await askAll('stats');
    } catch (err) {
      res.writeHead(504, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: err.message }));
    }
    const sum = { workers: answers.length };
    for (const { reply } of answers) {
      for (const [k, v] of Object.entries(reply)) if (typeof v === 'number') sum[k] = (sum[k] || 0) + v;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(sum));
  }

  const server = http.createServer((req, res) => {
    const receivedMs = Date.now();
    const url = req.url;
    if (url.startsWith('/live')) {
      if (url === '/live' || url.startsWith('/live?') || url.startsWith('/live/?')) return serveLive(req, res);
      if (url === '/live/stats') return serveStats(req, res);
    }
    res.writeHead(200, OK_HEADERS);
    res.end(OK_BODY);
    if (req.method !== 'GET') return;
    const eventType = eventTypeOf(url);
    if (eventType) track(req, eventType, receivedMs);
  });
  server.keepAliveTimeout = 65000;

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url, 'http://tracker');
    const [expires, mac] = cookie(req, LIVE_COOKIE).split('.');
    const tokenOk = Number(expires) > Date.now() && mac && safeEqual(mac, liveToken(expires));
    if (!sameOrigin(req)) return socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    if (u.pathname !== '/live/ws' || !(tokenOk || authorized(req))) {
      return socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.filter = u.searchParams.get('filter') || '';
      viewers.add(ws);
      cfg.send({ t: 'tracker:viewers', n: viewers.size });
      ws.send(JSON.stringify({ t: 'hello', worker: cfg.index, filter: ws.filter }));
      ws.on('close', () => {
        viewers.delete(ws);
        cfg.send({ t: 'tracker:viewers', n: viewers.size });
      });
      ws.on('error', () => ws.terminate());
    });
  });

  function deliver(list) {
    for (const ws of viewers) {
      const picked = ws.filter ? list.filter((m) => m.startsWith(ws.filter + ' ')) : list;
      if (picked.length && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'events', list: picked }));
    }
  }

  /** Messages from the primary. */
  function onMessage(msg) {
    if (!msg || typeof msg.t !== 'string') return;
    if (msg.t === 'tracker:forward') {
      forwarding = msg.on;
      if (!forwarding) outbox = [];
    } else if (msg.t === 'tracker:events') {
      deliver(msg.list);
    }
  }

  function stats() {
    return { ...log.stats(), refused };
  }

  async function close() {
    for (const ws of viewers) ws.close(1001, 'shutting down');
    wss.close();
    await new Promise((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    if (outboxTimer) clearTimeout(outboxTimer);
    const before = stats();
    try {
      await log.close();
    } catch (err) {
      err.message += ` (${before.pending} events were waiting; ${before.dropped} dropped before)`;
      throw err;
    } finally {
      geo.close();
    }
  }

  return { server, onMessage, stats, close, sink: cfg.redisUrl ? `redis list ${cfg.redisKey}` : cfg.logPath };
}

module.exports = { createApp, eventTypeOf };
