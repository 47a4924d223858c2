'use strict';

// Which prebuilt addon fits this process: prebuilds/<platform>-<arch>[-<libc>]/
// hotpath.node, with the C library on Linux ('linux-x64-glibc',
// 'linux-x64-musl'), since an addon linked against glibc does not load on
// musl (Alpine) and the other way round. Used by lib/native.js to load it,
// by packaging/build-node.js at install and by packaging/dist.sh to name it.
const path = require('path');

// Node's own report says which glibc it runs on; musl has none.
function libc() {
  if (process.platform !== 'linux') return null;
  const header = process.report && process.report.getReport().header;
  return header && header.glibcVersionRuntime ? 'glibc' : 'musl';
}

function name() {
  const c = libc();
  return `${process.platform}-${process.arch}${c ? `-${c}` : ''}`;
}

// The prebuilt addon's path under the package root `root`.
function file(root) {
  return path.join(root, 'prebuilds', name(), 'hotpath.node');
}

module.exports = { libc, name, file };
