'use strict';
// Worker churn: Workers that open a watched geo reader, a recipe set
// subscribed on Redis, a Redis limiter with hits in flight and a blob upload
// in flight, then end mid-work (terminated, or exiting on their own).
// Node's own Worker churn grows RSS by a third or more before it levels off
// (thread stacks and malloc arenas kept for the next Workers), so the same
// number of Workers that only load hotpath and open nothing run first; RSS
// is measured from there. Prints one JSON line: {workers, rssBeforePlain,
// rssStart, rssEnd}. The process must then exit by itself: a handle left
// behind would keep it alive.
// Usage: node --expose-gc main.js <redis url> <geo db> <dir> <workers>
const path = require('path');
const { Worker } = require('worker_threads');

const [redisUrl, geoDb, dir, total] = process.argv.slice(2);
const root = path.resolve(__dirname, '..', '..', '..');
const batch = 10;

const plain = `require(${JSON.stringify(root)}); require('worker_threads').parentPort.postMessage('busy');`;
const body = `
const { parentPort, workerData } = require('worker_threads');
const hp = require(${JSON.stringify(root)});
const { redisUrl, geoDb, blobDb, selfExit } = workerData;
const geo = new hp.GeoReader(geoDb, { watchIntervalMs: 50 });
geo.get('81.2.69.160');
const set = new hp.Recipes();
set.define('offers', { key: 'offerId', updateType: 'offer' });
set.subscribe(redisUrl, 'churn-offers', () => {});
const limiter = hp.openLimiter(redisUrl);
for (let i = 0; i < 50; i++) limiter.hit('churn:' + (i % 5), { rate: 1000 }).catch(() => {});
const store = hp.openBlobs('sqlite:' + blobDb);
const w = store.createWriteStream('upload.bin');
w.on('error', () => {});
w.write(Buffer.alloc(600000, 7));
parentPort.postMessage('busy');
if (selfExit) setImmediate(() => process.exit(0));
`;

function rss() {
  global.gc();
  global.gc();
  return process.memoryUsage().rss;
}

async function round(first, plainOnly) {
  const workers = [];
  for (let i = 0; i < batch; i++) {
    const n = first + i;
    workers.push(
      new Worker(plainOnly ? plain : body, {
        eval: true,
        workerData: { redisUrl, geoDb, blobDb: path.join(dir, `w${n}.db`), selfExit: n % 2 === 1 },
      }),
    );
  }
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('error', reject);
          w.once('exit', resolve);
          w.once('message', () => w.terminate().then(resolve, reject));
        }),
    ),
  );
}

async function main() {
  // Warm-up: the first Workers load the addon and grow the heap once.
  await round(0);
  const rssBeforePlain = rss();
  for (let n = 0; n < Number(total); n += batch) await round(n, true);
  const rssStart = rss();
  for (let n = batch; n < Number(total); n += batch) await round(n);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const rssEnd = rss();
  process.stdout.write(JSON.stringify({ workers: Number(total), rssBeforePlain, rssStart, rssEnd }) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
