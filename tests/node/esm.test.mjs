// The package as an ES module: `import hotpath, { GeoReader } from 'hotpath'`
// and `import maxmind from 'hotpath/maxmind'` (package.json's `import`
// condition, bindings/node/*.mjs), and the same from TypeScript compiled with
// "module": "nodenext" (tests/node/esm/).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import hotpath, * as named from 'hotpath';
import { GeoReader, ua, blobs } from 'hotpath';
import maxmind, * as maxmindNamed from 'hotpath/maxmind';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cityDb = path.join(root, 'tests', 'fixtures', 'maxmind', 'test-data', 'GeoIP2-City-Test.mmdb');

// The values a .d.ts declares at its top level (not its types).
function declaredValues(file) {
  const text = fs.readFileSync(path.join(root, 'bindings', 'node', file), 'utf8');
  const names = [...text.matchAll(/^export (?:declare )?(?:const|function|class|namespace) (\w+)/gm)].map((m) => m[1]);
  return [...new Set(names)].sort();
}
const exportNames = (ns) => Object.keys(ns).filter((k) => k !== 'default').sort();

test('the ES module names every value index.d.ts declares, the same objects as require("hotpath")', () => {
  const declared = declaredValues('index.d.ts');
  assert.ok(declared.length > 20, declared.join());
  const cjs = require('hotpath');
  assert.deepEqual(exportNames(named), declared);
  assert.deepEqual(Object.keys(cjs).sort(), declared);
  for (const name of declared) {
    assert.notEqual(named[name], undefined, name);
    assert.equal(named[name], cjs[name], name);
  }
  assert.equal(hotpath, cjs);
});

test('named imports work: GeoReader, ua and blobs', async () => {
  const geo = new GeoReader(cityDb);
  try {
    const hit = geo.lookup('81.2.69.160');
    assert.equal(hit.countryCode, 'GB');
    assert.equal(hit.city, 'London');
  } finally {
    geo.close();
  }
  const agent = ua.parse('Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
    '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1');
  assert.equal(agent.os, 'iOS');
  assert.equal(agent.deviceType, 'mobile');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-esm-'));
  const store = blobs.open(`sqlite:${path.join(dir, 'store.db')}`);
  try {
    await store.put('a.txt', 'from an ES module');
    assert.equal((await store.get('a.txt')).toString(), 'from an ES module');
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("hotpath/maxmind: the default export and the names of maxmind.d.ts, as the maxmind package's", async () => {
  const cjs = require('hotpath/maxmind');
  assert.deepEqual(exportNames(maxmindNamed), declaredValues('maxmind.d.ts'));
  assert.equal(maxmind, cjs.default);
  for (const name of ['open', 'openSync', 'init', 'validate']) assert.equal(maxmind[name], cjs[name], name);
  assert.equal(maxmindNamed.Reader, cjs.Reader);
  const reader = await maxmind.open(cityDb);
  try {
    assert.equal(reader.get('81.2.69.160').country.iso_code, 'GB');
    assert.equal(maxmindNamed.validate('2001:db8::1'), true);
  } finally {
    reader.close();
  }
});

test('TypeScript with "module": "nodenext": tsc checks the ES imports, and the compiled module runs', () => {
  // A throwaway ES-module project where `hotpath` resolves to this checkout.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-ts-esm-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'hotpath'));
    fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'));
    for (const file of ['package.json', 'tsconfig.json', 'main.mts']) {
      fs.copyFileSync(path.join(root, 'tests', 'node', 'esm', file), path.join(dir, file));
    }
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = (args) => execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    try {
      run([tsc, '-p', dir]); // type-checks (strict) as --noEmit would, then writes out/main.mjs
    } catch (err) {
      assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`);
    }
    const out = run([path.join(dir, 'out', 'main.mjs'), cityDb]);
    assert.deepEqual(JSON.parse(out), {
      version: require('hotpath').version,
      country: 'GB',
      maxmindCountry: 'GB',
      os: 'iOS',
      blob: 'from TypeScript',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
