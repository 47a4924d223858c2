'use strict';
// Drives the traffic service with autocannon on 127.0.0.1: examples/traffic
// on hotpath (server.js: native recipe tables and rules, GeoReader, ua)
// against the same service in pure JS (server-js.js: a Map of JSON strings +
// JSON.parse, maxmind, ua-parser-js), in the same run, with the same
// requests: /ad tokens for 2,000 offer/campaign pairs of the sample data,
// addresses in X-Forwarded-For (a third known to the test databases), user
// agents of the user-agents corpus. First checks that both variants decide
// the same for the same 300 requests. Prints a table and writes
// bench/results/traffic.json.
//
// Env: BENCH_WORKERS (1), BENCH_CONNECTIONS (64), BENCH_SECONDS (10),
// BENCH_ROUNDS (2: alternating runs per variant, the best kept).
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { settings, userAgents, load, bestOf, printHeading, printTable, writeResults } = require('../support/autocannon');
const { startTraffic, request } = require('../../tests/support/traffic');
const { parseKey, encrypt } = require('../../examples/traffic/token');

const data = path.join(__dirname, '..', '..', 'examples', 'traffic', 'data');

function ids(file, key) {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(data, file))).toString()).map((r) => r[key]);
}

const offerIds = ids('offersRecipe.json.gz', 'offerId');
const campaignIds = ids('campaignsRecipe.json.gz', 'campaignId');
// The bench's own key, handed to both variants; each run counts offer caps
// in a fresh SQLite file, so no run starts with another's clicks.
const KEY_HEX = '5be1c0a2'.repeat(8);
const key = parseKey(KEY_HEX);
const runEnv = () => ({
  TRAFFIC_KEY: KEY_HEX,
  TRAFFIC_CAPS_STORE: `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'traffic-bench-')), 'caps.db')}`,
});
const TOKENS = Array.from({ length: 2000 }, (_, i) =>
  encrypt(key, { offerId: offerIds[(i * 7919) % offerIds.length], campaignId: campaignIds[(i * 104729) % campaignIds.length] }),
);
const UAS = userAgents(500);
const KNOWN = ['81.2.69.160', '89.160.20.112', '216.160.83.56', '2.125.160.216', '175.16.199.1', '1.128.0.1', '149.101.100.1'];
function requestFor(i) {
  const ip = i % 3 === 0 ? KNOWN[i % KNOWN.length] : `${((i * 7) % 223) + 1}.${(i * 13) % 256}.${(i * 31) % 256}.${i % 256}`;
  return {
    path: `/ad?offer=${TOKENS[(i * 31) % TOKENS.length]}`,
    headers: { 'x-forwarded-for': `${ip}, 10.0.0.1`, 'user-agent': UAS[(i * 17) % UAS.length] },
  };
}
const REQUESTS = Array.from({ length: 4096 }, (_, i) => requestFor(i));

// The same 300 requests (debugging=debugging) to each variant, one at a time.
async function sameDecisions() {
  const got = {};
  for (const impl of ['hotpath', 'js']) {
    const s = await startTraffic({ impl, workers: 1, env: runEnv() });
    got[impl] = [];
    for (let i = 0; i < 300; i++) {
      const r = REQUESTS[i];
      const res = await request(`${s.url}${r.path}&debugging=debugging`, { headers: r.headers });
      const d = JSON.parse(res.body);
      got[impl].push(`${res.status} ${d.decidedBy} ${String(d.redirect).replace(/&lid=[0-9a-f-]+$/, '')}`);
    }
    await s.stop();
  }
  const same = got.hotpath.filter((v, i) => v === got.js[i]).length;
  const by = {};
  for (const v of got.hotpath) by[v.split(' ')[1]] = (by[v.split(' ')[1]] || 0) + 1;
  return { total: 300, same, decided_by: by };
}

async function measure(impl) {
  const s = await startTraffic({ impl, workers: settings.workers, env: runEnv() });
  await load(s.port, 2, REQUESTS); // warm-up: JIT, caches, connections
  const r = await load(s.port, settings.seconds, REQUESTS);
  await s.stop();
  return {
    requests_per_s: r.requests.average,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    redirects: r['3xx'] ?? null,
    other: r.non2xx - (r['3xx'] ?? 0),
    errors: r.errors,
  };
}

async function main() {
  const check = await sameDecisions();
  const best = await bestOf(measure);
  printHeading('traffic /ad');
  console.log(`same decision for the same 300 requests: ${check.same}/${check.total} ${JSON.stringify(check.decided_by)}\n`);
  const ratio = printTable('variant', [['302s', 'redirects']], best);
  writeResults('traffic', { same_decisions: check }, best, ratio);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
