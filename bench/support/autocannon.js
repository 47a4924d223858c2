'use strict';
// What the HTTP benches share: settings from the environment, autocannon
// runs cycling through a fixed list of requests, the best of alternating
// rounds, and the report of hotpath against the pure-JS variant (a table on
// stdout, JSON in bench/results/).
//
// Env: BENCH_WORKERS (1), BENCH_CONNECTIONS (64), BENCH_SECONDS (10),
// BENCH_ROUNDS (2: alternating runs per variant, the best kept).
const fs = require('fs');
const os = require('os');
const path = require('path');
const autocannon = require('autocannon');

const settings = {
  workers: Number(process.env.BENCH_WORKERS || 1),
  connections: Number(process.env.BENCH_CONNECTIONS || 64),
  seconds: Number(process.env.BENCH_SECONDS || 10),
  rounds: Number(process.env.BENCH_ROUNDS || 2),
};

// The first `count` user agents of the user-agents corpus (the most common).
function userAgents(count) {
  const file = require.resolve('user-agents').replace(/index\.c?js$/, 'user-agents.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'))
    .slice(0, count)
    .map((e) => e.userAgent);
}

// `seconds` of load on 127.0.0.1:port; each request is the next of
// `requests` ({method?, path, headers}), GET unless it says otherwise.
function load(port, seconds, requests) {
  let i = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: settings.connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (req) => {
          const r = requests[i++ % requests.length];
          return { ...req, method: r.method || 'GET', path: r.path, headers: { ...req.headers, ...r.headers } };
        },
      },
    ],
  });
}

// measure(variant) for 'hotpath' and 'js', `rounds` times each in
// alternating order; keeps the run with the most requests/s per variant.
async function bestOf(measure) {
  const best = {};
  for (let round = 0; round < settings.rounds; round++) {
    for (const v of round % 2 ? ['js', 'hotpath'] : ['hotpath', 'js']) {
      const m = await measure(v);
      if (!best[v] || m.requests_per_s > best[v].requests_per_s) best[v] = m;
    }
  }
  return best;
}

function machine() {
  return { cpu: os.cpus()[0].model, cores: os.cpus().length, node: process.version };
}

// What was measured, where, and with which versions of the JS competitors.
function printHeading(title) {
  const { connections, seconds, rounds, workers } = settings;
  const m = machine();
  const pkg = (n) => require(`${n}/package.json`).version;
  console.log(
    `${title} under autocannon (${connections} connections, ${seconds} s after a 2 s warm-up, best of ${rounds}), ` +
      `${workers} worker(s); ratio = hotpath / js (requests/s higher is better, p99 lower is better)`,
  );
  console.log(
    `${m.cpu}, ${m.cores} cores, node ${m.node}, ua-parser-js ${pkg('ua-parser-js')}, ` +
      `maxmind ${pkg('maxmind')}, autocannon ${pkg('autocannon')}`,
  );
}

// One row per variant with `columns` ([title, key] after req/s, p50, p99),
// then the ratio row; returns the ratios.
function printTable(first, columns, best) {
  const all = [['req/s', 'requests_per_s'], ['p50 ms', 'p50_ms'], ['p99 ms', 'p99_ms'], ...columns];
  const pad = (s, n) => String(s).padEnd(n);
  const num = (v, n = 12) => String(typeof v === 'number' ? Math.round(v * 100) / 100 : v).padStart(n);
  console.log(`${pad(first, 12)}${all.map(([title]) => title.padStart(12)).join('')}`);
  for (const v of ['hotpath', 'js']) console.log(`${pad(v, 12)}${all.map(([, key]) => num(best[v][key])).join('')}`);
  const ratio = {
    requests_per_s: best.hotpath.requests_per_s / best.js.requests_per_s,
    p99: best.hotpath.p99_ms / best.js.p99_ms,
  };
  console.log(`${pad('ratio', 12)}${num(ratio.requests_per_s.toFixed(2) + 'x')}${''.padStart(12)}${num(ratio.p99.toFixed(2) + 'x')}`);
  return ratio;
}

// bench/results/<name>.json: the settings, `checks`, the best runs and the ratios.
function writeResults(name, checks, best, ratio) {
  const { workers, connections, seconds, rounds } = settings;
  const out = path.join(__dirname, '..', 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const result = { machine: machine(), workers, connections, seconds, rounds, ...checks, results: best, ratio };
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}

module.exports = { settings, userAgents, load, bestOf, printHeading, printTable, writeResults };
