#!/usr/bin/env node
'use strict';
// SpeedBox: the example on the hotpath SQLite store against its
// plain-directory variant (dir-server.js), in the same run, RUNS (3) times.
//
//   memory: a 1 GiB upload through the balancer of a deployment as users
//           start it (examples/speedbox/start.js, plain node): peak resident
//           memory (VmHWM) of the server that took it and of the balancer
//   speed:  upload and download MB/s of SPEEDBOX_HTTP_MB (256) MiB through
//           the balancer (3 servers each), the best of SPEEDBOX_TRIES (3)
//           transfers each, the two stores taking turns
//
// Prints each run, the load average beside it, and writes
// bench/results/speedbox.json. Run: node bench/blobs/speedbox.js
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSpeedbox, startDeployment, upload, download } = require('../../tests/support/speedbox');

const MiB = 1 << 20;
const RUNS = Number(process.env.RUNS || 3);
const HTTP_MB = Number(process.env.SPEEDBOX_HTTP_MB || 256);
const MEMORY_MB = Number(process.env.SPEEDBOX_MEMORY_MB || 1024);
const TRIES = Number(process.env.SPEEDBOX_TRIES || 3);
const RSS_TARGET_MB = 64;

const pieces = Array.from({ length: 16 }, () => crypto.randomBytes(MiB));
function* source(mb) {
  for (let i = 0; i < mb; i++) yield pieces[i % pieces.length];
}

// A /proc/<pid>/status figure in MB (VmHWM: the peak resident set).
function statusMb(pid, field) {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

async function seconds(fn) {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e9, value];
}

async function memory(dir) {
  const box = await startDeployment({ spec: `sqlite:${path.join(dir, 'memory', 'speedbox.db')}`, servers: 3 });
  try {
    const workers = box.workers();
    const idle = new Map(workers.map((w) => [w.pid, statusMb(w.pid, 'VmRSS')]));
    const r = await upload(box.base, 'memory.bin', source(MEMORY_MB));
    if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.body}`);
    const peak = (w) => statusMb(w.pid, 'VmHWM');
    const servers = workers.filter((w) => w.role === 'server');
    // The server that took the upload is the one that grew most.
    const busiest = servers.reduce((a, b) => (peak(b) - idle.get(b.pid) > peak(a) - idle.get(a.pid) ? b : a));
    const balancer = workers.find((w) => w.role === 'balancer');
    return {
      mb: MEMORY_MB,
      serverPeakRssMb: peak(busiest),
      serverIdleRssMb: idle.get(busiest.pid),
      balancerPeakRssMb: peak(balancer),
      balancerIdleRssMb: idle.get(balancer.pid),
    };
  } finally {
    await box.stop();
  }
}

// Upload then download TRIES times on each store in turn (3 servers each,
// the two deployments side by side); each side's best transfer counts, as
// the machine's other work slows single transfers down at random.
async function speed(dir, order) {
  const boxes = {};
  for (const name of order) {
    const spec = name === 'store' ? `sqlite:${path.join(dir, 'speed', 'speedbox.db')}` : `dir:${path.join(dir, 'speed-files')}`;
    boxes[name] = await startSpeedbox({ spec, servers: 3 });
  }
  const best = Object.fromEntries(order.map((name) => [name, { upload: 0, download: 0 }]));
  try {
    for (let t = 0; t < TRIES; t++) {
      for (const name of order) {
        const box = boxes[name];
        const [up, r] = await seconds(() => upload(box.base, `speed-${t}.bin`, source(HTTP_MB)));
        if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.body}`);
        best[name].upload = Math.max(best[name].upload, HTTP_MB / up);
      }
      for (const name of order) {
        const [down, d] = await seconds(() => download(boxes[name].base, `/download?filename=speed-${t}.bin`));
        if (d.length !== HTTP_MB * MiB) throw new Error(`download: ${d.length} bytes`);
        best[name].download = Math.max(best[name].download, HTTP_MB / down);
      }
    }
  } finally {
    await Promise.all(Object.values(boxes).map((box) => box.stop()));
  }
  return best;
}

const f = (x, d = 1) => x.toFixed(d);

async function main() {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-bench-speedbox-'));
    try {
      const loadBefore = os.loadavg()[0];
      const mem = await memory(dir);
      // Alternate which store goes first, so neither always gets the warmer page cache.
      const { store, dir: dirVariant } = await speed(dir, i % 2 ? ['dir', 'store'] : ['store', 'dir']);
      const run = { memory: mem, store, dir: dirVariant, load: [loadBefore, os.loadavg()[0]] };
      runs.push(run);
      console.log(
        `run ${i + 1}: ${MEMORY_MB} MiB upload peak RSS server ${f(mem.serverPeakRssMb)} MB (idle ${f(mem.serverIdleRssMb)}), ` +
          `balancer ${f(mem.balancerPeakRssMb)} MB (idle ${f(mem.balancerIdleRssMb)}); target < ${RSS_TARGET_MB}`,
      );
      console.log(
        `       ${HTTP_MB} MiB upload MB/s store ${f(store.upload)} dir ${f(dirVariant.upload)} ratio ${f(store.upload / dirVariant.upload, 2)}; ` +
          `download store ${f(store.download)} dir ${f(dirVariant.download)} ratio ${f(store.download / dirVariant.download, 2)}; ` +
          `load average ${f(run.load[0], 2)} -> ${f(run.load[1], 2)}`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const report = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    sizes: { memoryMb: MEMORY_MB, httpMb: HTTP_MB, tries: TRIES },
    runs,
    ratios: runs.map((r) => ({ upload: r.store.upload / r.dir.upload, download: r.store.download / r.dir.download })),
    targets: { peakRssMb: RSS_TARGET_MB, ratio: 1 },
  };
  const out = path.resolve(__dirname, '..', 'results', 'speedbox.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
