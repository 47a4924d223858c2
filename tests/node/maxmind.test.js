'use strict';
// The `maxmind` drop-in (hotpath/maxmind) on the cases of maxmind's own
// suite: every GeoIP2 test database against the JSON it was built from, the
// decoder database's types, prefix lengths, open() options and errors, file
// watches, readers from memory. Runs under `node --test` and under jest
// (tests/node/jest.config.js), where each file has its own realm: records
// must still equal literals there.
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { spawn, spawnSync } = require('child_process');
const { root, fixture } = require('../support/fixtures');

const underJest = typeof globalThis.expect === 'function' && typeof globalThis.it === 'function';
const nodeTest = underJest ? null : require('node:test');
const describe = underJest ? globalThis.describe : nodeTest.describe;
const it = underJest ? globalThis.it : nodeTest.it;
// A test that waits for fs.watchFile's 5 s poll or starts processes.
const slowIt = (name, fn) => (underJest ? it(name, fn, 30000) : it(name, { timeout: 30000 }, fn));
// A test skipped (with its reason) when `skip` is a string.
const itUnless = (skip, name, fn) => (underJest ? (skip ? it.skip : it)(name, fn) : it(name, { skip }, fn));

const maxmindPath = path.join(root, 'bindings', 'node', 'lib', 'maxmind.js');
const maxmind = require(maxmindPath);
const { Reader } = maxmind;
const dataDir = fixture('maxmind', 'test-data');
const srcDir = fixture('maxmind', 'source-data');
const db = (name) => path.join(dataDir, name);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-maxmind-'));

// Records must equal literals with both assertion styles users have.
function same(actual, expected, msg) {
  assert.deepStrictEqual(actual, expected, msg);
  if (underJest) globalThis.expect(actual).toStrictEqual(expected);
}

// The records of a source JSON file by network ("::1.2.0.0/112").
function source(file) {
  const hash = {};
  for (const item of JSON.parse(fs.readFileSync(path.join(srcDir, file), 'utf8'))) Object.assign(hash, item);
  return hash;
}

// An address as a 128-bit BigInt (IPv4 as ::a.b.c.d) and back, for the
// first and last address of each network.
function v4ToBig(s) {
  return s.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}
