'use strict';
// Blob stores from Node on a real SQLite file and a real redis-server:
// streams through stream.pipeline, ranges, revisions, paging, aborts,
// damaged chunks and bad input.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { hotpath } = require('../support/fixtures');
const { startRedis, startRedisCluster } = require('../support/redis');

const hp = hotpath();
const CHUNK = 1000; // small chunks: many chunk boundaries in little data
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

// A Readable of `data` in pieces of `piece` bytes.
function source(data, piece = 333) {
  let off = 0;
  return new Readable({
    read() {
      if (off >= data.length) return this.push(null);
      this.push(data.subarray(off, off + piece));
      off += piece;
    },
  });
}

function sink() {
  const parts = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  w.bytes = () => Buffer.concat(parts);
  return w;
}

const backends = [
  {
    name: 'sqlite',
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-'));
      const file = path.join(dir, 'store.db');
      return { spec: `sqlite:${file}`, file, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'redis',
    async open() {
      const redis = await startRedis();
      return { spec: redis.url, redis, cleanup: () => redis.cleanup() };
    },
  },
  {
    name: 'a 3-master Redis Cluster',
    kind: 'redis',
    cluster: true,
    async open() {
      const cluster = await startRedisCluster();
      return { spec: cluster.url, cleanup: () => cluster.cleanup() };
    },
  },
];

for (const backend of backends) {
  test(`blobs on ${backend.name}`, async (t) => {
    const env = await backend.open();
    const store = hp.blobs.open(env.spec, { chunkSize: CHUNK, timeoutMs: 2000 });
    t.after(async () => {
      store.close();
      await env.cleanup();
    });

    await t.test('the store says what it is', () => {
      assert.equal(store.backend, backend.kind || backend.name);
      assert.equal(store.chunkSize, CHUNK);
      assert.equal(store.spec, env.spec);
    });

    await t.test('put, get and stat', async () => {
      const data = crypto.randomBytes(2 * CHUNK + 17);
      const before = Date.now();
      const f = await store.put('put.bin', data, { contentType: 'image/png', metadata: { owner: 'ann', n: 3 } });
      assert.match(f.id, /^[0-9a-f]{24}$/);
      assert.equal(f.filename, 'put.bin');
      assert.equal(f.length, data.length);
      assert.equal(f.chunkSize, CHUNK);
      assert.equal(f.contentType, 'image/png');
      assert.equal(f.sha256, sha256(data));
      assert.deepEqual(f.metadata, { owner: 'ann', n: 3 });
      assert.equal(f.revision, 0);
      assert.ok(f.uploadDate instanceof Date);
      assert.ok(f.uploadDate.getTime() >= before - 1000 && f.uploadDate.getTime() <= Date.now() + 1000);
      assert.deepEqual(await store.stat('put.bin'), f);
      assert.deepEqual(await store.stat({ id: f.id }), f);
      assert.ok((await store.get('put.bin')).equals(data));
      assert.ok((await store.get(f)).equals(data));
      const plain = await store.put('plain.txt', 'hello');
      assert.equal(plain.contentType, 'application/octet-stream');
      assert.deepEqual(plain.metadata, {});
      assert.equal((await store.get('plain.txt')).toString(), 'hello');
    });

    await t.test('stream.pipeline roundtrips at every chunk boundary', async () => {
      for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 7 * CHUNK + 5, 200000]) {
        const data = crypto.randomBytes(size);
        const w = store.createWriteStream(`size-${size}`);
        const id = w.id;
        assert.match(id, /^[0-9a-f]{24}$/);
        await pipeline(source(data), w);
        assert.equal(w.file.id, id);
        assert.equal(w.file.length, size);
        assert.equal(w.file.sha256, sha256(data));
        const out = sink();
        const r = store.createReadStream(`size-${size}`);
        let seen = null;
        r.on('file', (f) => (seen = f));
        await pipeline(r, out);
        assert.equal(seen.id, id);
        assert.equal(r.file.id, id);
        assert.ok(out.bytes().equals(data), `size ${size}`);
      }
    });

    await t.test('a file written with its own chunk size', async () => {
      const data = crypto.randomBytes(10000);
      const f = await store.put('own-chunk', data, { chunkSize: 4096 });
      assert.equal(f.chunkSize, 4096);
      assert.ok((await store.get('own-chunk', { start: 4000, end: 8200 })).equals(data.subarray(4000, 8201)));
    });

    await t.test('range reads (end inclusive, as fs)', async () => {
      const data = crypto.randomBytes(5 * CHUNK + 123);
      await store.put('ranges', data);
      const cases = [
        [0, 0],
        [0, CHUNK - 1],
        [CHUNK - 1, CHUNK],
        [CHUNK, 2 * CHUNK - 1],
        [17, 3 * CHUNK + 5],
        [5 * CHUNK, 5 * CHUNK + 122],
        [4 * CHUNK + 3, undefined],
        [undefined, 10],
        [100, data.length + 1000],
      ];
      for (const [start, end] of cases) {
        const got = await store.get('ranges', { start, end });
        const s = start ?? 0;
        const e = end === undefined ? data.length : Math.min(end + 1, data.length);
        assert.ok(got.equals(data.subarray(s, e)), `${start}-${end}`);
      }
      assert.equal((await store.get('ranges', { start: data.length })).length, 0);
      assert.equal((await store.get('ranges', { start: data.length + 50 })).length, 0);
    });

    await t.test('a read stream fills Buffers of whole chunks (readSize), ranges included', async () => {
      const data = crypto.randomBytes(10 * CHUNK + 321);
      await store.put('whole-chunks', data);
      for (const [opts, want] of [
        [{ readSize: 3 * CHUNK + 500 }, [3000, 3000, 3000, 1321]],
        [{ readSize: 3 * CHUNK, start: 5, end: 7 * CHUNK + 9 }, [2995, 3000, 1010]],
        [{ readSize: 10 }, [...Array(10).fill(CHUNK), 321]], // at least one chunk per Buffer
        [{}, [data.length]], // 1 MiB by default
      ]) {
        const sizes = [];
        const parts = [];
        // highWaterMark 1: one Buffer waits at a time (read() joins those that wait).
        for await (const buf of store.createReadStream('whole-chunks', { ...opts, highWaterMark: 1 })) {
          sizes.push(buf.length);
          parts.push(buf);
        }
        assert.deepEqual(sizes, want, JSON.stringify(opts));
        const s = opts.start ?? 0;
        assert.ok(Buffer.concat(parts).equals(data.subarray(s, opts.end === undefined ? data.length : opts.end + 1)));
      }
      assert.throws(() => store.createReadStream('whole-chunks', { readSize: 0 }), RangeError);
      assert.throws(() => store.createReadStream('whole-chunks', { readSize: 1.5 }), RangeError);
    });

    await t.test('revisions: each commit adds one, the latest wins', async () => {
      const versions = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
      const files = [];
      for (const v of versions) files.push(await store.put('rev.txt', v));
      assert.deepEqual(
        files.map((f) => f.revision),
        [0, 1, 2],
      );
      assert.equal((await store.get('rev.txt')).toString(), 'three');
      assert.equal((await store.get('rev.txt', { revision: 0 })).toString(), 'one');
      assert.equal((await store.get('rev.txt', { revision: 1 })).toString(), 'two');
      assert.equal((await store.get('rev.txt', { revision: -2 })).toString(), 'two');
      assert.equal((await store.stat('rev.txt', { revision: -3 })).id, files[0].id);
      assert.equal(await store.stat('rev.txt', { revision: 3 }), null);
      assert.equal(await store.stat('rev.txt', { revision: -4 }), null);
      const all = await store.list({ prefix: 'rev.txt' });
      assert.deepEqual(
        all.files.map((f) => f.id),
        files.map((f) => f.id),
      );
      const latest = await store.list({ prefix: 'rev.txt', latestOnly: true });
      assert.deepEqual(
        latest.files.map((f) => f.id),
        [files[2].id],
      );
    });

    await t.test('a reader keeps the revision it opened', async () => {
      const first = crypto.randomBytes(4 * CHUNK);
      await store.put('moving', first);
      const r = store.createReadStream('moving');
      const out = sink();
      const done = pipeline(r, out);
      await new Promise((resolve) => r.once('file', resolve));
      await store.put('moving', crypto.randomBytes(4 * CHUNK));
      await done;
      assert.ok(out.bytes().equals(first));
    });

    await t.test('list pages with a cursor, by filename then revision', async () => {
      const names = Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(2, '0')}`);
      await Promise.all(names.map((n) => store.put(n, Buffer.from(n))));
      await store.put('page/05', Buffer.from('again'));
      const seen = [];
      let cursor = null;
      let pages = 0;
      do {
        const page = await store.list({ prefix: 'page/', cursor, limit: 7 });
        assert.ok(page.files.length <= 7);
        for (const f of page.files) seen.push(`${f.filename}#${f.revision}`);
        cursor = page.cursor;
        pages++;
      } while (cursor);
      assert.ok(pages >= 4);
      const expected = names.flatMap((n) => (n === 'page/05' ? [`${n}#0`, `${n}#1`] : [`${n}#0`]));
      assert.deepEqual(seen, expected);
      const iterated = [];
      for await (const f of store.files({ prefix: 'page/', latestOnly: true, limit: 4 })) iterated.push(f.filename);
      assert.deepEqual(iterated, names);
      assert.deepEqual((await store.list({ prefix: 'no-such-prefix/' })).files, []);
    });

    await t.test('delete by id or every revision by name; exists', async () => {
      const a = await store.put('del.txt', 'a');
      const b = await store.put('del.txt', 'b');
      assert.equal(await store.exists('del.txt'), true);
      assert.equal(await store.exists(a), true);
      assert.equal(await store.delete(b), 1);
      assert.equal(await store.exists(b), false);
      assert.equal((await store.get('del.txt')).toString(), 'a');
      assert.equal(await store.delete(b), 0);
      await store.put('del.txt', 'c');
      assert.equal(await store.delete('del.txt'), 2);
      assert.equal(await store.exists('del.txt'), false);
      assert.equal(await store.delete('del.txt'), 0);
      await assert.rejects(store.get('del.txt'), { name: 'HotpathError', code: 'HP_ENOTFOUND' });
    });

    await t.test('a destroyed write stream leaves nothing', async () => {
      const w = store.createWriteStream('aborted.bin');
      await new Promise((resolve) => w.write(crypto.randomBytes(5 * CHUNK), resolve));
      const closed = new Promise((resolve) => w.once('close', resolve));
      w.destroy();
      await closed;
      assert.equal(await store.exists('aborted.bin'), false);
      assert.equal(await store.exists({ id: w.id }), false);
      assert.equal(w.file, null);
      // A pipeline whose source fails aborts the upload too.
      const failing = new Readable({
        read() {
          this.push(crypto.randomBytes(CHUNK * 2));
          this.destroy(new Error('source broke'));
        },
      });
      await assert.rejects(pipeline(failing, store.createWriteStream('aborted.bin')), /source broke/);
      assert.equal(await store.exists('aborted.bin'), false);
      assert.deepEqual((await store.list({ prefix: 'aborted' })).files, []);
    });

    await t.test('sha256: false skips the file hash; bufferBytes changes nothing stored', async () => {
      const data = crypto.randomBytes(5 * CHUNK + 3);
      const f = await store.put('no-hash.bin', data, { sha256: false });
      assert.equal(f.sha256, null);
      assert.equal((await store.stat({ id: f.id })).sha256, null);
      assert.ok((await store.get(f)).equals(data));
      const w = store.createWriteStream('no-hash-stream.bin', { sha256: false, bufferBytes: 1 });
      await pipeline(source(data), w);
      assert.equal(w.file.sha256, null);
      assert.ok((await store.get(w.file)).equals(data));
      const deep = store.createWriteStream('deep.bin', { bufferBytes: 64 * CHUNK });
      await pipeline(source(data), deep);
      assert.equal(deep.file.sha256, sha256(data));
      assert.throws(() => store.createWriteStream('x', { sha256: 'no' }), TypeError);
      assert.throws(() => store.createWriteStream('x', { bufferBytes: -1 }), RangeError);
    });

    await t.test('a buffer given to write is read until its callback, then left alone', async () => {
      // Each piece is overwritten as soon as its write's callback runs, as a
      // producer reusing one buffer would: the file must hold the originals.
      const data = crypto.randomBytes(3 * CHUNK + 99);
      const w = store.createWriteStream('reused.bin');
      const piece = Buffer.alloc(1000);
      for (let off = 0; off < data.length; off += piece.length) {
        const n = Math.min(piece.length, data.length - off);
        data.copy(piece, 0, off, off + n);
        await new Promise((resolve, reject) =>
          w.write(piece.subarray(0, n), (err) => {
            piece.fill(0xee);
            return err ? reject(err) : resolve();
          }),
        );
      }
      await new Promise((resolve, reject) => w.end((err) => (err ? reject(err) : resolve())));
      assert.equal(w.file.sha256, sha256(data));
      assert.ok((await store.get(w.file)).equals(data));
    });

    await t.test('backpressure: the writer never holds much', async () => {
      const w = store.createWriteStream('pressure.bin', { highWaterMark: 16384 });
      let maxBuffered = 0;
      const piece = crypto.randomBytes(8192);
      const hash = crypto.createHash('sha256');
      for (let i = 0; i < 400; i++) {
        hash.update(piece);
        if (!w.write(piece)) await new Promise((resolve) => w.once('drain', resolve));
        maxBuffered = Math.max(maxBuffered, w.writableLength);
      }
      await new Promise((resolve, reject) => w.end((err) => (err ? reject(err) : resolve())));
      assert.ok(maxBuffered <= 16384 + 8192, `buffered ${maxBuffered}`);
      assert.equal(w.file.sha256, hash.digest('hex'));
      assert.equal(w.file.length, 400 * 8192);
    });

    await t.test('many concurrent uploads and downloads', async () => {
      const datas = Array.from({ length: 24 }, (_, i) => crypto.randomBytes(CHUNK * 3 + i * 31));
      await Promise.all(datas.map((d, i) => pipeline(source(d, 500), store.createWriteStream(`conc-${i}`))));
      const got = await Promise.all(datas.map((_, i) => store.get(`conc-${i}`)));
      got.forEach((g, i) => assert.ok(g.equals(datas[i]), `conc-${i}`));
    });

    await t.test('the JS thread keeps running during a large write', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const data = crypto.randomBytes(8 << 20);
      await pipeline(source(data, 1 << 16), store.createWriteStream('large', { chunkSize: 261120 }));
      clearInterval(timer);
      assert.ok(ticks > 0);
      assert.equal((await store.stat('large')).sha256, sha256(data));
    });

    await t.test('missing files', async () => {
      assert.equal(await store.stat('nope'), null);
      assert.equal(await store.exists('nope'), false);
      await assert.rejects(store.get('nope'), (err) => {
        assert.ok(err instanceof hp.HotpathError);
        assert.equal(err.code, 'HP_ENOTFOUND');
        return true;
      });
      await assert.rejects(pipeline(store.createReadStream({ id: 'f'.repeat(24) }), sink()), {
        code: 'HP_ENOTFOUND',
      });
    });

    await t.test('bad input is refused clearly', async () => {
      assert.throws(() => store.createWriteStream(''), RangeError);
      assert.throws(() => store.createWriteStream('a\0b'), RangeError);
      assert.throws(() => store.createWriteStream('x'.repeat(1025)), RangeError);
      assert.throws(() => store.createWriteStream(42), TypeError);
      assert.throws(() => store.createWriteStream('x', { chunkSize: 16777217 }), RangeError);
      assert.throws(() => store.createWriteStream('x', { chunkSize: 1.5 }), RangeError);
      assert.throws(() => store.createWriteStream('x', { contentType: 'x'.repeat(256) }), RangeError);
      assert.throws(() => store.createReadStream({ id: 'not-an-id' }), RangeError);
      assert.throws(() => store.createReadStream(null), TypeError);
      assert.throws(() => store.createReadStream('x', { start: -1 }), RangeError);
      assert.throws(() => store.createReadStream('x', { revision: 0.5 }), RangeError);
      await assert.rejects(async () => store.list({ limit: 0 }), RangeError);
      await assert.rejects(async () => store.list({ cursor: 'garbage-cursor' }), { code: 'HP_EINVAL' });
      assert.throws(() => hp.blobs.open('nosuch:/x'), { code: 'HP_EINVAL' });
      assert.throws(() => hp.blobs.open(env.spec, { chunkSize: -1 }), RangeError);
    });
  });
}

