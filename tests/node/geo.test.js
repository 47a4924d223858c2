'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const maxmind = require('maxmind');
const { root, fixture, hotpath } = require('../support/fixtures');

const hp = hotpath();
const hpmaxmind = require(path.join(root, 'bindings', 'node', 'lib', 'maxmind.js'));
const testData = (name) => fixture('maxmind', 'test-data', name);

// mulberry32: a fixed-seed generator so every run checks the same addresses.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomIps(n, seed, v6share = 0) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    if (r() < v6share) {
      const g = () => Math.floor(r() * 65536).toString(16);
      out.push(`${g()}:${g()}:${g()}::${g()}`);
    } else {
      out.push([0, 0, 0, 0].map(() => Math.floor(r() * 256)).join('.'));
    }
  }
  return out;
}

function firstAddress(network) {
  return network.split('/')[0];
}

test('get matches the source data of the City, Country, ISP and ASN test databases', () => {
  for (const [db, json] of [
    ['GeoIP2-City-Test.mmdb', 'GeoIP2-City-Test.json'],
    ['GeoIP2-Country-Test.mmdb', 'GeoIP2-Country-Test.json'],
    ['GeoIP2-ISP-Test.mmdb', 'GeoIP2-ISP-Test.json'],
    ['GeoLite2-ASN-Test.mmdb', 'GeoLite2-ASN-Test.json'],
  ]) {
    const reader = new hp.GeoReader(testData(db));
    const source = JSON.parse(fs.readFileSync(fixture('maxmind', 'source-data', json), 'utf8'));
    let checked = 0;
    for (const entry of source) {
      for (const [network, record] of Object.entries(entry)) {
        const got = reader.get(firstAddress(network));
        assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), record, `${db} ${network}`);
        checked++;
      }
    }
    assert.ok(checked > 10, db);
    reader.close();
  }
});

test('10,000 random addresses agree with the maxmind package on GeoIP2-City-Test', async () => {
  const file = testData('GeoIP2-City-Test.mmdb');
  const ours = await hpmaxmind.open(file);
  const theirs = await maxmind.open(file);
  const ips = randomIps(10000, 42, 0.5);
  // Also every network's first address, where records are dense.
  for (const entry of JSON.parse(fs.readFileSync(fixture('maxmind', 'source-data', 'GeoIP2-City-Test.json')))) {
    for (const network of Object.keys(entry)) ips.push(firstAddress(network));
  }
  let hits = 0;
  for (const ip of ips) {
    const a = ours.getWithPrefixLength(ip);
    const b = theirs.getWithPrefixLength(ip);
    assert.deepStrictEqual(a, b, ip);
    if (a[0]) hits++;
  }
  assert.ok(hits > 100);
  assert.deepStrictEqual(ours.metadata, theirs.metadata);
});

test('every valid test database agrees with the maxmind package', async () => {
  const dir = fixture('maxmind', 'test-data');
  const ips = randomIps(1500, 7, 0.5);
  for (const name of fs.readdirSync(dir)) {
    if (/Broken|broken|Invalid|no-ipv4/.test(name)) continue;
    const file = path.join(dir, name);
    const ours = await hpmaxmind.open(file);
    const theirs = await maxmind.open(file);
    for (const ip of ips) {
      if (ip.includes(':') && theirs.metadata.ipVersion === 4) continue;
      assert.deepStrictEqual(ours.getWithPrefixLength(ip), theirs.getWithPrefixLength(ip), `${name} ${ip}`);
    }
    assert.deepStrictEqual(ours.metadata, theirs.metadata, name);
  }
});

