'use strict';
// Same-run comparison of two or more ways to do one job, for a machine that
// other work shares: the sides take turns for `rounds` rounds, the order
// reversed every other round (A B, B A, ...), so none always gets the warmer
// page cache or the quieter moment; each side keeps its wall time and the
// CPU time of this process (every thread: the libuv pool's work included)
// per round, and a comparison is the median of the per-round ratios, each
// taken between runs made seconds apart, instead of a best-of that one lucky
// run decides.
const os = require('node:os');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// CPU seconds (user + system) of this process so far.
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * One timed run of `fn` (async): wall and CPU seconds, and what it returned.
 * @param {() => Promise<any>} fn
 */
async function measure(fn) {
  const c0 = cpuSeconds();
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: cpuSeconds() - c0, value };
}

/**
 * Runs each side once per round, alternating as above.
 * @param {Record<string, () => Promise<any>>} sides  name -> one run
 * @param {number} rounds
 * @param {(name: string, run: {wall: number, cpu: number, value: any}) => void} [check]  called after every run
 * @returns {Promise<Record<string, {wall: number[], cpu: number[]}>>} per side, per round
 */
async function alternate(sides, rounds, check) {
  const names = Object.keys(sides);
  const runs = Object.fromEntries(names.map((n) => [n, { wall: [], cpu: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? [...names].reverse() : names) {
      const run = await measure(sides[name]);
      if (check) check(name, run);
      runs[name].wall.push(run.wall);
      runs[name].cpu.push(run.cpu);
    }
  }
  return runs;
}

/**
 * A side's figures: median rate (`amount` per wall second) and median CPU
 * seconds per `amount`, from its runs.
 */
function summary(run, amount) {
  return {
    rate: amount / median(run.wall),
    cpuPerUnit: median(run.cpu) / amount,
    rates: run.wall.map((w) => amount / w),
  };
}

/**
 * The median of the per-round ratios of `a`'s rate to `b`'s (same amount of
 * work on both sides), and their spread.
 */
function ratio(a, b) {
  const per = a.wall.map((w, i) => b.wall[i] / w);
  return { median: median(per), min: Math.min(...per), max: Math.max(...per) };
}

/** The one-minute load average now, for the report beside each figure. */
const load = () => os.loadavg()[0];

module.exports = { alternate, measure, median, ratio, summary, load, cpuSeconds };
