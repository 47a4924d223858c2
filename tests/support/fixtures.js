'use strict';
// Paths to shared fixtures and the hotpath package under test.
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const fixture = (...parts) => path.join(root, 'tests', 'fixtures', ...parts);
const hotpath = () => require(root);

function readVectors() {
  const fs = require('fs');
  return fs
    .readFileSync(fixture('fingerprint32.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [hex, value] = l.split('\t');
      return { bytes: Buffer.from(hex, 'hex'), value: Number(value) };
    });
}

module.exports = { root, fixture, hotpath, readVectors };