test('a writer-built database reads the same through the maxmind package (10,000 addresses)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-geo-'));
  const file = path.join(dir, 'built.mmdb');
  const r = rng(99);
  const entries = [];
  for (let i = 0; i < 3000; i++) {
    const a = Math.floor(r() * 2 ** 32);
    const prefix = 8 + Math.floor(r() * 25);
    const ip = [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
    entries.push([
      `${ip}/${prefix}`,
      {
        city: `city-${i % 300}`,
        country_code: ['FR', 'DE', 'US', 'JP'][i % 4],
        latitude: Math.round(r() * 18000) / 100 - 90,
        longitude: Math.round(r() * 36000) / 100 - 180,
        postcode: String(i),
        state1: `state ${i % 50}`,
        n: i,
        neg: -i,
        big: BigInt(i) * 10n ** 12n,
        huge: 2n ** 100n + BigInt(i),
        flag: i % 2 === 0,
        bytes: Buffer.from([i & 255, 1, 2]),
        list: [1, 'two', { three: 3 }],
      },
    ]);
  }
  entries.push(['2001:db8::/32', { city: 'six' }]);
  hp.writeGeoDatabase(file, entries, { databaseType: 'hotpath-test', languages: ['en'], description: 'test' });
  const ours = await hpmaxmind.open(file);
  const theirs = await maxmind.open(file);
  assert.equal(theirs.metadata.databaseType, 'hotpath-test');
  assert.deepStrictEqual(ours.metadata, theirs.metadata);
  let hits = 0;
  const ips = randomIps(10000, 1234).concat(entries.slice(0, 3000).map((e) => firstAddress(e[0])));
  for (const ip of ips) {
    const a = ours.getWithPrefixLength(ip);
    assert.deepStrictEqual(a, theirs.getWithPrefixLength(ip), ip);
    if (a[0]) hits++;
  }
  assert.ok(hits > 3000);
  assert.equal(ours.get('2001:db8::1').city, 'six');
  // The flat layout feeds lookup().
  const e = ours.lookup(firstAddress(entries[2999][0]));
  assert.equal(e.city, entries[2999][1].city);
  assert.equal(e.countryCode, entries[2999][1].country_code);
  assert.equal(e.subdivisionName, entries[2999][1].state1);
  assert.equal(e.postalCode, '2999');
  assert.ok(Object.isFrozen(e));
  fs.rmSync(dir, { recursive: true });
});

test('invalid addresses throw HP_EINVAL with the string; a miss is null', async () => {
  const reader = await hpmaxmind.open(testData('GeoIP2-City-Test.mmdb'));
  for (const bad of ['1.2.3', '', 'x', '1.2.3.4.5', '::g']) {
    assert.throws(() => reader.get(bad), (err) => err.code === 'HP_EINVAL' && err.message.includes(`'${bad}'`));
  }
  assert.throws(() => reader.get(123), TypeError);
  assert.equal(reader.get('10.0.0.1'), null);
  assert.deepStrictEqual(reader.getWithPrefixLength('10.0.0.1')[0], null);
  assert.equal(reader.lookup('10.0.0.1'), null);
  const v4 = await hpmaxmind.open(testData('MaxMind-DB-test-ipv4-24.mmdb'));
  assert.throws(() => v4.get('::1'), { code: 'HP_EFAMILY', number: hp.codes.HP_EFAMILY, hpCode: 'HP_EFAMILY' });
});

test('repeat hits return the same object (cached per record)', () => {
  const reader = new hp.GeoReader(testData('GeoIP2-City-Test.mmdb'));
  assert.equal(reader.get('81.2.69.160'), reader.get('81.2.69.161'));
  assert.equal(reader.lookup('81.2.69.160'), reader.lookup('81.2.69.160'));
  reader.reload();
  assert.equal(reader.generation, 2);
  assert.equal(reader.get('81.2.69.160').city.names.en, 'London');
  reader.close();
  assert.throws(() => reader.get('81.2.69.160'), { code: 'HP_ECLOSED' });
  reader.close();
});

test('lookup skips an IPv4-only database for an IPv6 address (HP_EFAMILY when every database is)', () => {
  const both = new hp.GeoReader(testData('GeoIP2-City-Test.mmdb'), {
    extraPaths: [testData('MaxMind-DB-test-ipv4-24.mmdb')],
  });
  const city = new hp.GeoReader(testData('GeoIP2-City-Test.mmdb'));
  assert.equal(both.lookup('::81.2.69.160').city, 'London');
  for (const ip of ['::81.2.69.160', '2001:218::1', '2a02:cf40::1', '::1']) {
    assert.deepStrictEqual(both.lookup(ip), city.lookup(ip), ip);
  }
  assert.equal(both.lookup('::1'), null);
  assert.equal(both.lookup('81.2.69.160').city, 'London');
  both.close();
  city.close();
  const v4 = new hp.GeoReader(testData('MaxMind-DB-test-ipv4-24.mmdb'));
  assert.throws(() => v4.lookup('::1'), (err) => err.code === 'HP_EFAMILY' && /IPv4-only/.test(err.detail));
  assert.throws(() => v4.lookup('1.2.3'), { code: 'HP_EINVAL' });
  v4.close();
});

