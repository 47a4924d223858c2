'use strict';
// The tracker as it is written without hotpath, for bench/tracker: the same
// routes, cluster and batching policy as examples/tracker, with the
// enrichment in JavaScript: client IP from the headers, geo from the
// `maxmind` package, device from `ua-parser-js`, the message formatted with
// querystring.escape, batches appended to a log file per worker and fsynced
// (the default policy of hotpath's EventLog). No live viewer.
//
// Env: PORT (8080), HOST (127.0.0.1), WORKERS (CPU count), GEO_DB (the
// tracker's bundled database), EVENTS_DIR (./tracker-events-js),
// FLUSH_EVENTS (500), FLUSH_MS (100).
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');
const { escape } = require('querystring');

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST || '127.0.0.1';
const workers = Number(process.env.WORKERS || os.cpus().length || 1);
const geoDb = process.env.GEO_DB || path.join(__dirname, '..', '..', 'examples', 'tracker', 'data', 'GeoIP2-City-Test.mmdb');
const eventsDir = path.resolve(process.env.EVENTS_DIR || 'tracker-events-js');
const batchEvents = Number(process.env.FLUSH_EVENTS || 500);
const batchMs = Number(process.env.FLUSH_MS || 100);

const OK_BODY = '{"status":"ok"}';
const OK_HEADERS = { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) };
const TYPES = { mobile: 'Mobile', tablet: 'Tablet', smarttv: 'Smarttv', console: 'Console', wearable: 'Wearable', embedded: 'Embedded' };

function firstHeader(v) {
  if (Array.isArray(v)) v = v.join(',');
  if (typeof v !== 'string') return '';
  return v.trim();
}

function clientIp(headers, remote) {
  const push = firstHeader(headers['x-push-ip']);
  if (push) return push;
  const fwd = firstHeader(headers['x-forwarded-for']).split(',')[0].trim();
  if (fwd) return fwd;
  const real = firstHeader(headers['x-real-ip']);
  if (real) return real;
  return remote || '';
}

// Lower-case hex of the address bytes without leading zero bytes.
function ipHex(ip) {
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  let bytes;
  const v = net.isIP(ip);
  if (v === 4) {
    bytes = ip.split('.').map(Number);
  } else if (v === 6) {
    let text = ip;
    const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (tail) {
      const [a, b, c, d] = tail[1].split('.').map(Number);
      text = text.slice(0, -tail[1].length) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
    }
    const [head, rest] = text.split('::');
    const h = head ? head.split(':') : [];
    const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
    const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
    bytes = groups.flatMap((g) => {
      const n = parseInt(g, 16);
      return [n >> 8, n & 255];
    });
  } else {
    return '';
  }
  let first = 0;
  while (first + 1 < bytes.length && bytes[first] === 0) first++;
  let out = '';
  for (let i = first; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, '0');
  return out;
}

function rawPart(s) {
  // Space, control characters and DEL would break the line format.
  return /[\x00-\x20\x7f]/.test(s) ? s.replace(/[\x00-\x20\x7f]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')) : s;
}

async function worker() {
  const maxmind = require('maxmind');
  const { UAParser } = require('ua-parser-js');
  const reader = await maxmind.open(geoDb);
  const parser = new UAParser();
  const index = Number(process.env.JS_TRACKER_INDEX || 0);
  const fd = fs.openSync(path.join(eventsDir, `events-${index}.log`), 'a');

  let batch = [];
  let timer = null;
  let writing = Promise.resolve();
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (batch.length === 0) return writing;
    const buf = Buffer.from(batch.join('\n') + '\n');
    batch = [];
    writing = writing.then(
      () =>
        new Promise((resolve) => {
          fs.write(fd, buf, (err) => {
            if (err) console.error(`js-tracker: ${err.message}`);
            fs.fsync(fd, () => resolve());
          });
        }),
    );
    return writing;
  };

  function track(req, eventType, receivedMs) {
    const headers = req.headers;
    const ip = clientIp(headers, req.socket.remoteAddress);
    let country = 'XX';
    let city = 'XX';
    if (net.isIP(ip)) {
      const g = reader.get(ip);
      if (g) {
        if (g.country && g.country.iso_code) country = escape(g.country.iso_code);
        if (g.city && g.city.names && g.city.names.en) city = escape(g.city.names.en);
      }
    }
    const ua = parser.setUA(headers['user-agent'] || '').getResult();
    const os = ua.os.name === 'Mac OS' ? 'Mac' : ua.os.name || '';
    const type = TYPES[ua.device.type] || 'Desktop';
    const q = req.url.indexOf('?');
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const klag = Math.max(0, Date.now() - receivedMs);
    batch.push(
      `${rawPart(eventType)} type=${type}&browser=${escape(ua.browser.name || '')}&engine=${escape(ua.engine.name || '')}` +
        `&version=${escape(ua.browser.version || '')}&os=${escape(os)}&host=${escape(headers.host || '')}&ts=${receivedMs}` +
        `&ip=${ipHex(ip)}&klag=${klag}&country=${country}&city=${city} ${query ? rawPart(query) : 'e'}`,
    );
    if (batch.length >= batchEvents) flush();
    else if (!timer) timer = setTimeout(flush, batchMs);
  }

  const server = http.createServer((req, res) => {
    const receivedMs = Date.now();
    res.writeHead(200, OK_HEADERS);
    res.end(OK_BODY);
    const url = req.url;
    if (req.method !== 'GET' || !url.startsWith('/t/')) return;
    const q = url.indexOf('?');
    const eventType = q < 0 ? url.slice(3) : url.slice(3, q);
    if (eventType) track(req, eventType, receivedMs);
  });
  server.keepAliveTimeout = 65000;
  server.listen(port, host, () => process.send({ t: 'ready', port: server.address().port }));
  const stop = () => {
    server.close();
    server.closeIdleConnections();
    flush().then(() => {
      fs.closeSync(fd);
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (cluster.isPrimary) {
  fs.mkdirSync(eventsDir, { recursive: true });
  let ready = 0;
  let stopping = false;
  const alive = new Set();
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ JS_TRACKER_INDEX: String(i) });
    alive.add(w);
    w.on('message', (msg) => {
      if (msg && msg.t === 'ready' && ++ready === workers) {
        console.log(`js-tracker: ${workers} workers on http://${host}:${msg.port}, events -> ${eventsDir}/events-<worker>.log`);
      }
    });
    w.on('exit', () => {
      alive.delete(w);
      if (alive.size === 0) process.exit(stopping ? 0 : 1);
    });
  }
  const stop = () => {
    stopping = true;
    for (const w of alive) w.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  worker().catch((err) => {
    console.error(`js-tracker: ${err.message}`);
    process.exit(1);
  });
}
