'use strict';
// Drives the tracker with autocannon on 127.0.0.1: examples/tracker
// (hotpath enrichment: events.clientIp, GeoReader, ua inside the native
// formatter, native batching) against bench/tracker/js-tracker.js (the
// same service enriched in JavaScript: ua-parser-js, maxmind, JS batching),
// in the same run, with the same requests (user agents of the user-agents
// corpus, addresses in proxy headers, some known to the geo database).
// Prints a table and writes bench/results/tracker.json.
//
// Env: BENCH_WORKERS (1), BENCH_CONNECTIONS (64), BENCH_SECONDS (10),
// BENCH_ROUNDS (2: alternating runs per variant, the best kept).
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { settings, userAgents, load, bestOf, printHeading, printTable, writeResults } = require('../support/autocannon');
const { freePort } = require('../../tests/support/redis');

const root = path.join(__dirname, '..', '..');

const variants = {
  hotpath: path.join(root, 'examples', 'tracker', 'server.js'),
  js: path.join(__dirname, 'js-tracker.js'),
};

// The most common 500 user agents of the corpus, each repeated by weight.
const UAS = userAgents(500);
const KNOWN = ['81.2.69.160', '89.160.20.112', '216.160.83.56', '2.125.160.216', '175.16.199.1', '2001:218::1'];
const TYPES = ['app_open', 'view', 'purchase', 'click'];
function requestFor(i) {
  const known = i % 3 === 0;
  const ip = known ? KNOWN[i % KNOWN.length] : `${(i * 7) % 223 + 1}.${(i * 13) % 256}.${(i * 31) % 256}.${i % 256}`;
  const header = ['x-push-ip', 'x-forwarded-for', 'x-real-ip'][i % 3];
  return {
    method: 'GET',
    path: `/t/${TYPES[i % TYPES.length]}?deviceid=d${i % 997}&ts=${1510826000000 + i}&referrer=website`,
    headers: { [header]: header === 'x-forwarded-for' ? `${ip}, 10.0.0.1` : ip, 'user-agent': UAS[(i * 17) % UAS.length] },
  };
}
const REQUESTS = Array.from({ length: 4096 }, (_, i) => requestFor(i));

async function start(variant, dir) {
  const port = await freePort();
  const proc = spawn(process.execPath, [variants[variant]], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: String(settings.workers), EVENTS_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.setEncoding('utf8');
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (c) => {
      out += c;
      if (/events -> /.test(out) && out.includes(`:${port}`)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`${variant} exited (${code}): ${out}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        proc.once('exit', resolve);
        proc.kill('SIGTERM');
      }),
  };
}

function lines(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => /^events-\d+\.log$/.test(f))
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
}

async function sameMessages() {
  // The same 400 requests to each variant, one at a time; compare the messages
  // with ts and klag taken out.
  const http = require('http');
  const got = {};
  for (const v of Object.keys(variants)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hotpath-bench-tracker-${v}-`));
    const s = await start(v, dir);
    for (let i = 0; i < 400; i++) {
      const r = REQUESTS[i];
      await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: s.port, path: r.path, headers: { host: 'bench', ...r.headers } }, (res) => {
          res.resume();
          res.on('end', resolve);
        }).on('error', reject);
      });
    }
    await s.stop();
    got[v] = lines(dir).map((l) => l.replace(/&ts=\d+/, '&ts=').replace(/&klag=\d+/, '&klag='));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const js = new Map();
  for (const l of got.js) js.set(l, (js.get(l) || 0) + 1);
  let same = 0;
  for (const l of got.hotpath) {
    if (js.get(l) > 0) {
      same++;
      js.set(l, js.get(l) - 1);
    }
  }
  return { total: got.hotpath.length, jsTotal: got.js.length, same };
}

async function measure(variant) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hotpath-bench-tracker-${variant}-`));
  const s = await start(variant, dir);
  await load(s.port, 2, REQUESTS); // warm-up: JIT, caches, connections
  const r = await load(s.port, settings.seconds, REQUESTS);
  await s.stop();
  const written = lines(dir).length;
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    requests_per_s: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non_2xx: r.non2xx,
    errors: r.errors,
    total_2xx: r['2xx'],
    events_written: written,
  };
}

async function main() {
  const check = await sameMessages();
  const best = await bestOf(measure);
  printHeading('tracker');
  console.log(`same messages for the same 400 requests: ${check.same}/${check.total} (js wrote ${check.jsTotal})\n`);
  console.log('(written: events in the log files after shutdown, warm-up included)');
  const ratio = printTable('enrichment', [['written', 'events_written'], ['2xx', 'total_2xx']], best);
  writeResults('tracker', { same_messages: check }, best, ratio);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
