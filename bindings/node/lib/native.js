'use strict';

// Loads the compiled addon. HOTPATH_NODE_ADDON points at another build
// (the sanitizer build in `make test-asan`, say).
const path = require('path');
const { HotpathError } = require('./errors');

const root = path.resolve(__dirname, '..', '..', '..');
const candidates = [
  process.env.HOTPATH_NODE_ADDON,
  path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'hotpath.node'),
  path.join(root, 'build', 'node', 'hotpath.node'),
].filter(Boolean);

let native;
const failures = [];
for (const file of candidates) {
  try {
    native = require(file);
    break;
  } catch (err) {
    failures.push(`${file}: ${err.message.split('\n')[0]}`);
  }
}
if (!native) {
  throw new Error(
    'hotpath: the native addon is not built. Run `npm install` (or `make`) in ' +
      `${root}.\nTried:\n  ${failures.join('\n  ')}`,
  );
}
native.setErrorClass(HotpathError);

module.exports = native;
