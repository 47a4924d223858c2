#!/usr/bin/env node
'use strict';
// Blob storage: a hotpath SQLite blob store vs plain files, in the same run.
//
//   big:   one 1 GiB file written as a stream of 1 MiB pieces
//          (store.createWriteStream, with and without the file's SHA-256, vs
//          fs.promises.writeFile of the same pieces; best of 3 alternating
//          rounds, each after `sync`; SHA-256 of the bytes alone for scale)
//          and read back (store.createReadStream vs fs.readFile and
//          fs.createReadStream, BLOBS_READ_ROUNDS (7) alternating rounds
//          (then 3 against fs.readFile):
//          medians, the median per-round ratio and CPU time per GiB)
//   small: 10,000 files of 16 KiB (store.put/get vs fs.writeFile/readFile),
//          32 in flight; gets in BLOBS_SMALL_ROUNDS (7) alternating rounds
//          as reads are
//   durable: the same store opened with {durable: true} (chunk files and
//          the WAL synced before each commit) beside the default one, on a
//          BLOBS_DURABLE_MB (256) file and BLOBS_DURABLE_COUNT (2000) files
//          of 16 KiB, and plain files written then fsync()ed (filehandle.sync)
//          for the same guarantee
//   http:  upload and download MB/s through the SpeedBox example (load
//          balancer + 3 servers) on the SQLite store vs its directory variant,
//          and the peak resident memory of the server that took a 1 GiB upload
//
// Big files go to $TMPDIR and are deleted afterwards. Sizes: BLOBS_BIG_MB
// (1024), BLOBS_SMALL_COUNT (10000), BLOBS_HTTP_MB (256). BLOBS_SECTIONS
// picks parts (default write,read,small,durable,http). Reads take turns
// as bench/blobs/rounds.js says; the load average is printed beside them.
// Writes bench/results/blobs.json. Run: node bench/blobs/bench.js
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const fsp = require('fs/promises');
const os = require('os');
const path = require('path');
const { Readable } = require('stream');
const { pipeline } = require('stream/promises');

const root = path.resolve(__dirname, '..', '..');
const hp = require(root);
const { startSpeedbox, upload, download } = require('../../tests/support/speedbox');
const { alternate, ratio, summary, load } = require('./rounds');

const MiB = 1 << 20;
const BIG_MB = Number(process.env.BLOBS_BIG_MB || 1024);
const SMALL_COUNT = Number(process.env.BLOBS_SMALL_COUNT || 10000);
const SMALL_SIZE = 16 * 1024;
const HTTP_MB = Number(process.env.BLOBS_HTTP_MB || 256);
const DURABLE_MB = Number(process.env.BLOBS_DURABLE_MB || 256);
const DURABLE_COUNT = Number(process.env.BLOBS_DURABLE_COUNT || 2000);
const IN_FLIGHT = 32;
const READ_ROUNDS = Number(process.env.BLOBS_READ_ROUNDS || 7);
const SMALL_ROUNDS = Number(process.env.BLOBS_SMALL_ROUNDS || 7);
// Which parts run (BLOBS_SECTIONS, default all).
const SECTIONS = new Set((process.env.BLOBS_SECTIONS || 'write,read,small,durable,http').split(','));

