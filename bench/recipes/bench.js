#!/usr/bin/env node
'use strict';
// Recipe lookups and loads: hotpath vs what a Node service does today.
//
//   get: hotpath table.get (frozen object, cached per record version)
//        vs ioredis GET + JSON.parse on a local redis-server (the traffic
//        seed's approach), sequential and pipelined, vs a JS Map of JSON
//        strings + JSON.parse, and a JS Map of ready objects (the floor: at
//        least as fast; alternating rounds, CPU time).
//   load: 100,000 offers from gzip, hotpath (streamed through ISA-L where
//        built with it, parsed in segments on every core) vs
//        zlib.gunzipSync + JSON.parse, each in a fresh process, with peak
//        resident memory and the process's CPU time. Three runs of each,
//        with the load average, and the floors (median <= 150 ms, peak RSS
//        <= 120 MB) checked on them.
//
// Writes bench/results/recipes.json. Run: node bench/recipes/bench.js
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');

const root = path.resolve(__dirname, '..', '..');
const cache = path.join(root, 'bench', '.cache', 'recipes');
const results = path.join(root, 'bench', 'results', 'recipes.json');
const smallFile = path.join(root, 'examples', 'traffic', 'data', 'offersRecipe.json.gz');
const bigFile = path.join(cache, 'offersRecipe.json.gz');

function peakRssMb() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

// ---------------------------------------------------------------- children

async function loadChild(kind, file) {
  const before = process.memoryUsage().rss / 1048576;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let size;
  let keep;
  if (kind === 'node') {
    keep = JSON.parse(zlib.gunzipSync(fs.readFileSync(file)));
    size = keep.length;
  } else {
    const hp = require(root);
    const recipes = new hp.Recipes();
    keep = recipes.define('offers', { key: 'offerId', jsonFields: ['geoRules', 'customLpRules'] });
    const s = await keep.load(file, kind === 'hotpath-stream' ? { wholeInflateMax: 1 } : {});
    size = s.size;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(c0);
  const after = process.memoryUsage().rss / 1048576;
  process.stdout.write(
    JSON.stringify({
      kind,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      size,
      rssBeforeMb: before,
      rssAfterMb: after,
      peakRssMb: peakRssMb(),
      loadAverage: os.loadavg()[0],
    }),
  );
}

// -------------------------------------------------------------------- main

function ensureBigFile() {
  if (fs.existsSync(bigFile)) return;
  fs.mkdirSync(cache, { recursive: true });
  execFileSync(process.execPath, [
    path.join(root, 'examples', 'traffic', 'data', 'generate.js'),
    '--offers', '100000', '--campaigns', '10', '--seed', '7', '--out', cache,
  ], { stdio: 'ignore' });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function benchLoad(kind, runs) {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, [__filename, 'load-child', kind, bigFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`load child ${kind} failed: ${r.stderr}`);
    out.push(JSON.parse(r.stdout));
  }
  return {
    kind,
    ms: median(out.map((r) => r.ms)),
    cpuMs: median(out.map((r) => r.cpuMs)),
    each: out.map((r) => ({ ms: r.ms, cpuMs: r.cpuMs, peakRssMb: r.peakRssMb, loadAverage: r.loadAverage })),
    size: out[0].size,
    peakRssMb: Math.max(...out.map((r) => r.peakRssMb)),
    rssAfterMb: median(out.map((r) => r.rssAfterMb)),
    rssBeforeMb: median(out.map((r) => r.rssBeforeMb)),
  };
}

// Rate by the process's CPU time (wall time too): other load on a shared
// machine counts less.
function timeLoop(n, fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const sink = fn(n);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  return { opsPerSec: n / ((c.user + c.system) / 1e6), wallOpsPerSec: n / s, sink };
}

// Alternating rounds of two loops; the median round's rates and ratio.
function sameRun(rounds, n, a, b) {
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const x = timeLoop(n, a);
    const y = timeLoop(n, b);
    runs.push({ a: x.opsPerSec, b: y.opsPerSec, ratio: x.opsPerSec / y.opsPerSec });
  }
  const mid = [...runs].sort((p, q) => p.ratio - q.ratio)[Math.floor(rounds / 2)];
  return { a: { opsPerSec: mid.a }, b: { opsPerSec: mid.b }, ratios: runs.map((r) => r.ratio) };
}