// Flip one byte inside `needle` wherever the backend keeps it, without
// knowing its layout: in the SQLite file (or its WAL) as raw bytes, in Redis
// in whichever string or hash value holds it.
function corruptSqlite(file, needle) {
  let hits = 0;
  // Every copy: the page may be in the database file and in the WAL.
  for (const f of [file, `${file}-wal`]) {
    if (!fs.existsSync(f)) continue;
    const bytes = fs.readFileSync(f);
    for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
      bytes[at + 7] ^= 0x5a;
      hits++;
    }
    fs.writeFileSync(f, bytes);
  }
  return hits > 0;
}

async function corruptRedisNode(url, needle) {
  const Redis = require('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') {
          const v = await client.getBuffer(key);
          const at = v.indexOf(needle);
          if (at >= 0) {
            v[at + 7] ^= 0x5a;
            await client.set(key, v);
            return true;
          }
        } else if (type === 'hash') {
          const h = await client.hgetallBuffer(key);
          for (const [field, v] of Object.entries(h)) {
            const at = v.indexOf(needle);
            if (at >= 0) {
              v[at + 7] ^= 0x5a;
              await client.hset(key, field, v);
              return true;
            }
          }
        }
      }
    } while (cursor !== '0');
    return false;
  } finally {
    client.disconnect();
  }
}

