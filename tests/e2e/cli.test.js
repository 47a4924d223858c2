'use strict';
// The `hotpath` command: the npm bin (bindings/node/bin/hotpath.js) and the
// Python one (python3 -m hotpath) run each verb on the same inputs and must
// print the same lines, and those lines must be right. The Python package is
// the checkout's, with the module of HOTPATH_BUILD (default build/dev).
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { root, fixture } = require('../support/fixtures');
const { startRedis } = require('../support/redis');

const build = path.resolve(root, process.env.HOTPATH_BUILD || 'build/dev');
const cityDb = fixture('maxmind', 'test-data', 'GeoIP2-City-Test.mmdb');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-cli-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

const node = (args, input) =>
  spawnSync(process.execPath, [path.join(root, 'bindings', 'node', 'bin', 'hotpath.js'), ...args],
    { cwd: work, input, encoding: input instanceof Buffer ? 'buffer' : 'utf8' });
const python = (args, input) =>
  spawnSync('python3', ['-m', 'hotpath', ...args], {
    cwd: work, input, encoding: input instanceof Buffer ? 'buffer' : 'utf8',
    env: { ...process.env, PYTHONPATH: [path.join(root, 'bindings', 'python'), path.join(build, 'python')].join(':') },
  });

// Runs one command under both; asserts the same stdout and exit status and
// returns the parsed JSON lines (or the raw stdout with raw: true).
function both(args, { input, status = 0, raw = false } = {}) {
  const a = node(args, input);
  const b = python(args, input);
  assert.equal(a.status, status, `node ${args.join(' ')}: ${a.stderr}`);
  assert.equal(b.status, status, `python ${args.join(' ')}: ${b.stderr}`);
  assert.deepEqual(a.stdout, b.stdout, `hotpath ${args.join(' ')}: node and python print different lines`);
  if (raw) return a.stdout;
  return a.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

test('geo lookup: a JSON line per address, like mmdblookup; a bad address fails alone', () => {
  const lines = both(['geo', 'lookup', '--db', cityDb, '81.2.69.160', '10.0.0.1', 'nope', '2001:218::1'], { status: 1 });
  assert.equal(lines.length, 3);
  assert.equal(lines[0].ip, '81.2.69.160');
  assert.equal(lines[0].record.city.names.en, 'London');
  assert.equal(lines[0].prefix_length, 27);
  assert.deepEqual(lines[1], { ip: '10.0.0.1', prefix_length: 8, record: null });
  assert.equal(lines[2].record.country.iso_code, 'JP');
  const viaEnv = spawnSync(process.execPath, [path.join(root, 'bindings', 'node', 'bin', 'hotpath.js'), 'geo', 'lookup',
    '81.2.69.160'], { env: { ...process.env, HOTPATH_GEO_DB: cityDb }, encoding: 'utf8' });
  assert.equal(JSON.parse(viaEnv.stdout).record.country.iso_code, 'GB');
});

test('geo build: a CSV becomes a database that both commands read back', () => {
  fs.writeFileSync(path.join(work, 'nets.csv'),
    'network,country.iso_code,country.names.en,note\n10.0.0.0/8,XX,"Office, main",\n2001:db8::/32,YY,Lab,"a ""b"""\n');
  assert.deepEqual(both(['geo', 'build', 'nets.csv', 'out.mmdb']), [{ path: 'out.mmdb', networks: 2 }]);
  const lines = both(['geo', 'lookup', '--db', 'out.mmdb', '10.9.9.9', '2001:db8::1', '8.8.8.8']);
  assert.deepEqual(lines.map((l) => l.record), [
    { country: { iso_code: 'XX', names: { en: 'Office, main' } } },
    { country: { iso_code: 'YY', names: { en: 'Lab' } }, note: 'a "b"' },
    null,
  ]);
});

test('ua parse: stdin lines to JSON lines', () => {
  const agents = [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    'curl/8.4.0',
    '',
  ];
  const lines = both(['ua', 'parse'], { input: `${agents.join('\n')}\n` });
  assert.equal(lines.length, 4);
  assert.equal(lines[0].os, 'iOS');
  assert.equal(lines[0].device_type, 'mobile');
  assert.equal(lines[1].browser, 'Chrome');
  assert.equal(lines[1].cpu, 'amd64');
  assert.equal(lines[2].is_bot, true);
  assert.equal(lines[3].browser, null);
});

test('blobs: put, ls, stat, get and rm on one store from both commands', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.cleanup());
  for (const store of [`sqlite:${path.join(work, 'store.db')}`, redis.url]) {
    const body = Buffer.from('hello from the command line\n');
    fs.writeFileSync(path.join(work, 'body.txt'), body);
    // Each command writes a revision; then both list, stat and read the same files.
    const a = node(['blobs', 'put', store, 'docs/a.txt', 'body.txt', '--content-type', 'text/plain']);
    assert.equal(a.status, 0, a.stderr);
    const b = python(['blobs', 'put', store, 'docs/a.txt', '-'], Buffer.from('second'));
    assert.equal(b.status, 0, b.stderr);
    const [first, second] = [JSON.parse(a.stdout), JSON.parse(b.stdout.toString())];
    assert.deepEqual([first.revision, first.length, first.content_type], [0, body.length, 'text/plain']);
    assert.deepEqual([second.revision, second.length], [1, 6]);
    assert.deepEqual(both(['blobs', 'ls', store, 'docs/']), [first, second]);
    assert.deepEqual(both(['blobs', 'stat', store, 'docs/a.txt']), [second]);
    assert.equal(both(['blobs', 'get', store, 'docs/a.txt'], { raw: true }), 'second');
    both(['blobs', 'stat', store, 'nope'], { status: 1 });
    const rm = node(['blobs', 'rm', store, 'docs/a.txt']);
    assert.deepEqual(JSON.parse(rm.stdout), { deleted: 2 });
    assert.deepEqual(both(['blobs', 'rm', store, 'docs/a.txt']), [{ deleted: 0 }]);
    assert.deepEqual(both(['blobs', 'ls', store]), []);
  }
});

