'use strict';
// SpeedBox over real HTTP on 127.0.0.1: three file servers on one store
// behind the load balancer, on a SQLite file, on a real redis-server and on
// the plain-directory variant. Every byte is checked by sha256.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { startRedis, waitForPort } = require('../support/redis');
const { startSpeedbox, startProcess, upload, download, sha256, freePort } = require('../support/speedbox');

const CHUNK = 261120;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Deterministic bytes of any size, produced a piece at a time: an AES-CTR
// keystream keyed by `seed`.
async function* pseudoRandom(size, seed, piece = 1 << 16) {
  const key = crypto.createHash('sha256').update(String(seed)).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(piece);
  for (let sent = 0; sent < size; sent += piece) {
    yield cipher.update(zeros.subarray(0, Math.min(piece, size - sent)));
  }
}

async function collect(iter) {
  const parts = [];
  for await (const p of iter) parts.push(p);
  return Buffer.concat(parts);
}

const query = (name) => `/download?filename=${encodeURIComponent(name)}`;

function backends() {
  const list = [
    {
      name: 'sqlite',
      async setup(dir) {
        return { spec: `sqlite:${path.join(dir, 'speedbox.db')}`, revisions: true };
      },
    },
    {
      name: 'redis',
      async setup() {
        const redis = await startRedis();
        return { spec: redis.url, revisions: true, cleanup: () => redis.cleanup() };
      },
    },
    {
      name: 'dir',
      async setup(dir) {
        return { spec: `dir:${path.join(dir, 'files')}`, revisions: false };
      },
    },
  ];
  return list;
}