test('lookup merges City and ISP; lookupMany returns columns', () => {
  const reader = new hp.GeoReader(testData('GeoIP2-City-Test.mmdb'), {
    extraPaths: [testData('GeoIP2-ISP-Test.mmdb')],
  });
  const e = reader.lookup('81.2.69.160');
  assert.equal(e.city, 'London');
  assert.equal(e.countryCode, 'GB');
  assert.equal(e.asn, undefined);
  const isp = reader.lookup('1.128.0.1');
  assert.equal(isp.asn, 1221);
  assert.equal(isp.isp, 'Telstra Internet');
  assert.equal(isp.city, undefined);
  const cols = reader.lookupMany(['81.2.69.160', '10.0.0.1', '1.128.0.1']);
  assert.deepStrictEqual(cols.city, ['London', null, null]);
  assert.deepStrictEqual(cols.countryCode, ['GB', null, null]);
  assert.deepStrictEqual(cols.asn, [null, null, 1221]);
  assert.equal(cols.latitude[0], 51.5142);
  assert.throws(() => reader.lookupMany(['1.1.1.1', 'bad']), (err) => err.code === 'HP_EINVAL' && /item 1/.test(err.message));
  reader.close();
});

test('lookupMany on one database: columns equal lookup() item by item, across a cache reset', () => {
  const reader = new hp.GeoReader(testData('GeoIP2-City-Test.mmdb'), { cache: { max: 3 } });
  const ips = ['81.2.69.160', '10.0.0.1', '2.125.160.216', '81.2.69.160', '::ffff:81.2.69.142', '89.160.20.112', '175.16.199.1'];
  for (let round = 0; round < 2; round++) {
    const cols = reader.lookupMany(ips);
    const names = Object.keys(cols);
    assert.ok(names.includes('countryCode') && names.includes('latitude') && names.includes('asn'));
    ips.forEach((ip, i) => {
      const e = reader.lookup(ip);
      for (const name of names) assert.equal(cols[name][i], e === null || e[name] === undefined ? null : e[name], `${ip} ${name}`);
    });
  }
  assert.deepEqual(reader.lookupMany([]).city, []);
  assert.deepEqual(reader.lookupMany(new Set(['81.2.69.160'])).city, ['London']);
  assert.throws(() => reader.lookupMany(['1.1.1.1', 'bad']), (err) => err.code === 'HP_EINVAL' && /item 1/.test(err.message));
  assert.throws(() => reader.lookupMany(['1.1.1.1', '1.1.1.\u0131']), (err) => err.code === 'HP_EINVAL' && /item 1/.test(err.message));
  assert.throws(() => reader.lookupMany(['1.1.1.1', 7]), TypeError);
  reader.close();
});

test('lookupMany after a reload answers from the new file (rows and strings of the old one dropped)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-geo-many-'));
  const file = path.join(dir, 'db.mmdb');
  fs.copyFileSync(testData('GeoIP2-City-Test.mmdb'), file);
  const reader = new hp.GeoReader(file);
  const ips = ['81.2.69.160', '1.128.0.1', '2.125.160.216', '81.2.69.160', '10.0.0.1'];
  const same = (cols) =>
    ips.forEach((ip, i) => {
      const e = reader.lookup(ip);
      for (const name of Object.keys(cols)) {
        assert.equal(cols[name][i], e === null || e[name] === undefined ? null : e[name], `${ip} ${name}`);
      }
    });
  const before = reader.lookupMany(ips);
  same(before);
  assert.equal(before.city[0], 'London');
  fs.copyFileSync(testData('GeoIP2-ISP-Test.mmdb'), file + '.new');
  fs.renameSync(file + '.new', file);
  reader.reload();
  const after = reader.lookupMany(ips);
  same(after);
  assert.deepStrictEqual(after.city, [null, null, null, null, null]);
  assert.equal(after.asn[1], 1221);
  assert.equal(after.isp[1], 'Telstra Internet');
  reader.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every bad-data file and garbage gives HP_ECORRUPT, never a crash', () => {
  const dirs = ['libmaxminddb', 'maxminddb-golang', 'maxminddb-python'].map((d) => fixture('maxmind', 'bad-data', d));
  const files = dirs.flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-geo-bad-'));
  const city = fs.readFileSync(testData('GeoIP2-City-Test.mmdb'));
  fs.writeFileSync(path.join(tmp, 'half.mmdb'), city.subarray(0, city.length >> 1));
  fs.writeFileSync(path.join(tmp, 'garbage.mmdb'), Buffer.alloc(5000, 0x42));
  files.push(path.join(tmp, 'half.mmdb'), path.join(tmp, 'garbage.mmdb'));
  const ips = randomIps(500, 3, 0.5);
  let corrupt = 0;
  for (const file of files) {
    let reader;
    try {
      reader = new hp.GeoReader(file);
    } catch (err) {
      assert.equal(err.code, 'HP_ECORRUPT', file);
      corrupt++;
      continue;
    }
    let bad = false;
    for (const ip of ips) {
      try {
        reader.get(ip);
      } catch (err) {
        assert.ok(['HP_ECORRUPT', 'HP_EINVAL', 'HP_EFAMILY'].includes(err.code), `${file}: ${err.code}`);
        if (err.code === 'HP_ECORRUPT') bad = true;
      }
    }
    if (bad) corrupt++;
    reader.close();
  }
  assert.ok(corrupt >= 15, `only ${corrupt} of ${files.length} reported as corrupt`);
  fs.rmSync(tmp, { recursive: true });
});

