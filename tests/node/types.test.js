'use strict';
// The .d.ts files compile under --strict and match how the API is used.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { root } = require('../support/fixtures');

test('index.d.ts and the subpath types compile with tsc --strict', () => {
  // A throwaway project where `hotpath` resolves to this checkout.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-types-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'hotpath'));
  fs.copyFileSync(path.join(__dirname, 'types', 'usage.ts'), path.join(dir, 'usage.ts'));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '--strict', '--noEmit', '--module', 'node16', '--moduleResolution', 'node16',
      '--target', 'es2022', '--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types'),
      path.join(dir, 'usage.ts')], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    assert.fail(`tsc reported:\n${err.stdout}${err.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
