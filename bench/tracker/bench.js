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
const autocannon = require('autocannon');
const { freePort } = require('../../tests/support/redis');

const root = path.join(__dirname, '..', '..');
const WORKERS = Number(process.env.BENCH_WORKERS || 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 64);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 2);

const variants = {
  hotpath: path.join(root, 'examples', 'tracker', 'server.js'),
  js: path.join(__dirname, 'js-tracker.js'),
};

// The most common 500 user agents of the corpus, each repeated by weight.
const corpus = JSON.parse(fs.readFileSync(require.resolve('user-agents').replace(/index\.c?js$/, 'user-agents.json'), 'utf8'));
const UAS = corpus.slice(0, 500).map((e) => e.userAgent);
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
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WORKERS: String(WORKERS), EVENTS_DIR: dir },
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

function load(port, seconds) {
  let i = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          const r = REQUESTS[i++ & 4095];
          return { ...req, method: r.method, path: r.path, headers: { ...req.headers, ...r.headers } };
        },
      },
    ],
  });
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
  await load(s.port, 2); // warm-up: JIT, caches, connections
  const r = await load(s.port, SECONDS);
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
  const best = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of round % 2 ? ['js', 'hotpath'] : ['hotpath', 'js']) {
      const m = await measure(v);
      if (!best[v] || m.requests_per_s > best[v].requests_per_s) best[v] = m;
    }
  }
  const machine = { cpu: os.cpus()[0].model, cores: os.cpus().length, node: process.version };
  const pkg = (n) => require(`${n}/package.json`).version;
  console.log(
    `tracker under autocannon (${CONNECTIONS} connections, ${SECONDS} s after a 2 s warm-up, best of ${ROUNDS}), ` +
      `${WORKERS} worker(s); ratio = hotpath / js (requests/s higher is better, p99 lower is better)`,
  );
  console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ua-parser-js ${pkg('ua-parser-js')}, maxmind ${pkg('maxmind')}, autocannon ${pkg('autocannon')}`);
  console.log(`same messages for the same 400 requests: ${check.same}/${check.total} (js wrote ${check.jsTotal})\n`);
  const pad = (s, n) => String(s).padEnd(n);
  const num = (v, n = 12) => String(typeof v === 'number' ? Math.round(v * 100) / 100 : v).padStart(n);
  console.log('(written: events in the log files after shutdown, warm-up included)');
  console.log(`${pad('enrichment', 12)}${'req/s'.padStart(12)}${'p50 ms'.padStart(12)}${'p99 ms'.padStart(12)}${'written'.padStart(12)}${'2xx'.padStart(12)}`);
  for (const v of ['hotpath', 'js']) {
    const m = best[v];
    console.log(`${pad(v, 12)}${num(m.requests_per_s)}${num(m.p50_ms)}${num(m.p99_ms)}${num(m.events_written)}${num(m.total_2xx)}`);
  }
  const ratio = {
    requests_per_s: best.hotpath.requests_per_s / best.js.requests_per_s,
    p99: best.hotpath.p99_ms / best.js.p99_ms,
  };
  console.log(`${pad('ratio', 12)}${num(ratio.requests_per_s.toFixed(2) + 'x')}${''.padStart(12)}${num(ratio.p99.toFixed(2) + 'x')}`);
  const out = path.join(__dirname, '..', 'results', 'tracker.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    JSON.stringify(
      { machine, workers: WORKERS, connections: CONNECTIONS, seconds: SECONDS, rounds: ROUNDS, same_messages: check, results: best, ratio },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
