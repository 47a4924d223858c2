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
const prebuild = require('../bindings/node/lib/prebuild');
const prebuilt = prebuild.file(root);

function fail(message) {
  console.error(`hotpath: ${message}`);
  process.exit(1);
}

// What a build from source needs, and the package that provides each on the
// common distributions (null: that distribution does not package it).
const needs = [
  { what: 'cmake', tool: 'cmake', debian: 'cmake', fedora: 'cmake', alpine: 'cmake' },
  { what: 'pkg-config', tool: 'pkg-config', debian: 'pkg-config', fedora: 'pkgconf-pkg-config', alpine: 'pkgconf' },
  { what: 'a C++20 compiler', tool: ['c++', 'g++', 'clang++'], debian: 'g++', fedora: 'gcc-c++', alpine: 'g++' },
  { what: 'make', tool: ['make', 'ninja'], debian: 'make', fedora: 'make', alpine: 'make' },
  { what: 'libuv', pc: 'libuv', debian: 'libuv1-dev', fedora: 'libuv-devel', alpine: 'libuv-dev' },
  { what: 'hiredis', pc: 'hiredis', debian: 'libhiredis-dev', fedora: 'hiredis-devel', alpine: 'hiredis-dev' },
  { what: 'libmaxminddb', pc: 'libmaxminddb', debian: 'libmaxminddb-dev', fedora: 'libmaxminddb-devel',
    alpine: 'libmaxminddb-dev' },
  { what: 'SQLite', pc: 'sqlite3', debian: 'libsqlite3-dev', fedora: 'sqlite-devel', alpine: 'sqlite-dev' },
  { what: 'zlib', pc: 'zlib', debian: 'zlib1g-dev', fedora: 'zlib-devel', alpine: 'zlib-dev' },
  { what: 'libdeflate', pc: 'libdeflate', debian: 'libdeflate-dev', fedora: 'libdeflate-devel', alpine: 'libdeflate-dev' },
  { what: 'RE2', pc: 're2', debian: 'libre2-dev', fedora: 're2-devel', alpine: 're2-dev' },
  { what: 'libcrypto (OpenSSL)', pc: 'libcrypto', debian: 'libssl-dev', fedora: 'openssl-devel', alpine: 'openssl-dev' },
  { what: 'FarmHash', header: 'farmhash.h', debian: 'libfarmhash-dev', fedora: null, alpine: null },
];

function found(need) {
  const ok = (cmd, args) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (need.tool) return [].concat(need.tool).some((t) => ok(t, ['--version']));
  if (need.pc) return ok('pkg-config', ['--exists', need.pc]);
  return ['/usr/include', '/usr/local/include'].some((dir) => fs.existsSync(path.join(dir, need.header)));
}

// debian, fedora or alpine from /etc/os-release (ID, then ID_LIKE), or null.
function distribution() {
  let text = '';
  try {
    text = fs.readFileSync('/etc/os-release', 'utf8');
  } catch {
    return null;
  }
  const field = (key) => ((text.match(new RegExp(`^${key}="?([^"\\n]*)`, 'm')) || [])[1] || '').split(' ');
  const family = { debian: 'debian', ubuntu: 'debian', fedora: 'fedora', rhel: 'fedora', centos: 'fedora',
    rocky: 'fedora', almalinux: 'fedora', amzn: 'fedora', alpine: 'alpine' };
  for (const id of [...field('ID'), ...field('ID_LIKE')]) if (family[id]) return family[id];
  return null;
}

// Checks everything first and names what is missing, with the command that
// installs it here when the distribution is known.
function checkBuildTools() {
  // Without pkg-config the libraries cannot be checked: name them all (installing a
  // package that is there already does no harm).
  const havePkgConfig = found(needs[1]);
  const missing = needs.filter((need) => (need.pc && !havePkgConfig) || !found(need));
  if (!missing.length) return;
  const distro = distribution();
  const sudo = process.getuid && process.getuid() === 0 ? '' : 'sudo ';
  const command = { debian: `${sudo}apt-get install -y`, fedora: `${sudo}dnf install -y`, alpine: `${sudo}apk add` };
  const why = fs.existsSync(prebuilt) ? 'building the addon from source'
    : `no prebuilt addon fits this system (${prebuild.name()}), and building one from source`;
  const lines = [
    `${why} needs what is missing here:`,
    ...missing.map((need) => `  - ${need.what}`),
  ];
  if (distro) {
    const packages = missing.map((need) => need[distro]).filter(Boolean);
    const unpackaged = missing.filter((need) => !need[distro]).map((need) => need.what);
    if (packages.length) lines.push(`Install with:\n  ${command[distro]} ${[...new Set(packages)].join(' ')}`);
    if (unpackaged.length) {
      lines.push(`Not packaged on this distribution: ${unpackaged.join(', ')}; build it from its source ` +
        'and install it under /usr/local.');
    }
  } else {
    lines.push(`Debian and Ubuntu: ${command.debian} ${missing.map((need) => need.debian).join(' ')}`);
  }
  lines.push('Then run `npm rebuild hotpath`.');
  fail(lines.join('\n'));
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

checkBuildTools();

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