const pieces = Array.from({ length: 16 }, () => crypto.randomBytes(MiB));
function* bigSource(mb) {
  for (let i = 0; i < mb; i++) yield pieces[i % pieces.length];
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

async function inFlight(count, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

// The quicker of two timings (either may be null).
const best = (a, b) => (!a || b.s < a.s ? b : a);
const mbps = (bytes, s) => bytes / MiB / s;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function drain(stream) {
  let n = 0;
  for await (const c of stream) n += c.length;
  return n;
}

async function big(dir) {
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'big.db')}`);
  const file = path.join(dir, 'big.bin');
  const bytes = BIG_MB * MiB;
  // Each write starts with no dirty pages left by the one before (sync), and
  // the two alternate for 3 rounds keeping each one's best: writeback of the
  // previous gigabyte or a busy neighbour otherwise decides the ratio.
  // The store runs twice per round: as it comes (with the file's SHA-256)
  // and with {sha256: false}. The SHA-256 of the same bytes on its own, in
  // one stream as a file's hash must be, is the most any hashing writer can
  // reach: it is timed too.
  let fsWrite = null;
  let storeWrite = null;
  let storeWriteNoSha = null;
  let sha256Alone = null;
  const storeOnce = async (opts) => {
    execFileSync('sync');
    const t = await timed(() => pipeline(Readable.from(bigSource(BIG_MB)), store.createWriteStream('big.bin', opts)));
    await store.delete('big.bin');
    return t;
  };
  for (let round = 0; round < (SECTIONS.has('write') ? 3 : 0); round++) {
    execFileSync('sync');
    fsWrite = best(fsWrite, await timed(() => fsp.writeFile(file, bigSource(BIG_MB))));
    storeWrite = best(storeWrite, await storeOnce({}));
    storeWriteNoSha = best(storeWriteNoSha, await storeOnce({ sha256: false }));
    sha256Alone = best(
      sha256Alone,
      await timed(async () => {
        const h = crypto.createHash('sha256');
        for (const piece of bigSource(BIG_MB)) h.update(piece);
        return h.digest();
      }),
    );
  }
  if (!fs.existsSync(file)) await fsp.writeFile(file, bigSource(BIG_MB));
  await pipeline(Readable.from(bigSource(BIG_MB)), store.createWriteStream('big.bin'));
  // Reads from the page cache: the store and fs.createReadStream take turns
  // for READ_ROUNDS rounds (rounds.js), each side's median kept with its CPU
  // time; then the store and fs.readFile the same way. fs.readFile holds
  // the whole gigabyte, whose release would otherwise land in the run next
  // to it, which in a three-way turn is always the store's.
  let reads = null;
  let whole = null;
  if (SECTIONS.has('read')) {
    const checked = (name, run) => {
      if (run.value !== bytes) throw new Error(`big: short read (${name})`);
    };
    const storeRead = () => drain(store.createReadStream('big.bin'));
    reads = await alternate(
      { fsReadStream: () => drain(fs.createReadStream(file, { highWaterMark: MiB })), store: storeRead },
      READ_ROUNDS,
      checked,
    );
    whole = await alternate({ fsReadFile: async () => (await fsp.readFile(file)).length, store: storeRead }, 3, checked);
  }
  store.close();
  fs.rmSync(file, { force: true });
  return {
    mb: BIG_MB,
    write: fsWrite && {
      store: mbps(bytes, storeWrite.s),
      storeNoSha256: mbps(bytes, storeWriteNoSha.s),
      sha256Alone: mbps(bytes, sha256Alone.s),
      fsWriteFile: mbps(bytes, fsWrite.s),
    },
    read: reads && {
      store: summary(reads.store, BIG_MB),
      fsReadFile: summary(whole.fsReadFile, BIG_MB),
      fsReadStream: summary(reads.fsReadStream, BIG_MB),
      ratioOfReadStream: ratio(reads.store, reads.fsReadStream),
      ratioOfReadFile: ratio(whole.store, whole.fsReadFile),
      rounds: READ_ROUNDS,
    },
  };
}

async function small(dir) {
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'small.db')}`);
  const files = path.join(dir, 'small');
  fs.mkdirSync(files);
  const data = Array.from({ length: 64 }, () => crypto.randomBytes(SMALL_SIZE));
  const name = (i) => `f${String(i).padStart(6, '0')}`;
  const fsWrite = await timed(() => inFlight(SMALL_COUNT, (i) => fsp.writeFile(path.join(files, name(i)), data[i % 64])));
  const storeWrite = await timed(() => inFlight(SMALL_COUNT, (i) => store.put(name(i), data[i % 64])));
  // Reads take turns for SMALL_ROUNDS rounds (rounds.js), medians kept.
  const check = (buf) => {
    if (buf.length !== SMALL_SIZE) throw new Error('small: short read');
  };
  const reads = await alternate(
    {
      fsReadFile: () => inFlight(SMALL_COUNT, async (i) => check(await fsp.readFile(path.join(files, name(i))))),
      store: () => inFlight(SMALL_COUNT, async (i) => check(await store.get(name(i)))),
    },
    SMALL_ROUNDS,
  );
  store.close();
  fs.rmSync(files, { recursive: true, force: true });
  const per = (s) => SMALL_COUNT / s;
  return {
    count: SMALL_COUNT,
    sizeKiB: SMALL_SIZE / 1024,
    write: { store: per(storeWrite.s), fsWriteFile: per(fsWrite.s) },
    read: {
      store: summary(reads.store, SMALL_COUNT),
      fsReadFile: summary(reads.fsReadFile, SMALL_COUNT),
      ratio: ratio(reads.store, reads.fsReadFile),
      rounds: SMALL_ROUNDS,
    },
  };
}

