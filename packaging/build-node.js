#!/usr/bin/env node
'use strict';
// Builds the Node addon offline against the headers of the node running this
// script (<prefix>/include/node) with node-addon-api; never downloads headers.
// Run by `npm install` (the package's install script) and by `make`.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const buildDir = process.env.HOTPATH_NODE_BUILD_DIR || path.join(root, 'build', 'node');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'hotpath.node');

function fail(message) {
  console.error(`hotpath: ${message}`);
  process.exit(1);
}

if (fs.existsSync(prebuilt) && !process.env.HOTPATH_BUILD_FROM_SOURCE) {
  try {
    require(prebuilt);
    console.log(`hotpath: using prebuilt addon ${path.relative(root, prebuilt)}`);
    process.exit(0);
  } catch (err) {
    console.log(`hotpath: prebuilt addon does not load here (${err.message.split('\n')[0]}); building from source`);
  }
}

const nodeInclude = [
  process.env.HOTPATH_NODE_INCLUDE,
  path.join(path.dirname(process.execPath), '..', 'include', 'node'),
].find((dir) => dir && fs.existsSync(path.join(dir, 'node_api.h')));
if (!nodeInclude) fail(`node's headers were not found next to ${process.execPath}; set HOTPATH_NODE_INCLUDE`);

// node-addon-api is header-only. A checkout installed into another project
// with `npm install /path/to/hotpath` is linked without its own
// dependencies, so look in the installing project too, and fetch it into
// the checkout as the last resort.
function findAddonApi() {
  const from = [root, process.env.INIT_CWD, process.cwd()].filter(Boolean);
  try {
    const pkg = require.resolve('node-addon-api/package.json', { paths: from });
    return path.dirname(pkg);
  } catch {
    return null;
  }
}
let addonApi = findAddonApi();
if (!addonApi) {
  console.log('hotpath: node-addon-api is not installed; installing it into the checkout');
  try {
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund',
      'node-addon-api@^8'], { cwd: root, stdio: 'inherit' });
  } catch {
    fail('node-addon-api is missing and could not be installed: run `npm install` in the checkout');
  }
  addonApi = findAddonApi();
  if (!addonApi) fail('node-addon-api is missing: run `npm install` in the checkout');
}

for (const tool of ['cmake', 'pkg-config']) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    fail(`${tool} is missing; run packaging/install-deps.sh (as root or with sudo)`);
  }
}
const missing = ['libuv', 'hiredis', 'libmaxminddb', 'sqlite3', 'zlib', 'libdeflate', 're2'].filter((lib) => {
  try {
    execFileSync('pkg-config', ['--exists', lib]);
    return false;
  } catch {
    return true;
  }
});
if (missing.length) fail(`missing libraries ${missing.join(', ')}; run packaging/install-deps.sh`);

const generator = (() => {
  try {
    execFileSync('ninja', ['--version'], { stdio: 'ignore' });
    return ['-G', 'Ninja'];
  } catch {
    return [];
  }
})();
const extra = (process.env.HOTPATH_CMAKE_ARGS || '').split(' ').filter(Boolean);
const run = (args) => execFileSync('cmake', args, { stdio: 'inherit', cwd: root });
try {
  if (!fs.existsSync(path.join(buildDir, 'CMakeCache.txt'))) {
    run(['-S', root, '-B', buildDir, ...generator, '-DCMAKE_BUILD_TYPE=Release', '-DHP_BUILD_TESTS=OFF',
      '-DHP_BUILD_PYTHON=OFF', '-DHP_BUILD_NODE=ON', `-DNODE_INCLUDE_DIR=${nodeInclude}`,
      `-DNODE_ADDON_API_DIR=${addonApi}`, ...extra]);
  }
  run(['--build', buildDir, '--target', 'hotpath_node', '--parallel']);
} catch {
  fail('building the addon failed (output above)');
}
console.log(`hotpath: built ${path.relative(root, path.join(buildDir, 'hotpath.node'))}`);
