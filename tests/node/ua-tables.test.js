'use strict';
// The committed tables (libengine/src/ua/tables_data.cc) are what
// packaging/gen-ua-tables.js makes from the installed ua-parser-js and isbot;
// after upgrading either, run `node packaging/gen-ua-tables.js`.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { root } = require('../support/fixtures');

function installed(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

test('the committed ua tables are current', { skip: !installed('ua-parser-js') || !installed('isbot') }, () => {
  const { generate, outFile } = require(path.join(root, 'packaging', 'gen-ua-tables.js'));
  const committed = fs.readFileSync(outFile, 'utf8');
  assert.ok(committed === generate(), 'libengine/src/ua/tables_data.cc is stale: run node packaging/gen-ua-tables.js');
});

test('hotpath/ua-parser-js names the ua-parser-js release the tables come from', { skip: !installed('ua-parser-js') }, () => {
  assert.equal(require('hotpath/ua-parser-js').VERSION, require('ua-parser-js').VERSION);
});
