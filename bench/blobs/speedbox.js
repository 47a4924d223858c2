#!/usr/bin/env node
'use strict';
// SpeedBox: the example on the hotpath SQLite store against its
// plain-directory variant (dir-server.js), in the same run, RUNS (3) times.
//
//   memory: a 1 GiB upload through the balancer of a deployment as users
//           start it (examples/speedbox/start.js, plain node): peak resident
//           memory (VmHWM) of the server that took it and of the balancer
//   speed:  upload and download MB/s of SPEEDBOX_HTTP_MB (256) MiB through
//           the balancer (3 servers each), SPEEDBOX_TRIES (5) rounds, the two
//           stores taking turns: medians, the median per-round ratio, and
//           the CPU time the servers and the balancer spent per GiB
//
// Prints each run, the load average beside it, and writes
// bench/results/speedbox.json. Run: node bench/blobs/speedbox.js
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startSpeedbox, startDeployment, upload, download } = require('../../tests/support/speedbox');
const { alternate, median, ratio, summary } = require('./rounds');

const MiB = 1 << 20;
const RUNS = Number(process.env.RUNS || 3);
const HTTP_MB = Number(process.env.SPEEDBOX_HTTP_MB || 256);
const MEMORY_MB = Number(process.env.SPEEDBOX_MEMORY_MB || 1024);
const TRIES = Number(process.env.SPEEDBOX_TRIES || 5);
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

// CPU seconds (user + system) a process has used so far (/proc/<pid>/stat).
const TICK = 100; // USER_HZ on Linux
function processCpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}
// CPU seconds of a deployment's servers (together) and its balancer.
const boxCpu = (box) => ({
  servers: box.servers.reduce((sum, s) => sum + processCpu(s.proc.pid), 0),
  balancer: processCpu(box.lb.proc.pid),
});

// Upload then download, TRIES rounds, on each store in turn (3 servers
// each, the two deployments side by side), the order reversed every other
// round; each side's median transfer counts, and the ratio is the median of
// the per-round ratios (bench/blobs/rounds.js), beside the CPU time its
// servers and balancer spent per GiB.
async function speed(dir) {
  const boxes = {};
  for (const name of ['store', 'dir']) {
    const spec = name === 'store' ? `sqlite:${path.join(dir, 'speed', 'speedbox.db')}` : `dir:${path.join(dir, 'speed-files')}`;
    boxes[name] = await startSpeedbox({ spec, servers: 3 });
  }
  const transfer = (name, kind, t) => {
    const box = boxes[name];
    return async () => {
      const cpu0 = boxCpu(box);
      if (kind === 'upload') {
        const r = await upload(box.base, `speed-${t}.bin`, source(HTTP_MB));
        if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.body}`);
      } else {
        const d = await download(box.base, `/download?filename=speed-${t}.bin`);
        if (d.length !== HTTP_MB * MiB) throw new Error(`download: ${d.length} bytes`);
      }
      const cpu1 = boxCpu(box);
      return { servers: cpu1.servers - cpu0.servers, balancer: cpu1.balancer - cpu0.balancer };
    };
  };
  const out = {};
  try {
    const kinds = { upload: {}, download: {} };
    for (let t = 0; t < TRIES; t++) {
      for (const kind of ['upload', 'download']) {
        const sides = { store: transfer('store', kind, t), dir: transfer('dir', kind, t) };
        const runs = await alternate(t % 2 ? { dir: sides.dir, store: sides.store } : sides, 1, (name, run) => {
          const k = (kinds[kind][name] ??= { wall: [], cpu: [], servers: [], balancer: [] });
          k.servers.push(run.value.servers);
          k.balancer.push(run.value.balancer);
        });
        for (const [name, run] of Object.entries(runs)) {
          kinds[kind][name].wall.push(...run.wall);
          kinds[kind][name].cpu.push(...run.cpu);
        }
      }
    }
    const gib = HTTP_MB / 1024;
    for (const kind of ['upload', 'download']) {
      const k = kinds[kind];
      out[kind] = {
        ratio: ratio(k.store, k.dir),
        ...Object.fromEntries(
          ['store', 'dir'].map((name) => [
            name,
            {
              mbps: summary(k[name], HTTP_MB).rate,
              serverCpuPerGiB: median(k[name].servers) / gib,
              balancerCpuPerGiB: median(k[name].balancer) / gib,
            },
          ]),
        ),
      };
    }
  } finally {
    await Promise.all(Object.values(boxes).map((box) => box.stop()));
  }
  return out;
}

const f = (x, d = 1) => x.toFixed(d);

async function main() {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-bench-speedbox-'));
    try {
      const loadBefore = os.loadavg()[0];
      const mem = await memory(dir);
      const sp = await speed(dir);
      const run = { memory: mem, speed: sp, load: [loadBefore, os.loadavg()[0]] };
      runs.push(run);
      console.log(
        `run ${i + 1}: ${MEMORY_MB} MiB upload peak RSS server ${f(mem.serverPeakRssMb)} MB (idle ${f(mem.serverIdleRssMb)}), ` +
          `balancer ${f(mem.balancerPeakRssMb)} MB (idle ${f(mem.balancerIdleRssMb)}); target < ${RSS_TARGET_MB}`,
      );
      for (const kind of ['upload', 'download']) {
        const k = sp[kind];
        console.log(
          `       ${HTTP_MB} MiB ${kind} MB/s (median of ${TRIES}) store ${f(k.store.mbps)} dir ${f(k.dir.mbps)} ` +
            `ratio ${f(k.ratio.median, 2)} (rounds ${f(k.ratio.min, 2)}..${f(k.ratio.max, 2)}); CPU s per GiB ` +
            `servers ${f(k.store.serverCpuPerGiB, 2)} vs ${f(k.dir.serverCpuPerGiB, 2)}, ` +
            `balancer ${f(k.store.balancerCpuPerGiB, 2)} vs ${f(k.dir.balancerCpuPerGiB, 2)}`,
        );
      }
      console.log(`       load average ${f(run.load[0], 2)} -> ${f(run.load[1], 2)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const report = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    sizes: { memoryMb: MEMORY_MB, httpMb: HTTP_MB, tries: TRIES },
    runs,
    ratios: runs.map((r) => ({ upload: r.speed.upload.ratio.median, download: r.speed.download.ratio.median })),
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
