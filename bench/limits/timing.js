'use strict';
// Timing loops shared by the Node limits benches: awaited one at a time,
// or `window` calls in flight at once.

async function timeSeq(n, fn) {
  for (let i = 0; i < Math.min(n, 500); i++) await fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { opsPerSec: n / s, nsPerCall: (s * 1e9) / n };
}

// `window` calls in flight at once (pipelined on one connection).
async function timeConcurrent(n, window, fn) {
  await Promise.all(Array.from({ length: Math.min(window, 500) }, (_, i) => fn(i)));
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { opsPerSec: n / s, nsPerCall: (s * 1e9) / n };
}

module.exports = { timeSeq, timeConcurrent };