// Every node of the test's server or cluster (a chunk lives on one of them).
async function corruptRedis(redis, needle) {
  for (const url of redis.nodeUrls) if (await corruptRedisNode(url, needle)) return true;
  return false;
}

// Damage is done with a plain client on each node.
for (const backend of backends.filter((b) => !b.cluster)) {
  test(`a damaged chunk is HP_ECORRUPT, never wrong bytes (${backend.name})`, async (t) => {
    const env = await backend.open();
    t.after(() => env.cleanup());
    const store = hp.blobs.open(env.spec, { chunkSize: CHUNK });
    const data = crypto.randomBytes(4 * CHUNK);
    const f = await store.put('victim.bin', data);
    store.close();
    const needle = data.subarray(2 * CHUNK + 100, 2 * CHUNK + 132); // inside chunk 2
    const hit = env.file ? corruptSqlite(env.file, needle) : await corruptRedis(env.redis, needle);
    assert.ok(hit, 'chunk 2 found in the backend');
    const again = hp.blobs.open(env.spec);
    t.after(() => again.close());
    await assert.rejects(again.get('victim.bin'), (err) => {
      assert.ok(err instanceof hp.HotpathError);
      assert.equal(err.code, 'HP_ECORRUPT');
      assert.match(err.message, new RegExp(f.id));
      assert.match(err.message, /chunk 2/);
      return true;
    });
    // A range that avoids the chunk reads fine.
    assert.ok((await again.get('victim.bin', { end: 2 * CHUNK - 1 })).equals(data.subarray(0, 2 * CHUNK)));
    assert.ok((await again.get('victim.bin', { start: 3 * CHUNK })).equals(data.subarray(3 * CHUNK)));
    // A stream gives the good bytes before the damage, then the error.
    const got = [];
    const out = new Writable({
      write(c, _e, cb) {
        got.push(c);
        cb();
      },
    });
    await assert.rejects(pipeline(again.createReadStream('victim.bin'), out), { code: 'HP_ECORRUPT' });
    const before = Buffer.concat(got);
    assert.ok(before.length <= 2 * CHUNK);
    assert.ok(before.equals(data.subarray(0, before.length)));
  });
}

