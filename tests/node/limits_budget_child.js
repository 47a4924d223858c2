'use strict';
// One process of the local-budget hammer (limits_budget.test.js): hits one
// key through hit() for `ms`, then prints its grants per window (keyed by
// when the window ends, from this host's clock and resetAfterMs: the
// redis-server runs on this host) and how many hits it decided itself.
const { openLimiter } = require('../..');

const [url, key, rate, periodMs, block, ms] = process.argv.slice(2);
const spec = { rate: Number(rate), periodMs: Number(periodMs) };

async function main() {
  const l = openLimiter(url, { localBudget: Number(block), localHoldMs: 20, timeoutMs: 1000 });
  const grants = {};
  let hits = 0;
  let errors = 0;
  const until = Date.now() + Number(ms);
  // 16 callers in flight, as a busy server has.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < until) {
        let r;
        try {
          r = await l.hit(key, spec);
        } catch {
          errors++;
          continue;
        }
        hits++;
        if (r.allowed) {
          const w = Math.round((Date.now() + r.resetAfterMs) / spec.periodMs);
          grants[w] = (grants[w] || 0) + 1;
        }
      }
    }),
  );
  const stats = l.stats();
  l.close();
  process.stdout.write(JSON.stringify({ grants, hits, errors, commands: stats.redis.commands }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