async function benchGets() {
  const hp = require(root);
  const { startRedis } = require(path.join(root, 'tests', 'support', 'redis.js'));
  const Redis = require('ioredis');
  const rows = JSON.parse(zlib.gunzipSync(fs.readFileSync(smallFile)));
  const ids = rows.map((r) => r.offerId);
  const order = new Int32Array(1 << 16);
  let x = 12345;
  for (let i = 0; i < order.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    order[i] = ids[x % ids.length];
  }
  const mask = order.length - 1;

  const recipes = new hp.Recipes();
  const table = recipes.define('offers', { key: 'offerId', jsonFields: ['geoRules', 'customLpRules'] });
  await table.load(smallFile);
  const strings = new Map(rows.map((r) => [r.offerId, JSON.stringify(r)]));
  const objects = new Map(rows.map((r) => [r.offerId, r]));

  const out = {};
  const hot = (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += table.get(order[i & mask]).offerId;
    return s;
  };
  hot(200000);  // warm: every record materialised once
  const mapJson = (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += JSON.parse(strings.get(order[i & mask])).offerId;
    return s;
  };
  mapJson(20000);
  out.mapJsonParse = timeLoop(300000, mapJson);
  const mapObj = (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += objects.get(order[i & mask]).offerId;
    return s;
  };
  mapObj(200000);
  // The floor's pair, in alternating rounds.
  const pair = sameRun(5, 2000000, hot, mapObj);
  out.hotpath = pair.a;
  out.mapObjects = pair.b;
  out.vsMapObjectsRounds = pair.ratios;

  const redisServer = await startRedis();
  const redis = new Redis(redisServer.port, '127.0.0.1');
  try {
    const p = redis.pipeline();
    for (const [id, s] of strings) p.set(`offer:${id}`, s);
    await p.exec();
    const seq = async (n) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += JSON.parse(await redis.get(`offer:${order[i & mask]}`)).offerId;
      return s;
    };
    await seq(2000);
    let t0 = process.hrtime.bigint();
    const nSeq = 20000;
    await seq(nSeq);
    out.redisSequential = { opsPerSec: nSeq / (Number(process.hrtime.bigint() - t0) / 1e9) };
    const piped = async (n, batch) => {
      let s = 0;
      for (let i = 0; i < n; i += batch) {
        const pl = redis.pipeline();
        for (let j = 0; j < batch; j++) pl.get(`offer:${order[(i + j) & mask]}`);
        for (const [, v] of await pl.exec()) s += JSON.parse(v).offerId;
      }
      return s;
    };
    await piped(5000, 100);
    t0 = process.hrtime.bigint();
    const nPipe = 200000;
    await piped(nPipe, 100);
    out.redisPipelined = { opsPerSec: nPipe / (Number(process.hrtime.bigint() - t0) / 1e9) };
  } finally {
    redis.disconnect();
    await redisServer.stop();
    recipes.close();
  }
  return out;
}

