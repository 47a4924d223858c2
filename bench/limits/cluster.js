'use strict';
// hotpath limits on a 3-master Redis Cluster beside one redis-server, same
// run, same machine: rate hits and lease acquires with 64 calls in flight.
// Prints a table and writes its JSON to OUT (bench/run.sh passes one and
// folds it into bench/results/limits.json), else
// bench/results/limits-cluster.json.
// Usage: node bench/limits/cluster.js [OUT]
const fs = require('fs');
const path = require('path');
const { hotpath } = require('../../tests/support/fixtures');
const { startRedis, startRedisCluster } = require('../../tests/support/redis');

const hp = hotpath();
const IN_FLIGHT = 64;
const SECONDS = Number(process.env.BENCH_SECONDS || 3);

// Calls per second of `call(i)` with IN_FLIGHT outstanding.
async function rate(call) {
  let n = 0;
  const end = Date.now() + SECONDS * 1000;
  const worker = async (w) => {
    for (let i = w; Date.now() < end; i += IN_FLIGHT) {
      await call(i);
      n++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function measure(url) {
  const l = hp.openLimiter(url, { timeoutMs: 2000 });
  await l.hit('warm', { rate: 1e9, periodMs: 1000, burst: 1e9 });
  const hits = await rate((i) => l.hit(`user${i % 1000}`, { rate: 1e9, periodMs: 1000, burst: 1e9 }));
  const acquires = await rate((i) => l.acquire(`subject${i % 1000}`, `s${i % 7}`, { limit: 3, ttlMs: 60000 }));
  l.close();
  return { hits, acquires };
}

(async () => {
  const single = await startRedis(undefined, { single: true });
  const cluster = await startRedisCluster();
  try {
    // Alternated, twice each, so neither gets a warmer machine.
    const runs = { single: [], cluster: [] };
    for (let round = 0; round < 2; round++) {
      runs.single.push(await measure(single.url));
      runs.cluster.push(await measure(cluster.url));
    }
    const best = (rs, k) => Math.max(...rs.map((r) => r[k]));
    const rows = ['hits', 'acquires'].map((k) => ({
      name: `Node ${k}, ${IN_FLIGHT} in flight`,
      single_ops_per_sec: best(runs.single, k),
      cluster_ops_per_sec: best(runs.cluster, k),
      ratio: best(runs.cluster, k) / best(runs.single, k),
    }));
    for (const r of rows)
      console.log(`${r.name.padEnd(32)} one server ${r.single_ops_per_sec.toFixed(0).padStart(8)}/s   3-master cluster ` +
        `${r.cluster_ops_per_sec.toFixed(0).padStart(8)}/s   ${r.ratio.toFixed(2)}x`);
    const out = process.argv[2] || path.join(__dirname, '..', 'results', 'limits-cluster.json');
    fs.writeFileSync(out, JSON.stringify({ in_flight: IN_FLIGHT, seconds: SECONDS, rows }, null, 2) + '\n');
  } finally {
    await single.cleanup();
    await cluster.cleanup();
  }
})();
