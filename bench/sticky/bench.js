'use strict';
// fingerprint32 from Node: hotpath vs the `farmhash` npm package (what the
// Perfload seed uses), same inputs, same process, alternating runs.
// Prints a table and writes bench/results/sticky.json.
// Usage: node bench/sticky/bench.js [--quick]
const fs = require('fs');
const os = require('os');
const path = require('path');
const farmhash = require('farmhash');
const hp = require('../..');

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 10 : 60;
const ROUND_NS = 10e6; // time per measured round and side

// Deterministic inputs (xorshift32), so every run hashes the same strings.
let seed = 0x9e3779b9;
function rand() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const randomString = (len) => Array.from({ length: len }, () => ALPHABET[rand() % ALPHABET.length]).join('');
function ipAddress() {
  const v4 = () => `${(rand() % 223) + 1}.${rand() % 256}.${rand() % 256}.${rand() % 256}`;
  switch (rand() % 4) {
    case 0:
      return v4();
    case 1:
      return `::ffff:${v4()}`; // how node reports IPv4 clients on a dual-stack socket
    case 2:
      return `2001:db8:${Array.from({ length: 6 }, () => (rand() % 0x10000).toString(16)).join(':')}`;
    default:
      return v4();
  }
}

const N = 4096;
const inputSets = [
  ['client IPs (7-39 B)', Array.from({ length: N }, ipAddress)],
  ['random 8 B', Array.from({ length: N }, () => randomString(8))],
  ['random 32 B', Array.from({ length: N }, () => randomString(32))],
  ['random 128 B', Array.from({ length: N }, () => randomString(128))],
  ['random 1 KiB', Array.from({ length: N }, () => randomString(1024))],
];

let sink = 0;
// Repetitions of fn(inputs) that last about ROUND_NS.
function calibrate(fn, inputs) {
  for (let i = 0; i < 3; i++) fn(inputs); // warm up
  for (let reps = 1; ; reps *= 2) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) fn(inputs);
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns > ROUND_NS / 4) return Math.max(1, Math.round((reps * ROUND_NS) / ns));
  }
}
// ns per input for both sides, in ROUNDS short rounds that alternate
// between them (so load from other processes hits both alike); the best
// round of each side is its figure, the median is kept as well.
function compare(a, b, inputs) {
  const reps = [calibrate(a, inputs), calibrate(b, inputs)];
  const samples = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const side of order) {
      const fn = side ? b : a;
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < reps[side]; r++) fn(inputs);
      samples[side].push(Number(process.hrtime.bigint() - t0) / (reps[side] * inputs.length));
    }
  }
  return samples.map((xs) => {
    xs.sort((x, y) => x - y);
    return { best: xs[0], median: xs[xs.length >> 1] };
  });
}

const perCall = {
  farmhash: (inputs) => {
    for (let i = 0; i < inputs.length; i++) sink ^= farmhash.fingerprint32(inputs[i]);
  },
  hotpath: (inputs) => {
    for (let i = 0; i < inputs.length; i++) sink ^= hp.fingerprint32(inputs[i]);
  },
};
// farmhash has no batch call: a user loops (into a typed array, like ours).
const batch = {
  farmhash: (inputs) => {
    const out = new Uint32Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) out[i] = farmhash.fingerprint32(inputs[i]);
    sink ^= out[0];
  },
  hotpath: (inputs) => {
    sink ^= hp.fingerprint32Many(inputs)[0];
  },
};
// The seed's worker choice: fingerprint32(ip) % workers.
const WORKERS = 8;
const pick = {
  farmhash: (inputs) => {
    for (let i = 0; i < inputs.length; i++) sink ^= farmhash.fingerprint32(inputs[i]) % WORKERS;
  },
  hotpath: (inputs) => {
    for (let i = 0; i < inputs.length; i++) sink ^= hp.sticky.pick(inputs[i], WORKERS);
  },
};

// Same answers first: a benchmark of wrong results is worthless.
for (const [name, inputs] of inputSets) {
  const many = hp.fingerprint32Many(inputs);
  inputs.forEach((s, i) => {
    const want = farmhash.fingerprint32(s);
    if (hp.fingerprint32(s) !== want || many[i] !== want) throw new Error(`${name}: mismatch on ${JSON.stringify(s)}`);
  });
}

const rows = [];
const run = (kind, fns, name, inputs) => {
  const [farm, ours] = compare(fns.farmhash, fns.hotpath, inputs);
  rows.push({
    kind,
    inputs: name,
    farmhash_ns: farm.best,
    hotpath_ns: ours.best,
    speedup: farm.best / ours.best,
    farmhash_median_ns: farm.median,
    hotpath_median_ns: ours.median,
  });
};
for (const [name, inputs] of inputSets) run('per call', perCall, name, inputs);
for (const [name, inputs] of inputSets) run('batch', batch, name, inputs);
run('pick % 8', pick, inputSets[0][0], inputSets[0][1]);
// The batch call against hotpath's own single call (the floor: at least 2x
// per string).
const batchVsSingle = inputSets.map(([name, inputs]) => {
  const [single, many] = compare(perCall.hotpath, batch.hotpath, inputs);
  return { inputs: name, single_ns: single.best, many_ns: many.best, speedup: single.best / many.best, single_median_ns: single.median, many_median_ns: many.median };
});

const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  farmhash: require('farmhash/package.json').version,
  hotpath: hp.version,
};

const pad = (s, n) => String(s).padEnd(n);
const num = (x) => x.toFixed(1).padStart(10);
console.log(`fingerprint32, ns per string (best of ${ROUNDS} alternating rounds); speedup = farmhash / hotpath, > 1 means hotpath is faster`);
console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, farmhash ${machine.farmhash}\n`);
console.log(`${pad('kind', 10)}${pad('inputs', 22)}${'farmhash'.padStart(10)}${'hotpath'.padStart(10)}${'speedup'.padStart(10)}`);
for (const r of rows) {
  console.log(`${pad(r.kind, 10)}${pad(r.inputs, 22)}${num(r.farmhash_ns)}${num(r.hotpath_ns)}${(r.speedup.toFixed(2) + 'x').padStart(10)}`);
}

console.log(`\nhotpath fingerprint32Many vs its own fingerprint32 call, ns per string (floor: 2x)`);
console.log(`${pad('inputs', 22)}${'single'.padStart(10)}${'many'.padStart(10)}${'speedup'.padStart(10)}`);
for (const r of batchVsSingle) {
  console.log(`${pad(r.inputs, 22)}${num(r.single_ns)}${num(r.many_ns)}${(r.speedup.toFixed(2) + 'x').padStart(10)}`);
}

const out = path.join(__dirname, '..', 'results', 'sticky.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(
  out,
  JSON.stringify({ name: 'sticky', date: new Date().toISOString(), machine, unit: 'ns per string', strings_per_set: N, rows, batchVsSingle }, null, 2) + '\n',
);
// Keep the hashes observable so no loop is optimised away.
globalThis.benchSink = sink;
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
