'use strict';
// Tracker: a cluster primary with one worker per CPU; the workers share the
// listening port (node's cluster) and run app.js. The primary restarts a
// worker that dies, relays live-viewer events between workers, sums the
// workers' batcher counters for /live/stats, and on SIGTERM/SIGINT stops the
// workers, each of which writes out what it has buffered before exiting.
//
// Env (defaults): PORT (8080), HOST (127.0.0.1), WORKERS (CPU count),
// GEO_DB (data/GeoIP2-City-Test.mmdb), REDIS_URL (unset: log files),
// REDIS_KEY (tracker:events), EVENTS_DIR (./tracker-events),
// FLUSH_EVENTS (500), FLUSH_MS (100), MAX_PENDING (1000000),
// ROTATE_BYTES (0: never), LIVE_USER (admin), LIVE_PASSWORD (unset: the
// primary makes one and prints it).
const cluster = require('cluster');
const crypto = require('crypto');
const os = require('os');
const path = require('path');

// The workers inherit a password made here through the environment.
const madePassword = cluster.isPrimary && !process.env.LIVE_PASSWORD;
if (madePassword) process.env.LIVE_PASSWORD = crypto.randomBytes(12).toString('base64url');

function int(name, def, min = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`tracker: ${name} must be an integer >= ${min}, got '${raw}'`);
    process.exit(2);
  }
  return v;
}

const cfg = {
  port: int('PORT', 8080),
  host: process.env.HOST || '127.0.0.1',
  workers: int('WORKERS', os.cpus().length || 1, 1),
  geoDb: process.env.GEO_DB || path.join(__dirname, 'data', 'GeoIP2-City-Test.mmdb'),
  redisUrl: process.env.REDIS_URL || '',
  redisKey: process.env.REDIS_KEY || 'tracker:events',
  eventsDir: path.resolve(process.env.EVENTS_DIR || 'tracker-events'),
  batchEvents: int('FLUSH_EVENTS', 500, 1),
  batchMs: int('FLUSH_MS', 100, 1),
  maxPending: int('MAX_PENDING', 1000000, 1),
  rotateBytes: int('ROTATE_BYTES', 0),
  liveUser: process.env.LIVE_USER || 'admin',
  livePassword: process.env.LIVE_PASSWORD,
};

const logPath = (index) => path.join(cfg.eventsDir, `events-${index}.log`);

if (cluster.isPrimary) primary();
else worker();

function primary() {
  const fs = require('fs');
  if (!cfg.redisUrl) fs.mkdirSync(cfg.eventsDir, { recursive: true });
  const slots = new Array(cfg.workers).fill(null);
  const viewers = new Array(cfg.workers).fill(0);
  const statsWaits = new Map(); // id -> {from, want, got: []}
  let stopping = false;
  let forwarding = false;
  let listening = 0;

  const broadcast = (msg) => {
    for (const w of slots) if (w && w.isConnected()) w.send(msg);
  };
  const updateForwarding = () => {
    const on = viewers.some((n) => n > 0);
    if (on !== forwarding) {
      forwarding = on;
      broadcast({ t: 'tracker:forward', on });
    }
  };

  function fork(index) {
    const w = cluster.fork({ TRACKER_WORKER_INDEX: String(index) });
    slots[index] = w;
    w.on('message', (msg) => {
      if (!msg || typeof msg.t !== 'string') return;
      if (msg.t === 'tracker:ready') {
        if (forwarding) w.send({ t: 'tracker:forward', on: true });
        if (++listening === cfg.workers) {
          const sink = cfg.redisUrl ? `redis list '${cfg.redisKey}' at ${cfg.redisUrl}` : path.join(cfg.eventsDir, 'events-<worker>.log');
          console.log(
            `tracker: ${cfg.workers} workers on http://${cfg.host}:${msg.port}, primary pid ${process.pid}\n` +
              `tracker: events -> ${sink}\n` +
              `tracker: live viewer http://${cfg.host}:${msg.port}/live (user ${cfg.liveUser}` +
              `${madePassword ? `, password ${cfg.livePassword}` : ''})`,
          );
        }
      } else if (msg.t === 'tracker:viewers') {
        viewers[index] = msg.n;
        updateForwarding();
      } else if (msg.t === 'tracker:events') {
        slots.forEach((other, i) => {
          if (other && viewers[i] > 0 && other.isConnected()) other.send(msg);
        });
      } else if (msg.t === 'tracker:stats?') {
        const live = slots.filter((s) => s && s.isConnected());
        statsWaits.set(msg.id, { from: w, want: live.length, got: [] });
        for (const s of live) s.send({ t: 'tracker:stats', id: msg.id });
      } else if (msg.t === 'tracker:stats') {
        const wait = statsWaits.get(msg.id);
        if (!wait) return;
        wait.got.push(msg.stats);
        if (wait.got.length === wait.want) {
          statsWaits.delete(msg.id);
          const sum = {};
          // The counters add up; the Redis client's figures (an object) stay per worker.
          for (const s of wait.got) {
            for (const [k, v] of Object.entries(s)) if (typeof v === 'number') sum[k] = (sum[k] || 0) + v;
          }
          sum.workers = wait.got.length;
          if (wait.from.isConnected()) wait.from.send({ t: 'tracker:stats!', id: msg.id, stats: sum });
        }
      }
    });
    w.on('exit', (code, signal) => {
      if (slots[index] === w) slots[index] = null;
      viewers[index] = 0;
      updateForwarding();
      if (stopping) {
        if (slots.every((s) => s === null)) process.exit(0);
        return;
      }
      listening--;
      console.error(`tracker: worker ${index} (pid ${w.process.pid}) exited (${signal || code}); restarting it`);
      setTimeout(() => fork(index), 200);
    });
  }

  for (let i = 0; i < cfg.workers; i++) fork(i);

  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (slots.every((s) => s === null)) process.exit(0);
    for (const w of slots) if (w) w.process.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function worker() {
  const index = Number(process.env.TRACKER_WORKER_INDEX || 0);
  const { createApp } = require('./app');
  let app;
  try {
    app = createApp({ ...cfg, index, logPath: logPath(index), send: (msg) => process.connected && process.send(msg) });
  } catch (err) {
    console.error(`tracker: worker ${index} cannot start: ${err.message}`);
    process.exit(1);
  }
  process.on('message', app.onMessage);
  app.server.on('error', (err) => {
    console.error(`tracker: cannot listen on ${cfg.host}:${cfg.port}: ${err.message}`);
    process.exit(1);
  });
  app.server.listen(cfg.port, cfg.host, () => {
    process.send({ t: 'tracker:ready', port: app.server.address().port });
  });
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    app.close().then(
      () => process.exit(0),
      (err) => {
        console.error(`tracker: worker ${index}: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}
