'use strict';
// A failed system call keeps its errno in every subsystem: the error looks
// like an fs error (code 'ENOENT', errno, syscall, path) and keeps hotpath's
// own code in hpCode ('HP_EIO').
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { hotpath } = require('../support/fixtures');

const hp = hotpath();

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hp-io-errors-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isMissing(file) {
  return (err) => {
    assert.ok(err instanceof hp.HotpathError, String(err));
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, -2);
    assert.equal(err.hpCode, 'HP_EIO');
    assert.equal(typeof err.syscall, 'string');
    assert.ok(err.path.startsWith(path.dirname(file)), err.path);
    assert.match(err.message, /^ENOENT: no such file or directory, /);
    return true;
  };
}

test('geo: a missing database and a write into a missing directory', (t) => {
  const file = path.join(tempDir(t), 'nowhere', 'x.mmdb');
  assert.throws(() => new hp.GeoReader(file), isMissing(file));
  assert.throws(() => hp.writeGeoDatabase(file, [['1.2.3.0/24', { a: 1 }]]), isMissing(file));
});

test('recipes: loading a missing file', async (t) => {
  const file = path.join(tempDir(t), 'nowhere', 'offers.json');
  const recipes = new hp.Recipes();
  t.after(() => recipes.close());
  const table = recipes.define('offers', { key: 'offerId' });
  await assert.rejects(table.load(file), isMissing(file));
});

test('events: a log file in a missing directory', (t) => {
  const file = path.join(tempDir(t), 'nowhere', 'events.log');
  assert.throws(() => new hp.events.EventLog(file), isMissing(file));
});

test('blobs: a SQLite store in a missing directory', (t) => {
  const file = path.join(tempDir(t), 'nowhere', 'store.db');
  assert.throws(() => hp.blobs.open(`sqlite:${file}`), isMissing(file));
});

test('limits: a SQLite limiter in a missing directory', (t) => {
  const file = path.join(tempDir(t), 'nowhere', 'limits.db');
  assert.throws(() => hp.openLimiter(`sqlite:${file}`), isMissing(file));
});

test('other errors keep hotpath\'s code in code and hpCode', () => {
  assert.throws(() => hp.blobs.open('nosuch:/x'), (err) => err.code === 'HP_EINVAL' && err.hpCode === 'HP_EINVAL' && err.syscall === undefined);
});
