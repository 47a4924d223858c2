'use strict';
// Mechanical checks on the built addon.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('child_process');
const path = require('path');
const { root, hotpath } = require('../support/fixtures');

const addon = process.env.HOTPATH_NODE_ADDON || path.join(root, 'build', 'node', 'hotpath.node');

test('the addon links no libuv: every uv_* symbol is undefined (taken from node)', () => {
  const syms = execFileSync('nm', ['-D', addon], { encoding: 'utf8' }).split('\n');
  const uv = syms.filter((l) => / uv_/.test(l));
  assert.ok(uv.length > 0, 'the addon uses libuv');
  const defined = uv.filter((l) => !/ U uv_/.test(l));
  assert.deepEqual(defined, []);
  const libs = execFileSync('ldd', [addon], { encoding: 'utf8' });
  assert.doesNotMatch(libs, /libuv/);
});

test('the addon links no libcrypto: SHA-256 comes from the OpenSSL node exports', () => {
  const syms = execFileSync('nm', ['-D', addon], { encoding: 'utf8' }).split('\n');
  assert.ok(syms.some((l) => / U EVP_DigestUpdate/.test(l)), 'the addon uses EVP');
  assert.doesNotMatch(execFileSync('ldd', [addon], { encoding: 'utf8' }), /libcrypto/);
  // And node has it: a blob's sha256 is right.
  const hp = hotpath();
  const dir = require('fs').mkdtempSync(path.join(require('os').tmpdir(), 'hp-crypto-'));
  const store = hp.blobs.open(`sqlite:${path.join(dir, 's.db')}`);
  return store.put('x', Buffer.from('abc')).then((st) => {
    store.close();
    require('fs').rmSync(dir, { recursive: true });
    assert.equal(st.sha256, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

test('the addon exports only its module entry points', () => {
  const exported = execFileSync('nm', ['-D', '--defined-only', addon], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => / [TDBR] /.test(l))
    .map((l) => l.split(' ').pop());
  for (const name of exported) assert.match(name, /^(napi_register_module_v\d+|node_api_module_get_api_version_v\d+|_init|_fini)$/);
});

test('version and codes come from the C library', () => {
  const hp = hotpath();
  assert.match(hp.version, /^\d+\.\d+\.\d+$/);
  assert.equal(hp.version, require(path.join(root, 'package.json')).version);
  assert.equal(hp.codes.HP_ENOTFOUND, -2);
  assert.equal(hp.codes.HP_EUNAVAILABLE, -5);
});