test('lookupMany batches are each of one file while a watched file flips between two', async () => {
  // City names London and Boxford; Country has no cities. A batch whose
  // rows mixed the two files would show a city on one row and none on
  // another, or another country.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-geo-flip-'));
  const file = path.join(dir, 'flip.mmdb');
  fs.copyFileSync(testData('GeoIP2-City-Test.mmdb'), file);
  const reader = new hp.GeoReader(file, { watchIntervalMs: 5 });
  // The flips come from another thread, so they land while this one runs batches.
  const flipper = new Worker(
    `const fs = require('fs');
     const { workerData: w } = require('worker_threads');
     const files = [fs.readFileSync(w.country), fs.readFileSync(w.city)];
     let i = 0;
     const t = setInterval(() => { fs.writeFileSync(w.file + '.tmp', files[i++ % 2]); fs.renameSync(w.file + '.tmp', w.file); }, 15);
     setTimeout(() => { clearInterval(t); process.exit(0); }, 1500);`,
    { eval: true, workerData: { file, city: testData('GeoIP2-City-Test.mmdb'), country: testData('GeoIP2-Country-Test.mmdb') } },
  );
  const exited = new Promise((resolve) => flipper.once('exit', resolve));
  const ips = Array.from({ length: 20 }, () => ['81.2.69.160', '2.125.160.216', '81.2.69.161']).flat();
  const bad = [];
  let batches = 0;
  const start = Date.now();
  while (Date.now() - start < 1800) {
    for (let k = 0; k < 50; k++, batches++) {
      const cols = reader.lookupMany(ips);
      const cities = [...new Set(cols.city)].sort().join(','); // null joins as ''
      if (new Set(cols.countryCode).size !== 1 || cols.countryCode[0] !== 'GB' || !['', 'Boxford,London'].includes(cities)) {
        bad.push(cols.city.slice(0, 3));
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  await exited;
  assert.deepEqual(bad, []);
  assert.ok(batches > 0);
  assert.ok(reader.generation > 2, `only ${reader.generation - 1} reloads seen`);
  reader.close();
  fs.rmSync(dir, { recursive: true });
});

test('a watched file is reloaded when it is replaced', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-geo-watch-'));
  const file = path.join(dir, 'w.mmdb');
  // Options left out are the C library's defaults: IPv6, database type 'hotpath'.
  hp.writeGeoDatabase(file, [['1.0.0.0/8', { city: 'defaults' }]]);
  const plain = new hp.GeoReader(file);
  assert.equal(plain.metadata.ipVersion, 6);
  assert.equal(plain.metadata.databaseType, 'hotpath');
  assert.equal(plain.get('1.2.3.4').city, 'defaults');
  plain.close();
  hp.writeGeoDatabase(file, [['1.0.0.0/8', { city: 'before' }]], { ipVersion: 4 });
  const reader = new hp.GeoReader(file, { watchIntervalMs: 20 });
  assert.equal(reader.get('1.2.3.4').city, 'before');
  await new Promise((r) => setTimeout(r, 50));
  hp.writeGeoDatabase(file, [['1.0.0.0/8', { city: 'after' }]], { ipVersion: 4, buildEpoch: 12345 });
  for (let i = 0; i < 200 && reader.generation === 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(reader.generation, 2);
  assert.equal(reader.get('1.2.3.4').city, 'after');
  reader.close();
  fs.rmSync(dir, { recursive: true });
});

test('readers work inside worker_threads and go away with them', async () => {
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    const hp = require(workerData.root);
    const r = new hp.GeoReader(workerData.file, { watchIntervalMs: 50 });
    parentPort.postMessage(r.get('81.2.69.160').city.names.en);
  `;
  for (let i = 0; i < 4; i++) {
    const w = new Worker(code, { eval: true, workerData: { root, file: testData('GeoIP2-City-Test.mmdb') } });
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(msg, 'London');
    await w.terminate();
  }
});

test('openGeo() opens on the thread pool and adopts the handle; a failure rejects with the path', async () => {
  const r = await hp.openGeo(testData('GeoIP2-City-Test.mmdb'));
  assert.equal(r.get('81.2.69.160').city.names.en, 'London');
  r.close();
  assert.throws(() => r.get('81.2.69.160'), (e) => e.code === 'HP_ECLOSED');
  await assert.rejects(hp.openGeo('/nonexistent/city.mmdb'), (e) => /nonexistent\/city\.mmdb/.test(e.message));
});
