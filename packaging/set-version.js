#!/usr/bin/env node
'use strict';
// Sets the one version of hotpath: the HP_VERSION_* macros of
// libengine/include/hotpath/common.h (which CMake and the wheel read) and
// package.json's "version", which npm needs as a literal.
// Usage: node packaging/set-version.js 0.2.0
const fs = require('fs');
const path = require('path');

const version = process.argv[2];
const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version || '');
if (!match) {
  console.error('usage: node packaging/set-version.js MAJOR.MINOR.PATCH');
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const header = path.join(root, 'libengine', 'include', 'hotpath', 'common.h');
let text = fs.readFileSync(header, 'utf8');
['MAJOR', 'MINOR', 'PATCH'].forEach((part, i) => {
  text = text.replace(new RegExp(`#define HP_VERSION_${part} \\d+`), `#define HP_VERSION_${part} ${match[i + 1]}`);
});
fs.writeFileSync(header, text);

const pkgFile = path.join(root, 'package.json');
const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
pkg.version = version;
fs.writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
console.log(`hotpath: version ${version}; add a "## [${version}]" section to CHANGELOG.md`);
