'use strict';

// Loads the compiled addon: HOTPATH_NODE_ADDON when set (the sanitizer build
// in `make test-asan`, say), else the prebuilt one for this platform and C
// library (lib/prebuild.js), else the one `npm install` built from source.
const path = require('path');
const fs = require('fs');
const { HotpathError } = require('./errors');
const prebuild = require('./prebuild');

const root = path.resolve(__dirname, '..', '..', '..');
const candidates = [
  process.env.HOTPATH_NODE_ADDON,
  prebuild.file(root),
  path.join(root, 'build', 'node', 'hotpath.node'),
].filter(Boolean);

let native;
const failures = [];
for (const file of candidates) {
  if (!fs.existsSync(file)) {
    failures.push(`${file}: not there`);
    continue;
  }
  try {
    native = require(file);
    break;
  } catch (err) {
    failures.push(`${file}: ${err.message.split('\n')[0]}`);
  }
}
if (!native) {
  throw new Error(
    `hotpath: no native addon loads here (${prebuild.name()}, Node ${process.version}, N-API ` +
      `${process.versions.napi}). The package ships a prebuilt addon for linux-x64-glibc; anywhere else ` +
      'its install script builds one from source, which needs cmake, pkg-config, a C++20 compiler and the ' +
      'libraries it links. Run `npm rebuild hotpath` to build it again: when something is missing it ' +
      `names the packages to install.\nTried:\n  ${failures.join('\n  ')}`,
  );
}
native.setErrorClass(HotpathError);

module.exports = native;
