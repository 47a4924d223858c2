'use strict';
// co-traffic on hotpath: a cluster (hotpath/cluster, plain mode) with one
// worker per CPU sharing the port. Each worker loads the recipes, watches
// their files, subscribes
// to Redis when REDIS_URL is set, and answers /ad natively. A point update
// posted to /admin/update on any worker is applied by every worker before
// the answer (the primary relays it).
//
// Env (defaults): PORT (5000), HOST (127.0.0.1), WORKERS (CPU count),
// TRAFFIC_KEY (required unless TRAFFIC_DEMO=1, which makes a fresh one and
// prints it), TRAFFIC_ADMIN_TOKEN (unset: /admin/update is off; a demo makes
// one), TRAFFIC_DEBUGGING (1; 0 turns the debugging=debugging answers off),
// OFFERS_RECIPE_PATH / CAMPAIGNS_RECIPE_PATH (data/offersRecipe.json.gz,
// data/campaignsRecipe.json.gz), MAXMIND_PATH / MAXMIND_PATH_ISP (GEO_CITY /
// GEO_ISP are aliases; default: the MaxMind test databases in
// tests/fixtures/maxmind/test-data),
// REDIS_URL (unset: no pub/sub), REDIS_CHANNEL (co-traffic:recipes),
// TRAFFIC_CAPS_STORE (where offer caps are counted, a limits spec: REDIS_URL
// when set, else sqlite:$TMPDIR/traffic/caps.db),
// WATCH_INTERVAL_MS (1000), FALLBACK_URL (https://example.com/).
// S3_BUCKET_NAME (unset: the local files above): the recipes come from the
// objects S3_OFFERS_RECIPE_PATH / S3_CAMPAIGNS_RECIPE_PATH of that bucket,
// checked every S3_CHECK_INTERVAL_MS (20000); S3_ENDPOINT for an
// S3-compatible store, AWS_REGION and the AWS_* credentials (s3-recipes.js).
// bench/traffic/server-js.js runs the same service on a pure-JS backend.
const cluster = require('cluster');
const { setupPrimary, setupWorker, askAll, workerIndex } = require('hotpath/cluster');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseKey } = require('./token');
const { s3FromEnv } = require('./s3-recipes');

const FIXTURES = path.join(__dirname, '..', '..', 'tests', 'fixtures', 'maxmind', 'test-data');

function int(name, def, min = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`traffic: ${name} must be an integer >= ${min}, got '${raw}'`);
    process.exit(2);
  }
  return v;
}

// A demo run makes its secrets in the primary; the workers inherit them
// through the environment.
function demoSecrets(env) {
  if (env.TRAFFIC_DEMO !== '1' || !cluster.isPrimary) return;
  if (!env.TRAFFIC_KEY) env.TRAFFIC_KEY = crypto.randomBytes(32).toString('hex');
  if (!env.TRAFFIC_ADMIN_TOKEN) env.TRAFFIC_ADMIN_TOKEN = crypto.randomBytes(16).toString('hex');
}

function config(impl) {
  const env = process.env;
  demoSecrets(env);
  if (!env.TRAFFIC_KEY) {
    console.error('traffic: set TRAFFIC_KEY to 64 hex digits (or TRAFFIC_DEMO=1 for a demo with a fresh key)');
    process.exit(2);
  }
  let key;
  try {
    key = parseKey(env.TRAFFIC_KEY);
  } catch (err) {
    console.error(`traffic: ${err.message}`);
    process.exit(2);
  }
  return {
    impl,
    port: int('PORT', 5000),
    host: process.env.HOST || '127.0.0.1',
    workers: int('WORKERS', os.cpus().length || 1, 1),
    key,
    demo: env.TRAFFIC_DEMO === '1',
    adminToken: env.TRAFFIC_ADMIN_TOKEN || '',
    debugging: env.TRAFFIC_DEBUGGING !== '0',
    offersPath: process.env.OFFERS_RECIPE_PATH || path.join(__dirname, 'data', 'offersRecipe.json.gz'),
    campaignsPath: process.env.CAMPAIGNS_RECIPE_PATH || path.join(__dirname, 'data', 'campaignsRecipe.json.gz'),
    geoCity: env.MAXMIND_PATH || env.GEO_CITY || path.join(FIXTURES, 'GeoIP2-City-Test.mmdb'),
    geoIsp: env.MAXMIND_PATH_ISP ?? env.GEO_ISP ?? path.join(FIXTURES, 'GeoIP2-ISP-Test.mmdb'),
    redisUrl: process.env.REDIS_URL || '',
    capsStore: env.TRAFFIC_CAPS_STORE || env.REDIS_URL || `sqlite:${path.join(os.tmpdir(), 'traffic', 'caps.db')}`,
    redisChannel: process.env.REDIS_CHANNEL || 'co-traffic:recipes',
    watchIntervalMs: int('WATCH_INTERVAL_MS', 1000, 1),
    s3: s3FromEnv(env),
    s3IntervalMs: int('S3_CHECK_INTERVAL_MS', 20000, 1),
    fallbackUrl: process.env.FALLBACK_URL || 'https://example.com/',
  };
}

