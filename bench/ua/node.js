'use strict';
// bench/ua (Node): hotpath ua.parse (and its ua-parser-js drop-in) vs
// ua-parser-js (1.x, and 2.x) and device-detector-js on the same 100,000
// User-Agent strings drawn from the `user-agents` corpus by its weights
// (fixed seed), so repeats occur as they do in real traffic; then the
// agreement with ua-parser-js and isbot over the committed corpora. Prints
// JSON on stdout.
const fs = require('fs');
const path = require('path');
const hotpath = require('../..');
const HotpathUAParser = require('hotpath/ua-parser-js');
const { report, format } = require('../../tests/node/ua-compare');
const UAParser = require('ua-parser-js');
const UAParser2 = require('ua-parser-js-2');
const DeviceDetector = require('device-detector-js');

const N = Number(process.env.UA_BENCH_N || 100000);

function corpus() {
  const file = path.join(path.dirname(require.resolve('user-agents')), 'user-agents.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Mulberry32: a small seeded PRNG, so every run draws the same strings.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(entries, n, seed) {
  const cum = [];
  let total = 0;
  for (const e of entries) cum.push((total += e.weight));
  const rand = rng(seed);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    out[i] = entries[lo].userAgent;
  }
  return out;
}

function time(strings, fn) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < strings.length; i++) {
    const r = fn(strings[i]);
    if (r) sink++;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  if (sink !== strings.length) throw new Error('a parser returned nothing');
  return { seconds: ns / 1e9, opsPerSec: strings.length / (ns / 1e9), nsPerOp: ns / strings.length };
}

const strings = sample(corpus(), N, 42);
const distinct = new Set(strings).size;
const dd = new DeviceDetector();
const parsers = {
  hotpath: (s) => hotpath.ua.parse(s),
  'hotpath/ua-parser-js': (s) => HotpathUAParser(s),
  'ua-parser-js': (s) => UAParser(s),
  'ua-parser-js@2': (s) => UAParser2(s),
  'device-detector-js': (s) => dd.parse(s),
};

// Two timed passes over the 100,000 strings (the second is reported; the
// first warms caches and the JIT). device-detector-js takes milliseconds a
// string, so it gets one pass after a short warm-up.
const results = {};
for (const [name, fn] of Object.entries(parsers)) {
  const slow = name === 'device-detector-js';
  time(strings.slice(0, slow ? 200 : 2000), fn);
  const first = time(strings, fn);
  const second = slow ? first : time(strings, fn);
  results[name] = { first, second };
  process.stderr.write(`${name}: ${Math.round(second.opsPerSec)} ops/s\n`);
}
// Cold: every string made unique (a counter appended), so no cache helps.
const unique = strings.slice(0, 20000).map((s, i) => `${s} u${i}`);
results.hotpath.cold = time(unique, parsers.hotpath);
results['ua-parser-js'].cold = time(unique, parsers['ua-parser-js']);

const agreement = report(hotpath);
process.stderr.write(format(agreement, 5) + '\n');
process.stdout.write(
  JSON.stringify({ strings: N, distinct, seed: 42, node: process.version, results, agreement: {
    rows: agreement.rows, bots: agreement.bots, versions: agreement.versions } }, null, 2) + '\n',
);