test('a store closed with streams open lets them finish', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-close-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = `sqlite:${path.join(dir, 'store.db')}`;
  const store = hp.blobs.open(spec, { chunkSize: CHUNK });
  const data = crypto.randomBytes(3 * CHUNK);
  const w = store.createWriteStream('late.bin');
  w.write(data.subarray(0, CHUNK + 5));
  store.close();
  await new Promise((resolve, reject) => w.end(data.subarray(CHUNK + 5), (err) => (err ? reject(err) : resolve())));
  assert.throws(() => store.createWriteStream('x'), { code: 'HP_ECLOSED' });
  await assert.rejects(async () => store.stat('late.bin'), { code: 'HP_ECLOSED' });
  const reopened = hp.blobs.open(spec);
  t.after(() => reopened.close());
  assert.ok((await reopened.get('late.bin')).equals(data));
});

test("a read stream's Buffers stay whole after the store closes (its own memory, not lent)", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-pieces-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'store.db')}`, { chunkSize: CHUNK });
  const data = crypto.randomBytes(20 * CHUNK + 17);
  await store.put('p.bin', data);
  const pieces = [];
  // A slow consumer: the stream reads ahead of it, in order.
  const opts = { start: 5, end: 20 * CHUNK + 9, readSize: CHUNK, highWaterMark: 1 };
  for await (const piece of store.createReadStream('p.bin', opts)) {
    pieces.push(piece);
    await new Promise((r) => setImmediate(r));
  }
  store.close();
  // Memory churn after the close: a lent buffer would be reused or freed by now.
  for (let i = 0; i < 50; i++) await churn();
  assert.equal(pieces.length, 21);
  assert.ok(Buffer.concat(pieces).equals(data.subarray(5, 20 * CHUNK + 10)));
});

test('get() reads a range past one call (8 MiB) through a reader, into one Buffer', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-big-get-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'store.db')}`);
  t.after(() => store.close());
  const data = crypto.randomBytes(9 * 1024 * 1024 + 5);
  await store.put('big.bin', data);
  const got = await store.get('big.bin');
  assert.equal(got.length, data.length);
  assert.ok(got.equals(data));
  const range = await store.get('big.bin', { start: 100, end: 8 * 1024 * 1024 + 200 });
  assert.ok(range.equals(data.subarray(100, 8 * 1024 * 1024 + 201)));
  // Just under the bound: one call, a Buffer over the engine's memory.
  const under = await store.get('big.bin', { end: 8 * 1024 * 1024 - 1 });
  assert.ok(under.equals(data.subarray(0, 8 * 1024 * 1024)));
  const ac = new AbortController();
  const pending = store.get('big.bin', { signal: ac.signal });
  ac.abort();
  await assert.rejects(pending, { name: 'AbortError' });
});