function primary(cfg) {
  if (cfg.capsStore.startsWith('sqlite:')) {
    fs.mkdirSync(path.dirname(cfg.capsStore.slice(7)), { recursive: true, mode: 0o700 });
    // Make the schema once, before the workers race for it.
    require('../..').openLimiter(cfg.capsStore).close();
  }
  const sup = setupPrimary({ mode: 'plain', port: cfg.port, host: cfg.host, workers: cfg.workers });
  let demoToken = null;

  sup.ready.then(
    (addr) => {
      const base = `http://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${addr.port}`;
      console.log(`traffic (${cfg.impl}): ${cfg.workers} workers on ${base}, primary pid ${process.pid}`);
      if (cfg.demo) {
        console.log(`traffic: demo key TRAFFIC_KEY=${process.env.TRAFFIC_KEY}`);
        console.log(`traffic: demo admin token TRAFFIC_ADMIN_TOKEN=${cfg.adminToken}`);
      }
      if (demoToken) {
        console.log(`traffic: try ${base}/ad?offer=${demoToken}`);
        console.log(`traffic: steps ${base}/ad?offer=${demoToken}&debugging=debugging`);
      }
      console.log(`traffic: health ${base}/health`);
    },
    (err) => {
      console.error(`traffic: ${err.message}`);
      process.exit(1);
    },
  );
  sup.on('exit', ({ index, worker, code, signal, restart }) => {
    if (restart) console.error(`traffic: worker ${index} (pid ${worker.process.pid}) exited (${signal || code}); restarting it`);
  });
  // Worker 0 sends the demo token before it is ready.
  sup.on('message', (msg) => {
    if (msg && msg.t === 'traffic:token') demoToken = msg.token;
  });
}

async function worker(cfg, createBackend) {
  const index = workerIndex();
  const log = (m) => console.error(`traffic: worker ${index}: ${m}`);
  const { createApp } = require('./app');
  let backend;
  try {
    backend = await createBackend({ ...cfg, log });
  } catch (err) {
    console.error(`traffic: worker ${index} cannot start: ${err.message}`);
    process.exit(1);
  }

  // Point updates from /admin/update go to every worker (through the
  // primary); the answer is this worker's result. A worker that dies
  // meanwhile never answers: askAll gives up after 5 s.
  const broadcast = async (text) => {
    const own = (await askAll(text)).find((a) => a.index === index);
    if (own.error) throw new Error(own.error);
    return own.reply;
  };

  const app = createApp(cfg, backend, broadcast);
  if (index === 0) process.send({ t: 'traffic:token', token: app.demoToken() });
  setupWorker(app.server, { close: () => app.close(), onAsk: (text) => backend.update(text) });
}

/**
 * Runs the service (the primary, or a worker: cluster workers run the same
 * script) on `createBackend`, named `impl` in the banner.
 */
function run(impl, createBackend) {
  const cfg = config(impl);
  if (cluster.isPrimary) primary(cfg);
  else worker(cfg, createBackend);
}

if (require.main === module) run('hotpath', require('./backend-hotpath').createBackend);

module.exports = { run };
