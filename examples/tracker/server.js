'use strict';
// Tracker: a cluster (hotpath/cluster, plain mode) with one worker per CPU;
// the workers share the listening port and run app.js. The primary relays
// live-viewer events between workers and sums the workers' batcher counters
// for /live/stats; on SIGTERM/SIGINT each worker writes out what it has
// buffered before exiting.
//
// Env (defaults): PORT (8080), HOST (127.0.0.1), WORKERS (CPU count),
// GEO_DB (data/GeoIP2-City-Test.mmdb), REDIS_URL (unset: log files),
// REDIS_KEY (tracker:events), EVENTS_DIR (./tracker-events),
// FLUSH_EVENTS (500), FLUSH_MS (100), MAX_PENDING (1000000),
// ROTATE_BYTES (0: never), LIVE_USER (admin), LIVE_PASSWORD (unset: the
// primary makes one and prints it).
const cluster = require('cluster');
const { setupPrimary, setupWorker, workerIndex } = require('hotpath/cluster');
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
  if (!cfg.redisUrl) require('fs').mkdirSync(cfg.eventsDir, { recursive: true });
  const sup = setupPrimary({ mode: 'plain', port: cfg.port, host: cfg.host, workers: cfg.workers });
  const viewers = new Array(cfg.workers).fill(0);
  let forwarding = false;

  const updateForwarding = () => {
    const on = viewers.some((n) => n > 0);
    if (on !== forwarding) {
      forwarding = on;
      sup.broadcast({ t: 'tracker:forward', on });
    }
  };
  sup.ready.then(
    (addr) => {
      const sink = cfg.redisUrl ? `redis list '${cfg.redisKey}' at ${cfg.redisUrl}` : path.join(cfg.eventsDir, 'events-<worker>.log');
      console.log(
        `tracker: ${cfg.workers} workers on http://${cfg.host}:${addr.port}, primary pid ${process.pid}\n` +
          `tracker: events -> ${sink}\n` +
          `tracker: live viewer http://${cfg.host}:${addr.port}/live (user ${cfg.liveUser}` +
          `${madePassword ? `, password ${cfg.livePassword}` : ''})`,
      );
    },
    (err) => {
      console.error(`tracker: ${err.message}`);
      process.exit(1);
    },
  );
  sup.on('worker', ({ index }) => forwarding && sup.send(index, { t: 'tracker:forward', on: true }));
  sup.on('exit', ({ index, worker, code, signal, restart }) => {
    viewers[index] = 0;
    updateForwarding();
    if (restart) console.error(`tracker: worker ${index} (pid ${worker.process.pid}) exited (${signal || code}); restarting it`);
  });
  sup.on('message', (msg, { index }) => {
    if (!msg || typeof msg.t !== 'string') return;
    if (msg.t === 'tracker:viewers') {
      viewers[index] = msg.n;
      updateForwarding();
    } else if (msg.t === 'tracker:events') {
      viewers.forEach((n, i) => n > 0 && sup.send(i, msg));
    }
  });
}

function worker() {
  const index = workerIndex();
  const { createApp } = require('./app');
  let app;
  try {
    app = createApp({ ...cfg, index, logPath: logPath(index), send: (msg) => process.connected && process.send(msg) });
  } catch (err) {
    console.error(`tracker: worker ${index} cannot start: ${err.message}`);
    process.exit(1);
  }
  process.on('message', app.onMessage);
  // On SIGTERM each worker writes out what it has buffered before exiting.
  setupWorker(app.server, { close: () => app.close(), onAsk: () => app.stats() });
}