async function main() {
  ensureBigFile();
  const gets = await benchGets();
  const loads = ['hotpath', 'hotpath-stream', 'node'].map((k) => benchLoad(k, 3));
  const [hl, hs, nl] = loads;
  const h = gets.hotpath.opsPerSec;
  const rowsOut = [
    ['get: hotpath table.get', h, 1],
    ['get: ioredis GET + JSON.parse, sequential', gets.redisSequential.opsPerSec, h / gets.redisSequential.opsPerSec],
    ['get: ioredis pipeline(100) GET + JSON.parse', gets.redisPipelined.opsPerSec, h / gets.redisPipelined.opsPerSec],
    ['get: Map of JSON strings + JSON.parse', gets.mapJsonParse.opsPerSec, h / gets.mapJsonParse.opsPerSec],
    ['get: Map of ready objects', gets.mapObjects.opsPerSec, h / gets.mapObjects.opsPerSec],
  ];
  console.log('\nrecipes: record get from Node (10,000 offers, random keys; CPU time; vs a Map of ready objects: median of 5 alternating rounds)');
  console.log(`${'approach'.padEnd(48)} ${'ops/s'.padStart(12)} ${'hotpath is'.padStart(12)}`);
  for (const [name, ops, ratio] of rowsOut)
    console.log(`${name.padEnd(48)} ${Math.round(ops).toLocaleString('en-US').padStart(12)} ${(ratio.toFixed(2) + 'x').padStart(12)}`);
  const json = JSON.parse(zlib.gunzipSync(fs.readFileSync(bigFile))).length;
  console.log(`\nrecipes: load ${json.toLocaleString('en-US')} offers from gzip (${(fs.statSync(bigFile).size / 1048576).toFixed(1)} MB), fresh process each, median of 3`);
  console.log(`${'approach'.padEnd(48)} ${'ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${'peak RSS MB'.padStart(12)} ${'vs node'.padStart(9)}`);
  for (const l of loads) {
    const name = { hotpath: 'hotpath load (default)', 'hotpath-stream': 'hotpath load (wholeInflateMax: 1)', node: 'zlib.gunzipSync + JSON.parse' }[l.kind];
    console.log(`${name.padEnd(48)} ${l.ms.toFixed(1).padStart(8)} ${l.cpuMs.toFixed(0).padStart(8)} ${l.peakRssMb.toFixed(0).padStart(12)} ${((nl.ms / l.ms).toFixed(2) + 'x').padStart(9)}`);
  }
  const runs = (l) => l.each.map((r) => `${r.ms.toFixed(0)} ms / ${r.peakRssMb.toFixed(0)} MB (load ${r.loadAverage.toFixed(1)})`).join(', ');
  const getRatio = h / gets.mapObjects.opsPerSec;
  const floors = {
    loadMedianMs: { floor: 150, value: hl.ms, met: hl.ms <= 150 },
    loadPeakRssMb: { floor: 120, value: Math.max(...hl.each.map((r) => r.peakRssMb)), met: hl.peakRssMb <= 120 },
    getVsMapObjects: { floor: 1, value: getRatio, met: getRatio >= 1 },
  };
  const said = (f) => (f.met ? 'met' : 'NOT met');
  console.log(`\nfloors (load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  console.log(`  load median <= 150 ms: ${hl.ms.toFixed(0)} ms, ${said(floors.loadMedianMs)} (runs: ${runs(hl)})`);
  console.log(`  load peak RSS <= 120 MB: ${hl.peakRssMb.toFixed(0)} MB, ${said(floors.loadPeakRssMb)}`);
  console.log(`  get >= 1x a Map of ready objects: ${getRatio.toFixed(2)}x, ${said(floors.getVsMapObjects)}`);
  const report = {
    bench: 'recipes',
    node: process.version,
    date: new Date().toISOString(),
    get: {
      records: 10000,
      opsPerSec: Object.fromEntries(
        Object.entries(gets)
          .filter(([, v]) => v.opsPerSec !== undefined)
          .map(([k, v]) => [k, Math.round(v.opsPerSec)]),
      ),
      vsMapObjectsRounds: gets.vsMapObjectsRounds,
      ratios: {
        vsRedisSequential: h / gets.redisSequential.opsPerSec,
        vsRedisPipelined: h / gets.redisPipelined.opsPerSec,
        vsMapJsonParse: h / gets.mapJsonParse.opsPerSec,
        vsMapObjects: h / gets.mapObjects.opsPerSec,
      },
      floors: { vsRedis: 50, vsMapJsonParse: 2, vsMapObjects: 1 },
    },
    load: {
      offers: json,
      gzipBytes: fs.statSync(bigFile).size,
      runs: loads,
      ratios: { hotpathVsNode: nl.ms / hl.ms, hotpathStreamVsNode: nl.ms / hs.ms },
      floors: { vsNode: 2 },
    },
    floors,
    loadAverage: os.loadavg(),
  };
  fs.mkdirSync(path.dirname(results), { recursive: true });
  fs.writeFileSync(results, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(root, results)}`);
}

if (process.argv[2] === 'load-child') {
  loadChild(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