// A plain file written, then fsync()ed: what a durable write costs without
// a store.
async function writeSynced(file, data) {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// The default store against a durable one (and plain files with fsync), on
// one big file (best of 2 alternating rounds) and many small ones.
async function durability(dir) {
  const stores = {
    default: hp.blobs.open(`sqlite:${path.join(dir, 'plain.db')}`),
    durable: hp.blobs.open(`sqlite:${path.join(dir, 'durable.db')}`, { durable: true }),
  };
  const bytes = DURABLE_MB * MiB;
  const file = path.join(dir, 'durable.bin');
  const bigBest = {};
  const best = (key, t) => (bigBest[key] = !bigBest[key] || t.s < bigBest[key].s ? t : bigBest[key]);
  for (let r = 0; r < 2; r++) {
    for (const [kind, store] of Object.entries(stores)) {
      execFileSync('sync');
      best(kind, await timed(() => pipeline(Readable.from(bigSource(DURABLE_MB)), store.createWriteStream('big.bin'))));
      await store.delete('big.bin');
    }
    execFileSync('sync');
    best('fsWriteFileSync', await timed(() => writeSynced(file, bigSource(DURABLE_MB))));
    fs.rmSync(file, { force: true });
  }
  const data = Array.from({ length: 64 }, () => crypto.randomBytes(SMALL_SIZE));
  const small = {};
  for (const [kind, store] of Object.entries(stores)) {
    execFileSync('sync');
    small[kind] = (await timed(() => inFlight(DURABLE_COUNT, (i) => store.put(`d${i}`, data[i % 64])))).s;
  }
  const files = path.join(dir, 'durable-small');
  fs.mkdirSync(files);
  execFileSync('sync');
  small.fsWriteFileSync = (await timed(() => inFlight(DURABLE_COUNT, (i) => writeSynced(path.join(files, `d${i}`), data[i % 64])))).s;
  fs.rmSync(files, { recursive: true, force: true });
  for (const store of Object.values(stores)) store.close();
  const per = (x) => DURABLE_COUNT / x;
  return {
    mb: DURABLE_MB,
    count: DURABLE_COUNT,
    bigWriteMBps: {
      default: mbps(bytes, bigBest.default.s),
      durable: mbps(bytes, bigBest.durable.s),
      fsWriteFileSync: mbps(bytes, bigBest.fsWriteFileSync.s),
    },
    smallWritesPerS: { default: per(small.default), durable: per(small.durable), fsWriteFileSync: per(small.fsWriteFileSync) },
  };
}

// Resident set (VmRSS) or its peak so far (VmHWM) of a process, in MiB.
function rss(pid, field = 'VmHWM') {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function http(dir, spec) {
  const box = await startSpeedbox({ spec, servers: 3 });
  try {
    const bytes = HTTP_MB * MiB;
    const up = await timed(() => upload(box.base, 'http.bin', bigSource(HTTP_MB)));
    if (up.value.status !== 200) throw new Error(`upload: ${up.value.status} ${up.value.body}`);
    const down = await timed(() => download(box.base, '/download?filename=http.bin'));
    if (down.value.length !== bytes) throw new Error('download: short');
    return { mb: HTTP_MB, upload: mbps(bytes, up.s), download: mbps(bytes, down.s) };
  } finally {
    await box.stop();
  }
}

// A 1 GiB upload through the balancer: peak and idle resident memory of the
// server that took it and of the balancer, run as start.js runs them
// (plain node).
async function uploadMemory(dir) {
  const box = await startSpeedbox({ spec: `sqlite:${path.join(dir, 'rss.db')}`, servers: 3 });
  try {
    const idle = box.servers.map((s) => rss(s.proc.pid, 'VmRSS'));
    const lbIdle = rss(box.lb.proc.pid, 'VmRSS');
    const r = await upload(box.base, 'rss.bin', bigSource(1024));
    if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.body}`);
    const peaks = box.servers.map((s) => rss(s.proc.pid));
    const growth = peaks.map((p, i) => p - idle[i]);
    const busiest = growth.indexOf(Math.max(...growth));
    return {
      mb: 1024,
      serverPeakRssMb: peaks[busiest],
      serverIdleRssMb: idle[busiest],
      balancerPeakRssMb: rss(box.lb.proc.pid),
      balancerIdleRssMb: lbIdle,
    };
  } finally {
    await box.stop();
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-bench-blobs-'));
  try {
    console.log(`blobs bench in ${dir}: ${BIG_MB} MiB file, ${SMALL_COUNT} x 16 KiB, HTTP ${HTTP_MB} MiB`);
    const b = SECTIONS.has('write') || SECTIONS.has('read') ? await big(dir) : null;
    const w = b?.write;
    if (w) {
      console.log(
        `big    write MB/s  store ${round(w.store)}  fs.writeFile ${round(w.fsWriteFile)}  ratio ${round(w.store / w.fsWriteFile, 2)}` +
          `  (SHA-256 alone ${round(w.sha256Alone)}: store at ${round(w.store / w.sha256Alone, 2)} of it)`,
      );
      console.log(
        `big    write MB/s  store {sha256: false} ${round(w.storeNoSha256)}  fs.writeFile ${round(w.fsWriteFile)}  ratio ${round(w.storeNoSha256 / w.fsWriteFile, 2)}`,
      );
    }
    if (b?.read) {
      const r = b.read;
      console.log(
        `big    read  MB/s (median of ${r.rounds})  store ${round(r.store.rate)}  fs.readFile ${round(r.fsReadFile.rate)}  ` +
          `fs.createReadStream ${round(r.fsReadStream.rate)}; store/createReadStream ${round(r.store.rate / r.fsReadStream.rate, 2)} ` +
          `(per round: median ${round(r.ratioOfReadStream.median, 2)}, ${round(r.ratioOfReadStream.min, 2)}..${round(r.ratioOfReadStream.max, 2)}), ` +
          `of readFile ${round(r.ratioOfReadFile.median, 2)}`,
      );
      console.log(
        `big    read  CPU ms per GiB  store ${round(r.store.cpuPerUnit * 1024e3, 0)}  fs.createReadStream ${round(r.fsReadStream.cpuPerUnit * 1024e3, 0)}` +
          `  fs.readFile ${round(r.fsReadFile.cpuPerUnit * 1024e3, 0)}; load average ${round(load(), 2)}`,
      );
    }
    const s = SECTIONS.has('small') ? await small(dir) : null;
    if (s) {
      console.log(
        `small  write files/s  store ${round(s.write.store, 0)}  fs.writeFile ${round(s.write.fsWriteFile, 0)}  ratio ${round(s.write.store / s.write.fsWriteFile, 2)}`,
      );
      const r = s.read;
      console.log(
        `small  read  files/s (median of ${r.rounds})  store ${round(r.store.rate, 0)}  fs.readFile ${round(r.fsReadFile.rate, 0)}  ` +
          `ratio ${round(r.store.rate / r.fsReadFile.rate, 2)} (per round: median ${round(r.ratio.median, 2)}, ${round(r.ratio.min, 2)}..${round(r.ratio.max, 2)}); CPU µs per file ` +
          `store ${round(r.store.cpuPerUnit * 1e6)}  fs.readFile ${round(r.fsReadFile.cpuPerUnit * 1e6)}; load average ${round(load(), 2)}`,
      );
    }
    const d = SECTIONS.has('durable') ? await durability(dir) : null;
    if (d) {
      console.log(
        `durable ${d.mb} MiB write MB/s  default ${round(d.bigWriteMBps.default)}  durable ${round(d.bigWriteMBps.durable)}` +
          `  ratio ${round(d.bigWriteMBps.durable / d.bigWriteMBps.default, 2)}  (fs.writeFile + fsync ${round(d.bigWriteMBps.fsWriteFileSync)})`,
      );
      console.log(
        `durable 16 KiB puts/s  default ${round(d.smallWritesPerS.default, 0)}  durable ${round(d.smallWritesPerS.durable, 0)}` +
          `  ratio ${round(d.smallWritesPerS.durable / d.smallWritesPerS.default, 2)}  (fs.writeFile + fsync ${round(d.smallWritesPerS.fsWriteFileSync, 0)})`,
      );
    }
    const withHttp = SECTIONS.has('http');
    const hs = withHttp ? await http(dir, `sqlite:${path.join(dir, 'http.db')}`) : null;
    const hd = withHttp ? await http(dir, `dir:${path.join(dir, 'http-files')}`) : null;
    const memory = withHttp ? await uploadMemory(dir) : null;
    if (withHttp) {
      console.log(
        `http   upload MB/s   sqlite ${round(hs.upload)}  dir ${round(hd.upload)}  ratio ${round(hs.upload / hd.upload, 2)}`,
      );
      console.log(
        `http   download MB/s sqlite ${round(hs.download)}  dir ${round(hd.download)}  ratio ${round(hs.download / hd.download, 2)}`,
      );
      console.log(
        `memory 1 GiB upload: server peak RSS ${round(memory.serverPeakRssMb)} MB (idle ${round(memory.serverIdleRssMb)}), ` +
          `balancer ${round(memory.balancerPeakRssMb)} MB (idle ${round(memory.balancerIdleRssMb)}); target < 64`,
      );
    }
    const quot = (a, b) => (a === undefined || b === undefined ? null : a / b);
    const report = {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
      sections: [...SECTIONS],
      big: b,
      small: s,
      durable: d,
      http: withHttp ? { sqlite: hs, dir: hd } : null,
      uploadMemory: memory,
      ratios: {
        bigWrite: quot(w?.store, w?.fsWriteFile),
        bigWriteNoSha256: quot(w?.storeNoSha256, w?.fsWriteFile),
        bigWriteOfSha256Alone: quot(w?.store, w?.sha256Alone),
        bigRead: b?.read?.ratioOfReadFile.median ?? null,
        bigReadStream: b?.read?.ratioOfReadStream.median ?? null,
        smallWrite: quot(s?.write.store, s?.write.fsWriteFile),
        smallRead: s?.read.ratio.median ?? null,
        durableBigWrite: quot(d?.bigWriteMBps.durable, d?.bigWriteMBps.default),
        durableSmallWrite: quot(d?.smallWritesPerS.durable, d?.smallWritesPerS.default),
        httpUpload: quot(hs?.upload, hd?.upload),
        httpDownload: quot(hs?.download, hd?.download),
      },
      targets: { bigWrite: 0.8, bigReadStream: 0.8, smallWrite: 1.35, smallRead: 1.35, http: 1, uploadPeakRssMb: 64 },
    };
    const out = path.join(root, 'bench', 'results', 'blobs.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${path.relative(root, out)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
