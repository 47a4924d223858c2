'use strict';
// bench/limits Node part: per-call cost of memory checks (sync and Promise),
// SQLite async inline vs on the thread pool, and Redis checks/s against
// rate-limiter-flexible on the same redis-server, sequential and concurrent.
// Prints JSON. Usage: node bench/limits/node.js REDIS_URL SQLITE_PATH
const { openLimiter } = require('../..');
const { RateLimiterRedis } = require('rate-limiter-flexible');
const { createClient } = require('redis');

const [redisUrl, sqlitePath] = process.argv.slice(2);

function timeSync(n, fn) {
  for (let i = 0; i < Math.min(n, 10000); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { opsPerSec: n / s, nsPerCall: (s * 1e9) / n };
}

const { timeSeq, timeConcurrent } = require('./timing');

(async () => {
  const out = {};
  const mem = openLimiter('memory:');
  const keys = Array.from({ length: 1024 }, (_, i) => `ip:10.0.${i >> 8}.${i & 255}`);
  const rate = { rate: 1000000, periodMs: 1000 };
  out.memory_hitSync = timeSync(2000000, (i) => mem.hitSync(keys[i & 1023], rate));
  out.memory_acquireSync_releaseSync = timeSync(1000000, (i) => {
    mem.acquireSync(keys[i & 1023], 's1', { limit: 3, ttlMs: 60000 });
    mem.releaseSync(keys[i & 1023], 's1');
  });
  out.memory_hit_promise = await timeSeq(300000, (i) => mem.hit(keys[i & 1023], rate));

  const sq = openLimiter(`sqlite:${sqlitePath}`, { sqliteInline: true });
  const sqPool = openLimiter(`sqlite:${sqlitePath}`);
  out.sqlite_acquire_inline_seq = await timeSeq(20000, (i) => sq.acquire(`u${i & 1023}`, 's', { limit: 3 }));
  out.sqlite_acquire_pool_seq = await timeSeq(20000, (i) => sqPool.acquire(`u${i & 1023}`, 's', { limit: 3 }));
  out.sqlite_acquire_inline_c64 = await timeConcurrent(20000, 64, (i) => sq.acquire(`u${i & 1023}`, 's', { limit: 3 }));
  out.sqlite_acquire_pool_c64 = await timeConcurrent(20000, 64, (i) => sqPool.acquire(`u${i & 1023}`, 's', { limit: 3 }));

  // rate-limiter-flexible waits as long as it takes; a shared machine can
  // stall a process past the 200 ms default, which would end the run.
  const hp = openLimiter(redisUrl, { timeoutMs: 5000 });
  await hp.ping().catch(async () => {
    await new Promise((r) => setTimeout(r, 200));
    await hp.ping();
  });
  const client = createClient({ url: redisUrl });
  await client.connect();
  const rlf = new RateLimiterRedis({ storeClient: client, useRedisPackage: true, points: 1e9, duration: 60, keyPrefix: 'rlf' });
  const hpRate = { rate: 1000000000, periodMs: 60000 };
  // The machine may be shared: alternate the two clients for 5 rounds and
  // keep each one's best, so both see the same conditions.
  const N = 20000;
  const best = (a, b) => (!a || b.opsPerSec > a.opsPerSec ? b : a);
  for (let round = 0; round < 5; round++) {
    out.redis_hotpath_hit_seq = best(out.redis_hotpath_hit_seq, await timeSeq(N, (i) => hp.hit(keys[i & 1023], hpRate)));
    out.redis_rlf_consume_seq = best(out.redis_rlf_consume_seq, await timeSeq(N, (i) => rlf.consume(keys[i & 1023])));
    out.redis_hotpath_hit_c64 = best(out.redis_hotpath_hit_c64,
      await timeConcurrent(4 * N, 64, (i) => hp.hit(keys[i & 1023], hpRate)));
    out.redis_rlf_consume_c64 = best(out.redis_rlf_consume_c64,
      await timeConcurrent(4 * N, 64, (i) => rlf.consume(keys[i & 1023])));
  }
  // CPU per check, which a busy machine does not skew the way it skews
  // checks/s: this process's (process.cpuUsage) and redis-server's
  // (INFO commandstats: time in the one command each client sends, per check).
  const cpuPerCheck = async (n, fn, command) => {
    await client.sendCommand(['CONFIG', 'RESETSTAT']);
    const c0 = process.cpuUsage();
    await timeConcurrent(n, 64, fn);
    const c = process.cpuUsage(c0);
    const stats = await client.sendCommand(['INFO', 'commandstats']);
    // Total time over checks: hotpath sends the hits of one loop turn in one call.
    const m = new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+)`).exec(stats);
    return { clientUsPerCheck: (c.user + c.system) / n, serverUsPerCheck: m ? Number(m[1]) / n : null };
  };
  out.redis_cpu_hotpath_hit = await cpuPerCheck(4 * N, (i) => hp.hit(keys[i & 1023], hpRate), 'evalsha');
  out.redis_cpu_rlf_consume = await cpuPerCheck(4 * N, (i) => rlf.consume(keys[i & 1023]), 'eval');
  out.redis_hotpath_acquire_c64 = await timeConcurrent(4 * N, 64, (i) =>
    hp.acquire(keys[i & 1023], `s${i & 3}`, { limit: 3 }),
  );
  await client.quit();
  hp.close();
  mem.close();
  sq.close();
  sqPool.close();
  process.stdout.write(JSON.stringify(out));
})();