test('limits check: both commands count against one SQLite store', () => {
  const spec = `sqlite:${path.join(work, 'limits.db')}`;
  const args = ['limits', 'check', spec, 'user:1', '--rate', '2', '--period-ms', '60000'];
  const run = (cli) => JSON.parse(cli(args).stdout);
  const [a, b, c] = [run(node), run(python), run(node)];
  assert.deepEqual([a.allowed, a.remaining], [true, 1]);
  assert.deepEqual([b.allowed, b.remaining], [true, 0]);
  assert.equal(c.allowed, false);
  assert.ok(c.retry_after_ms > 0 && c.retry_after_ms <= 30000, c.retry_after_ms);
  assert.deepEqual(Object.keys(c), ['allowed', 'remaining', 'retry_after_ms', 'reset_after_ms']);
  both(['limits', 'check', spec, 'k'], { status: 2 }); // --rate is required
});

test('recipes stats: the counters of a loaded file', () => {
  fs.writeFileSync(path.join(work, 'offers.json'),
    JSON.stringify([{ offerId: 1, name: 'a' }, { offerId: 2, name: 'b' }, { offerId: 2, name: 'c' }, { nope: 1 }, 5]));
  assert.deepEqual(both(['recipes', 'stats', 'offers.json', '--key', 'offerId']), [{
    size: 2, items: 5, skipped: 2, duplicates: 1, embedded_errors: 0, rule_errors: 0, file_bytes: 89, json_bytes: 89,
  }]);
  const traffic = path.join(root, 'examples', 'traffic', 'data', 'offersRecipe.json.gz');
  const [stats] = both(['recipes', 'stats', traffic, '--key', 'offerId']);
  assert.ok(stats.size > 1000 && stats.json_bytes > stats.file_bytes, JSON.stringify(stats));
  both(['recipes', 'stats', 'missing.json', '--key', 'offerId'], { status: 1 });
});

test('--help everywhere, and a usage error exits 2', () => {
  for (const args of [['--help'], ['geo', 'lookup', '--help'], ['blobs', 'put', '--help'], ['limits', 'check', '--help']]) {
    for (const cli of [node, python]) {
      const out = cli(args);
      assert.equal(out.status, 0, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stdout, /usage:/);
    }
  }
  for (const cli of [node, python]) assert.equal(cli(['nope', 'x']).status, 2);
});