function ipToBig(s) {
  if (!s.includes(':')) return v4ToBig(s);
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    // "::1.2.0.0" is "::102:0".
    const v4 = v4ToBig(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.includes('::') ? s.split('::') : [s, null];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === null ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  assert.strictEqual(groups.length, 8, `bad address ${s}`);
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}
function bigToV6(n) {
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(16 * i)) & 0xffffn).toString(16));
  return groups.join(':');
}
function range(cidr) {
  const [addr, bits] = cidr.split('/');
  const width = addr.includes(':') ? 128 : 32;
  const first = ipToBig(addr);
  const last = first | ((1n << BigInt(width - Number(bits))) - 1n);
  if (width === 32) {
    const v4 = (n) => [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
    return { first: v4(first), last: v4(last) };
  }
  return { first: bigToV6(first), last: bigToV6(last) };
}

const decoderRecord = {
  array: [1, 2, 3],
  boolean: true,
  bytes: Buffer.from([0, 0, 0, 42]),
  double: 42.123456,
  float: 1.100000023841858,
  int32: -268435456,
  map: { mapX: { arrayX: [7, 8, 9], utf8_stringX: 'hello' } },
  uint128: 1329227995784915872903807060280344576n,
  uint16: 100,
  uint32: 268435456,
  uint64: 1152921504606846976n,
  utf8_string: 'unicode! ☯ - ♫',
};

describe('maxmind drop-in: databases', () => {
  it('opens a database, with and without cache options', async () => {
    assert.ok(await maxmind.open(db('GeoIP2-City-Test.mmdb')));
    assert.ok(await maxmind.open(db('GeoIP2-City-Test.mmdb'), { cache: { max: 1000 } }));
  });

  it('gives the City records of the source data, and null outside its networks', async () => {
    const geoIp = await maxmind.open(db('GeoIP2-City-Test.mmdb'));
    const data = source('GeoIP2-City-Test.json');
    same(geoIp.get('1.1.1.1'), null);
    same(geoIp.get('175.16.198.255'), null);
    same(geoIp.get('175.16.199.1'), data['::175.16.199.0/120']);
    same(geoIp.get('175.16.199.255'), data['::175.16.199.0/120']);
    same(geoIp.get('::175.16.199.255'), data['::175.16.199.0/120']);
    same(geoIp.get('175.16.200.1'), null);
    same(geoIp.get('2a02:cf40:ffff::'), data['2a02:cf40::/29']);
    same(geoIp.get('2a02:cf47:0000::'), data['2a02:cf40::/29']);
    same(geoIp.get('2a02:cf48:0000::'), null);
  });

  it('decodes every type, and their zero values', async () => {
    const geoIp = await maxmind.open(db('MaxMind-DB-test-decoder.mmdb'));
    same(geoIp.get('::1.1.1.1'), decoderRecord);
    same(geoIp.get('::0.0.0.0'), {
      array: [],
      boolean: false,
      bytes: Buffer.from([]),
      double: 0,
      float: 0,
      int32: 0,
      map: {},
      uint128: 0n,
      uint16: 0,
      uint32: 0,
      uint64: 0n,
      utf8_string: '',
    });
  });

  it('returns string records and the no-IPv4-search-tree record', async () => {
    const strings = await maxmind.open(db('MaxMind-DB-string-value-entries.mmdb'));
    assert.strictEqual(strings.get('1.1.1.1'), '1.1.1.1/32');
    assert.strictEqual(strings.get('1.1.1.2'), '1.1.1.2/31');
    assert.strictEqual(strings.get('175.2.1.1'), null);
    const noV4 = await maxmind.open(db('MaxMind-DB-no-ipv4-search-tree.mmdb'));
    assert.strictEqual(noV4.get('1.1.1.1'), '::/64');
    assert.strictEqual(noV4.get('::1.1.1.1'), '::/64');
  });

  const files = [
    'GeoIP2-Anonymous-IP-Test',
    'GeoIP2-City-Test',
    'GeoIP2-Connection-Type-Test',
    'GeoIP2-Country-Test',
    'GeoIP2-Domain-Test',
    'GeoIP2-Enterprise-Test',
    'GeoIP2-ISP-Test',
    'GeoIP2-Precision-Enterprise-Test',
    'GeoLite2-ASN-Test',
  ];
  for (const file of files) {
    it(`gives the source record at both ends of every network: ${file}`, async () => {
      const geoIp = await maxmind.open(db(`${file}.mmdb`));
      const data = source(`${file}.json`);
      const networks = Object.keys(data);
      assert.ok(networks.length > 0);
      for (const subnet of networks) {
        const { first, last } = range(subnet);
        same(geoIp.get(first), data[subnet], `${subnet} (${first})`);
        same(geoIp.get(last), data[subnet], `${subnet} (${last})`);
      }
    });
  }

  const prefixCases = [
    ['1.1.1.1', 'MaxMind-DB-test-ipv6-32.mmdb', 8, null],
    ['::1:ffff:ffff', 'MaxMind-DB-test-ipv6-24.mmdb', 128, { ip: '::1:ffff:ffff' }],
    ['::2:0:1', 'MaxMind-DB-test-ipv6-24.mmdb', 122, { ip: '::2:0:0' }],
    ['1.1.1.1', 'MaxMind-DB-test-ipv4-24.mmdb', 32, { ip: '1.1.1.1' }],
    ['1.1.1.3', 'MaxMind-DB-test-ipv4-24.mmdb', 31, { ip: '1.1.1.2' }],
    ['1.1.1.3', 'MaxMind-DB-test-decoder.mmdb', 24, decoderRecord],
    ['::ffff:1.1.1.128', 'MaxMind-DB-test-decoder.mmdb', 120, decoderRecord],
    ['::1.1.1.128', 'MaxMind-DB-test-decoder.mmdb', 120, decoderRecord],
    ['200.0.2.1', 'MaxMind-DB-no-ipv4-search-tree.mmdb', 0, '::/64'],
    ['::200.0.2.1', 'MaxMind-DB-no-ipv4-search-tree.mmdb', 64, '::/64'],
    ['0:0:0:0:ffff:ffff:ffff:ffff', 'MaxMind-DB-no-ipv4-search-tree.mmdb', 64, '::/64'],
    ['ef00::', 'MaxMind-DB-no-ipv4-search-tree.mmdb', 1, null],
  ];
  for (const [ip, file, prefix, record] of prefixCases) {
    it(`getWithPrefixLength(${ip}) in ${file}`, async () => {
      const geoIp = await maxmind.open(db(file));
      same(geoIp.getWithPrefixLength(ip), [record, prefix]);
    });
  }

  it('gives the metadata in maxmind\'s shape', async () => {
    const geoIp = await maxmind.open(db('MaxMind-DB-test-ipv4-24.mmdb'));
    const m = geoIp.metadata;
    same(m.description, { en: 'Test Database', zh: 'Test Database Chinese' });
    same(m.languages, ['en', 'zh']);
    assert.strictEqual(m.ipVersion, 4);
    assert.strictEqual(m.recordSize, 24);
    assert.strictEqual(m.nodeByteSize, 6);
    assert.strictEqual(m.searchTreeSize, m.nodeCount * 6);
    assert.strictEqual(m.treeDepth, 32);
    assert.ok(m.buildEpoch instanceof Date);
  });
});

describe('maxmind drop-in: API and errors', () => {
  it('validate()', () => {
    assert.strictEqual(maxmind.validate('64.4.4.4'), true);
    assert.strictEqual(maxmind.validate('2001:4860:0:1001::3004:ef68'), true);
    assert.strictEqual(maxmind.validate('whhaaaazza'), false);
  });

  it('init(), openSync() and open() with a callback give the legacy message', async () => {
    assert.throws(() => maxmind.init(), /Maxmind v2 module has changed API/);
    assert.throws(() => maxmind.openSync(), /Maxmind v2 module has changed API/);
    assert.throws(() => maxmind.default.init(), /Maxmind v2 module has changed API/);
    await assert.rejects(maxmind.open(db('GeoIP2-City-Test.mmdb'), {}, () => true), /Maxmind v2 module has changed API/);
  });

  it('a missing file rejects as fs does: ENOENT, errno, syscall, path', async () => {
    const err = await maxmind.open('/foo/bar').then(
      () => assert.fail('opened a missing file'),
      (e) => e,
    );
    assert.strictEqual(err.code, 'ENOENT');
    assert.strictEqual(err.errno, -2);
    assert.strictEqual(err.syscall, 'open');
    assert.strictEqual(err.path, '/foo/bar');
    assert.strictEqual(err.hpCode, 'HP_EIO');
    assert.match(err.message, /^ENOENT: no such file or directory, open '\/foo\/bar'$/);
  });

  const asRoot = process.getuid && process.getuid() === 0 && 'root reads every file';
  itUnless(asRoot, 'an unreadable file rejects with EACCES', async () => {
    const p = path.join(tmp, 'unreadable.mmdb');
    fs.copyFileSync(db('MaxMind-DB-test-ipv4-24.mmdb'), p);
    fs.chmodSync(p, 0);
    await assert.rejects(maxmind.open(p), (e) => e.code === 'EACCES' && e.path === p);
  });

  it('a directory rejects with EISDIR', async () => {
    await assert.rejects(maxmind.open(tmp), (e) => e.code === 'EISDIR' && e.path === tmp && e.hpCode === 'HP_EIO');
  });

  it('a gzip file, a broken file and a text file give maxmind\'s messages', async () => {
    const gz = path.join(tmp, 'GeoIP2-City-Test.mmdb.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(db('GeoIP2-City-Test.mmdb'))));
    await assert.rejects(maxmind.open(gz), {
      message: 'Looks like you are passing in a file in gzip format, please use mmdb database instead.',
    });
    const broken = path.join(tmp, 'broken.dat');
    fs.writeFileSync(broken, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    await assert.rejects(maxmind.open(broken), (e) => e.message === 'Cannot parse binary database' && e.code === 'HP_ECORRUPT' && /metadata/.test(e.detail));
    await assert.rejects(maxmind.open(fixture('maxmind', 'LICENSE-MIT')), { message: 'Cannot parse binary database' });
    const legacy = path.join(tmp, 'legacy.dat');
    fs.writeFileSync(legacy, Buffer.concat([Buffer.alloc(100, 1), Buffer.from([255, 255, 255]), Buffer.alloc(5)]));
    await assert.rejects(maxmind.open(legacy), /Maxmind v2 module has changed API/);
  });

  it('new Reader(buffer) and reader.load(buffer) read databases from memory', () => {
    const bytes = fs.readFileSync(db('MaxMind-DB-test-decoder.mmdb'));
    const reader = new Reader(bytes, { cache: { max: 100 } });
    bytes.fill(0); // copied: the reader does not see later changes
    same(reader.get('::1.1.1.1'), decoderRecord);
    reader.load(fs.readFileSync(db('MaxMind-DB-test-ipv4-24.mmdb')));
    same(reader.get('1.1.1.3'), { ip: '1.1.1.2' });
    assert.strictEqual(reader.metadata.ipVersion, 4);
    assert.throws(() => new Reader('GeoIP2-City-Test.mmdb'), { message: 'mmdb-lib expects an instance of Buffer, got: string' });
    assert.throws(() => reader.load(Buffer.from('not a database')), { message: 'Cannot parse binary database' });
    same(reader.get('1.1.1.3'), { ip: '1.1.1.2' }); // a failed load keeps the database
    reader.close();
  });

  slowIt('watchForUpdates reloads a replaced file and calls watchForUpdatesHook', async () => {
    const p = path.join(tmp, 'watched.mmdb');
    fs.copyFileSync(db('MaxMind-DB-test-ipv4-24.mmdb'), p);
    let called = 0;
    let resolve;
    const changed = new Promise((r) => (resolve = r));
    const reader = await maxmind.open(p, {
      watchForUpdates: true,
      watchForUpdatesHook: () => {
        called++;
        resolve();
      },
    });
    try {
      same(reader.get('1.1.1.1'), { ip: '1.1.1.1' });
      assert.strictEqual(called, 0);
      // fs.watchFile takes its first stat asynchronously: a file replaced
      // before that would be its starting point, and no change would show.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // A new file renamed over the old one, as database updaters do.
      const next = path.join(tmp, 'watched.next');
      fs.copyFileSync(db('MaxMind-DB-test-decoder.mmdb'), next);
      fs.renameSync(next, p);
      await changed;
      assert.strictEqual(called, 1);
      same(reader.get('::1.1.1.1'), decoderRecord);
    } finally {
      reader.close();
    }
    await assert.rejects(maxmind.open(p, { watchForUpdates: true, watchForUpdatesHook: 'no' }), {
      message: 'opts.watchForUpdatesHook should be a function',
    });
  });

  slowIt('watchForUpdatesNonPersistent lets the process exit; a plain watch keeps it alive', async () => {
    const script = (nonPersistent) =>
      `require(${JSON.stringify(maxmindPath)}).open(${JSON.stringify(db('MaxMind-DB-test-ipv4-24.mmdb'))}, ` +
      `{ watchForUpdates: true, watchForUpdatesNonPersistent: ${nonPersistent} }).then(() => console.log('open'));`;
    const t0 = Date.now();
    const quiet = spawnSync(process.execPath, ['-e', script(true)], { timeout: 20000, encoding: 'utf8' });
    assert.strictEqual(quiet.status, 0, quiet.stderr);
    assert.strictEqual(quiet.stdout.trim(), 'open');
    assert.ok(Date.now() - t0 < 15000);
    const kept = spawn(process.execPath, ['-e', script(false)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    kept.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => kept.on('exit', (code, signal) => r(signal || code)));
    const still = await Promise.race([exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('alive'), 2000))]);
    kept.kill('SIGTERM');
    assert.strictEqual(await exited, 'SIGTERM');
    assert.strictEqual(still, 'alive');
    assert.strictEqual(out.trim(), 'open');
  });
});

describe('maxmind drop-in: same records as the maxmind package', () => {
  let upstream;
  try {
    upstream = require('maxmind');
  } catch {
    upstream = null;
  }
  itUnless(!upstream && 'maxmind not installed', 'agrees with maxmind on every test database', async () => {
    const names = fs.readdirSync(dataDir).filter((n) => n.endsWith('.mmdb') && !/Broken|Invalid|dos|limit|budget/.test(n));
    assert.ok(names.length > 20);
    for (const name of names) {
      let theirs;
      try {
        theirs = await upstream.open(db(name));
      } catch {
        continue; // a database maxmind itself cannot open
      }
      const ours = await maxmind.open(db(name));
      const v6 = ours.metadata.ipVersion === 6;
      const ips = v6 ? ['::1.1.1.1', '::1.2.3.4', '2001:218::1', '2a02:cf40::', '::175.16.199.1', '::81.2.69.160', '::2:0:1'] : ['1.1.1.1', '1.1.1.3', '81.2.69.160', '175.16.199.1', '1.0.0.1'];
      for (const ip of ips) same(ours.getWithPrefixLength(ip), theirs.getWithPrefixLength(ip), `${name} ${ip}`);
      ours.close();
    }
  });
});