async function churn() {
  const bufs = Array.from({ length: 16 }, () => Buffer.alloc(CHUNK, 0xee));
  await new Promise((r) => setImmediate(r));
  return bufs.length;
}

test('releaseBuffer frees a whole Buffer at once and leaves views of part of one alone', () => {
  const whole = Buffer.alloc(100000, 1);
  const view = new Uint8Array(whole.buffer, 0, whole.length);
  assert.equal(hp.blobs.releaseBuffer(whole), true);
  assert.equal(whole.length, 0);
  assert.equal(view.length, 0); // every view of the memory is emptied
  assert.equal(hp.blobs.releaseBuffer(whole), false); // already released
  const pooled = Buffer.from('small bytes'); // a slice of Node's shared pool
  assert.equal(hp.blobs.releaseBuffer(pooled), false);
  assert.equal(pooled.toString(), 'small bytes');
  const big = Buffer.alloc(5000, 2);
  assert.equal(hp.blobs.releaseBuffer(big.subarray(10)), false);
  assert.equal(big.length, 5000);
  assert.throws(() => hp.blobs.releaseBuffer('text'), TypeError);
});

test('durable: true opens a SQLite store whose commits are synced; Redis refuses it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-durable-'));
  const store = hp.blobs.open(`sqlite:${path.join(dir, 'store.db')}`, { chunkSize: 1000, durable: true });
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const data = crypto.randomBytes(40500);
  const f = await store.put('durable.bin', data);
  assert.ok((await store.get(f)).equals(data));
  // (tests/c/blobs_test.cc checks the syncs themselves.)
  const again = hp.blobs.open(`sqlite:${path.join(dir, 'store.db')}`, { durable: true });
  t.after(() => again.close());
  assert.equal((await again.stat('durable.bin')).sha256, f.sha256);
  assert.throws(() => hp.blobs.open('redis://127.0.0.1:1', { durable: true }), {
    code: 'HP_EINVAL',
    message: /appendfsync/,
  });
  assert.throws(() => hp.blobs.open(`sqlite:${path.join(dir, 'x.db')}`, { durable: 1 }), TypeError);
});