for (const backend of backends()) {
  test(`speedbox on ${backend.name}`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `speedbox-e2e-${backend.name}-`));
    const env = await backend.setup(dir);
    let box = await startSpeedbox({ spec: env.spec });
    // The store as the servers see it, for what HTTP does not show.
    const store = env.revisions ? require('../..').blobs.open(env.spec) : null;
    t.after(async () => {
      await box.stop();
      store?.close();
      await env.cleanup?.();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    await t.test('roundtrips are byte-exact at every chunk boundary', async () => {
      const sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7, 10 * 1024 * 1024];
      for (const size of sizes) {
        const name = `round-${size}.bin`;
        const data = crypto.randomBytes(size);
        const up = await upload(box.base, name, data, { contentType: 'image/png' });
        assert.equal(up.status, 200, up.body);
        assert.deepEqual(JSON.parse(up.body), { message: 'Success' });
        const down = await download(box.base, query(name));
        assert.equal(down.status, 200);
        assert.equal(down.length, size);
        assert.equal(down.sha256, sha256(data), `size ${size}`);
        assert.equal(down.headers['content-type'], 'image/png');
        assert.equal(down.headers['content-length'], String(size));
        assert.equal(down.headers.etag, `"${sha256(data)}"`);
      }
    });

    await t.test('a streamed 40 MB upload arrives whole', async () => {
      const size = 40 * 1024 * 1024 + 5;
      const up = await upload(box.base, 'big.bin', pseudoRandom(size, 'big'));
      assert.equal(up.status, 200, up.body);
      const hash = crypto.createHash('sha256');
      for await (const p of pseudoRandom(size, 'big')) hash.update(p);
      const down = await download(box.base, query('big.bin'));
      assert.equal(down.length, size);
      assert.equal(down.sha256, hash.digest('hex'));
    });

    await t.test('range reads, ETag and If-None-Match', async () => {
      const data = crypto.randomBytes(3 * CHUNK + 100);
      assert.equal((await upload(box.base, 'ranges.bin', data)).status, 200);
      const cases = [
        ['bytes=0-0', 0, 0],
        ['bytes=10-99', 10, 99],
        [`bytes=${CHUNK - 5}-${CHUNK + 5}`, CHUNK - 5, CHUNK + 5],
        [`bytes=${CHUNK}-${2 * CHUNK - 1}`, CHUNK, 2 * CHUNK - 1],
        [`bytes=${CHUNK + 1}-`, CHUNK + 1, data.length - 1],
        ['bytes=-300', data.length - 300, data.length - 1],
        [`bytes=100-${data.length + 1000}`, 100, data.length - 1],
        [`bytes=-${data.length + 5}`, 0, data.length - 1],
      ];
      for (const [range, start, end] of cases) {
        const r = await download(box.base, query('ranges.bin'), { range }, { keep: true });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${data.length}`, range);
        assert.ok(r.body.equals(data.subarray(start, end + 1)), range);
      }
      const beyond = await download(box.base, query('ranges.bin'), { range: `bytes=${data.length}-` });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);
      // A multi-range or malformed header is ignored: the whole file.
      const whole = await download(box.base, query('ranges.bin'), { range: 'bytes=0-1,5-6' });
      assert.equal(whole.status, 200);
      assert.equal(whole.sha256, sha256(data));

      const head = await download(box.base, query('ranges.bin'), {}, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.length, 0);
      assert.equal(head.headers['content-length'], String(data.length));
      assert.equal(head.headers['accept-ranges'], 'bytes');

      const etag = `"${sha256(data)}"`;
      const cached = await download(box.base, query('ranges.bin'), { 'if-none-match': etag });
      assert.equal(cached.status, 304);
      assert.equal(cached.length, 0);
      assert.equal(cached.headers.etag, etag);
      const stale = await download(box.base, query('ranges.bin'), { 'if-none-match': '"0000"' });
      assert.equal(stale.status, 200);
      assert.equal(stale.sha256, sha256(data));
      // If-Modified-Since, and If-None-Match winning over it.
      const since = { 'if-modified-since': cached.headers['last-modified'] };
      assert.equal((await download(box.base, query('ranges.bin'), since)).status, 304);
      assert.equal((await download(box.base, query('ranges.bin'), { ...since, 'if-none-match': '"0000"' })).status, 200);
      const before = { 'if-modified-since': new Date(Date.parse(cached.headers['last-modified']) - 2000).toUTCString() };
      assert.equal((await download(box.base, query('ranges.bin'), before)).status, 200);
    });

    await t.test('unknown files, bad requests and the list', async () => {
      const missing = await download(box.base, query('no-such-file'), {}, { keep: true });
      assert.equal(missing.status, 400);
      assert.deepEqual(JSON.parse(missing.body), { message: 'File not found' });
      const noName = await download(box.base, '/download', {}, { keep: true });
      assert.equal(noName.status, 400);
      for (const odd of ['a%00b', 'z'.repeat(2000)]) {
        const r = await download(box.base, `/download?filename=${odd}`, {}, { keep: true });
        assert.equal(r.status, 400);
        assert.deepEqual(JSON.parse(r.body), { message: 'File not found' });
      }
      const wrongField = await upload(box.base, 'x.bin', Buffer.from('x'), { field: 'other' });
      assert.equal(wrongField.status, 400);
      if (store) {
        const tooLong = await upload(box.base, 'y'.repeat(1100), Buffer.from('y'));
        assert.equal(tooLong.status, 400);
        assert.match(JSON.parse(tooLong.body).message, /filename/);
      }
      const list = await download(box.base, '/files', {}, { keep: true });
      assert.equal(list.status, 200);
      const { files } = JSON.parse(list.body);
      for (const name of ['round-0.bin', 'round-1.bin', 'big.bin', 'ranges.bin']) assert.ok(files.includes(name), name);
      assert.ok(!files.includes('x.bin'));
      assert.equal(new Set(files).size, files.length);
    });

    await t.test('concurrent uploads of one name: both kept, the last commit wins', async () => {
      const first = crypto.randomBytes(2 * CHUNK + 3);
      const second = crypto.randomBytes(CHUNK + 9);
      // The first upload stays open until the second has committed.
      let release;
      const gate = new Promise((r) => (release = r));
      async function* held() {
        yield first.subarray(0, CHUNK);
        await gate;
        yield first.subarray(CHUNK);
      }
      const slow = upload(box.base, 'same.bin', held());
      await sleep(100);
      const fast = await upload(box.base, 'same.bin', second);
      assert.equal(fast.status, 200);
      assert.equal((await download(box.base, query('same.bin'))).sha256, sha256(second));
      release();
      assert.equal((await slow).status, 200);
      assert.equal((await download(box.base, query('same.bin'))).sha256, sha256(first));
      if (store) {
        const { files } = await store.list({ prefix: 'same.bin' });
        const revs = files.filter((f) => f.filename === 'same.bin');
        assert.equal(revs.length, 2);
        assert.deepEqual(revs.map((f) => f.sha256).sort(), [sha256(first), sha256(second)].sort());
        assert.equal((await store.get('same.bin', { revision: 0 })).toString('hex'), second.toString('hex'));
      }
    });

    await t.test('an upload cut off mid-stream leaves nothing', async () => {
      const data = crypto.randomBytes(5 * CHUNK);
      await assert.rejects(upload(box.base, 'cut.bin', data, { cutAfter: 2 * CHUNK + 17 }));
      // The servers notice the closed connection and abort the write.
      for (let i = 0; i < 20; i++) {
        const r = await download(box.base, query('cut.bin'));
        assert.equal(r.status, 400);
        await sleep(25);
      }
      if (store) assert.equal(await store.exists('cut.bin'), false);
      const list = JSON.parse((await download(box.base, '/files', {}, { keep: true })).body.toString());
      assert.ok(!list.files.includes('cut.bin'));
    });

    await t.test('a server killed under load loses no committed file; the balancer keeps serving', async () => {
      const committed = new Map();
      let failures = 0;
      let afterKill = 0;
      let killed = false;
      const work = async (worker) => {
        for (let i = 0; i < 12; i++) {
          const name = `load-${worker}-${i}.bin`;
          const data = await collect(pseudoRandom(CHUNK + worker * 1000 + i * 77, name));
          try {
            const r = await upload(box.base, name, data);
            if (r.status === 200) {
              committed.set(name, sha256(data));
              if (killed) afterKill++;
            } else {
              failures++;
            }
          } catch {
            failures++; // in flight on the server that died
          }
        }
      };
      const load = Promise.all([0, 1, 2, 3, 4, 5].map(work));
      while (committed.size < 15) await sleep(5);
      await box.servers[1].kill('SIGKILL');
      killed = true;
      await load;
      // Only requests in flight on the killed server may fail.
      assert.ok(failures <= 6, `failures: ${failures}`);
      assert.ok(afterKill > 0);
      for (const [name, hash] of committed) {
        const r = await download(box.base, query(name));
        assert.equal(r.status, 200, name);
        assert.equal(r.sha256, hash, name);
      }
      // The remaining servers keep answering through the balancer.
      for (let i = 0; i < 6; i++) assert.equal((await download(box.base, '/health')).status, 200);
    });

    // No process died on its own through all of the above.
    assert.equal(box.crashes(), 0);
    // A restarted deployment on the same store still serves every file.
    await box.stop();
    box = await startSpeedbox({ spec: env.spec, servers: 2 });
    const again = await download(box.base, query('ranges.bin'));
    assert.equal(again.status, 200);
  });
}

test('the balancer: round-robin over healthy servers, retry past a dead one, rejoin after restart', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedbox-e2e-lb-'));
  const box = await startSpeedbox({ spec: `dir:${path.join(dir, 'files')}`, servers: 3, healthIntervalMs: 100 });
  t.after(async () => {
    await box.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ports = box.servers.map((s) => s.port);
  const who = async () => {
    const r = await download(box.base, '/', {}, { keep: true });
    assert.equal(r.status, 200);
    return Number(/port : (\d+)/.exec(JSON.parse(r.body).msg)[1]);
  };
  const spread = async (n) => {
    const counts = new Map();
    for (let i = 0; i < n; i++) {
      const p = await who();
      counts.set(p, (counts.get(p) || 0) + 1);
    }
    return counts;
  };
  // Every server in turn, each as often.
  const all = await spread(9);
  assert.deepEqual([...all.keys()].sort(), [...ports].sort());
  assert.deepEqual([...all.values()], [3, 3, 3]);

  // A dead server: no request fails, before or after its health check.
  await box.servers[0].kill('SIGKILL');
  const during = await spread(8);
  assert.ok(!during.has(ports[0]));
  await sleep(300);
  const after = await spread(8);
  assert.deepEqual([...after.keys()].sort(), [ports[1], ports[2]].sort());
  assert.deepEqual([...after.values()], [4, 4]);

  // Back on its port, it gets its share again once a check has passed.
  await box.restart(0);
  await sleep(300);
  const back = await spread(9);
  assert.deepEqual([...back.values()], [3, 3, 3]);

  assert.equal(box.crashes(), 0);
  // Every server down: 503 from the balancer, at once.
  await Promise.all(box.servers.map((s) => s.kill('SIGKILL')));
  const none = await download(box.base, '/', {}, { keep: true });
  assert.equal(none.status, 503);
  assert.deepEqual(JSON.parse(none.body), { message: 'No server available' });
});

test('a store that goes down answers 503 at once, and the service recovers', async (t) => {
  const redis = await startRedis();
  const box = await startSpeedbox({ spec: redis.url, servers: 2 });
  t.after(async () => {
    await box.stop();
    await redis.cleanup();
  });
  const data = crypto.randomBytes(3 * CHUNK);
  assert.equal((await upload(box.base, 'up.bin', data)).status, 200);
  await redis.stop();
  // A large upload: the store fails at its first chunk, long before the body
  // ends; the server answers without waiting for the rest.
  const big = await upload(box.base, 'down.bin', pseudoRandom(64 * 1024 * 1024, 'down')).catch((err) => ({
    status: 0,
    body: err.message,
  }));
  assert.ok(big.status === 503 || big.status === 0, `status ${big.status} ${big.body}`);
  const read = await download(box.base, query('up.bin'), {}, { keep: true });
  assert.equal(read.status, 503);
  await redis.restart();
  // Each server reconnects on its own; within a few seconds both answer.
  let ok = false;
  for (let i = 0; i < 100 && !ok; i++) {
    ok = (await upload(box.base, 'again.bin', data)).status === 200;
    if (!ok) await sleep(100);
  }
  assert.ok(ok);
  let served = 0;
  for (let i = 0; i < 100 && served < 4; i++) {
    const r = await download(box.base, query('again.bin'));
    if (r.status === 200) {
      assert.equal(r.sha256, sha256(data));
      served++;
    } else {
      assert.equal(r.status, 503);
      await sleep(100);
    }
  }
  assert.equal(served, 4);
  assert.equal(box.crashes(), 0);
});

// A raw HTTP exchange on one socket: what came back and whether the peer
// closed, within `waitMs`.
function rawExchange(port, text, waitMs) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let got = '';
    const started = Date.now();
    socket.on('data', (d) => (got += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, got, afterMs: Date.now() - started });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, got });
    }, waitMs);
  });
}

test('secure by default: allowed content types, nosniff, attachments, upload limits, timeouts, private files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedbox-e2e-secure-'));
  const storeDir = path.join(dir, 'store');
  const env = {
    SPEEDBOX_MAX_FILE_BYTES: '1000',
    SPEEDBOX_MAX_PARTS: '3',
    SPEEDBOX_MAX_FILES: '2',
    SPEEDBOX_HEADERS_TIMEOUT_MS: '400',
    SPEEDBOX_IDLE_TIMEOUT_MS: '800',
  };
  const box = await startSpeedbox({ spec: `sqlite:${path.join(storeDir, 'speedbox.db')}`, servers: 1, env });
  t.after(async () => {
    await box.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (name, type, data = Buffer.from('<script>alert(1)</script>')) => {
    assert.equal((await upload(box.base, name, data, { contentType: type })).status, 200, name);
    const r = await download(box.base, query(name), {}, { keep: true });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    return r.headers;
  };
  // Active types are attachments; types off the allowlist are octet-stream.
  const html = await stored('page.html', 'text/html');
  assert.equal(html['content-type'], 'text/html');
  assert.equal(html['content-disposition'], "attachment; filename*=UTF-8''page.html");
  assert.equal((await stored('logo.svg', 'image/svg+xml'))['content-disposition'], "attachment; filename*=UTF-8''logo.svg");
  for (const type of ['application/x-evil', 'text/javascript', 'application/xhtml+xml']) {
    const h = await stored(`x-${type.replace('/', '_')}`, type);
    assert.equal(h['content-type'], 'application/octet-stream', type);
  }
  const png = await stored('a.png', 'image/png');
  assert.equal(png['content-type'], 'image/png');
  assert.equal(png['content-disposition'], undefined);

  // A file over the size limit is refused and never becomes visible.
  const big = await upload(box.base, 'big.bin', Buffer.alloc(1001, 1));
  assert.equal(big.status, 413, big.body);
  assert.equal((await download(box.base, query('big.bin'))).status, 400);
  assert.equal((await upload(box.base, 'fits.bin', Buffer.alloc(1000, 1))).status, 200);
  // More parts than allowed.
  const boundary = 'xxBOUNDARYxx';
  const part = (name) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\nv\r\n`;
  const form = `${part('a')}${part('b')}${part('c')}${part('d')}--${boundary}--\r\n`;
  const parts = await rawExchange(
    box.port,
    `POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\n` +
      `content-length: ${form.length}\r\n\r\n${form}`,
    5000,
  );
  assert.match(parts.got, /^HTTP\/1\.1 413 /);

  // Slow headers and a stalled upload are cut off, on the balancer and on the server.
  for (const port of [box.port, box.servers[0].port]) {
    // Generous waits for a loaded machine: the exchange ends as soon as the peer closes.
    const slow = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', 15000);
    assert.ok(slow.closed, `headers timeout on port ${port}`);
    const stalled = await rawExchange(
      port,
      `POST /upload HTTP/1.1\r\nHost: x\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: 100000\r\n\r\n--${boundary}\r\n`,
      15000,
    );
    assert.ok(stalled.closed, `idle timeout on port ${port} (balancer ${box.port}): ${JSON.stringify(stalled)}`);
  }

  // The store's directory and files are this user's only.
  assert.equal(fs.statSync(storeDir).mode & 0o777, 0o700);
  const files = fs.readdirSync(storeDir);
  assert.ok(files.includes('speedbox.db'), files.join(' '));
  for (const f of files) assert.equal(fs.statSync(path.join(storeDir, f)).mode & 0o077, 0, f);
});

test("the balancer takes its port from the seed's SERVER_PORT", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'speedbox-e2e-seed-'));
  const box = await startSpeedbox({ spec: `dir:${path.join(dir, 'files')}`, servers: 1 });
  const port = await freePort();
  const lb = startProcess('load-balancer.js', { PORT: '', SERVER_PORT: String(port), SPEEDBOX_SERVERS: `http://127.0.0.1:${box.servers[0].port}` });
  t.after(async () => {
    await Promise.all([box.stop(), lb.kill()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(port, 15000);
  const r = await download(`http://127.0.0.1:${port}`, '/health', {}, { keep: true });
  assert.equal(r.status, 200);
});