test('a file copied between stores with stream.pipeline (sqlite to redis)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-copy-'));
  const redis = await startRedis();
  const from = hp.blobs.open(`sqlite:${path.join(dir, 'a.db')}`);
  const to = hp.blobs.open(redis.url, { prefix: 'copy' });
  t.after(async () => {
    from.close();
    to.close();
    await redis.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const data = crypto.randomBytes(3 * 261120 + 99);
  const f = await from.put('photo.jpg', data, { contentType: 'image/jpeg' });
  await pipeline(from.createReadStream(f), to.createWriteStream('photo.jpg', { contentType: f.contentType }));
  const copy = await to.stat('photo.jpg');
  assert.equal(copy.sha256, f.sha256);
  assert.equal(copy.contentType, 'image/jpeg');
  assert.notEqual(copy.id, f.id);
});

test('a Redis store that cannot reach its server answers HP_EUNAVAILABLE', async (t) => {
  const redis = await startRedis();
  const store = hp.blobs.open(redis.url, { timeoutMs: 300 });
  t.after(async () => {
    store.close();
    await redis.cleanup();
  });
  await store.put('before', 'x');
  await redis.stop();
  await assert.rejects(store.stat('before'), { code: 'HP_EUNAVAILABLE' });
  await assert.rejects(store.put('during', 'y'), { code: 'HP_EUNAVAILABLE' });
  await redis.restart();
  // Data is not persisted by the test server; the store works again.
  let ok = false;
  for (let i = 0; i < 50 && !ok; i++) {
    try {
      await store.put('after', 'z');
      ok = true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(ok);
  assert.equal((await store.get('after')).toString(), 'z');
});

test('Workers end with uploads and downloads in flight, without crash or hang', async (t) => {
  const { Worker } = require('node:worker_threads');
  const { root } = require('../support/fixtures');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-blobs-workers-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = `sqlite:${path.join(dir, 'store.db')}`;
  const body = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const hp = require(${JSON.stringify(root)});
const store = hp.blobs.open(${JSON.stringify(spec)}, { chunkSize: 4096 });
(async () => {
  await store.put('w-' + crypto.randomUUID(), crypto.randomBytes(50000));
  const w = store.createWriteStream('pending-' + crypto.randomUUID());
  w.write(crypto.randomBytes(100000));
  store.createReadStream('missing').on('error', () => {});
  const files = await store.list({ limit: 5 });
  store.createReadStream(files.files[0]).resume();
  parentPort.postMessage(files.files.length);
})();
`;
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const workers = Array.from({ length: 4 }, () => new Worker(body, { eval: true }));
    const counts = await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    for (const n of counts) assert.ok(n >= 1);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  // Uploads cut short by a Worker's end never became visible.
  const store = hp.blobs.open(spec);
  t.after(() => store.close());
  assert.deepEqual((await store.list({ prefix: 'pending-' })).files, []);
  assert.equal((await store.list({ prefix: 'w-' })).files.length, rounds * 4);
});
