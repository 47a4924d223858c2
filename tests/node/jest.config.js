'use strict';
// jest runs one suite, the maxmind drop-in's: there every test file has its
// own realm, as in a user's own jest suite, and records must still equal
// literals (toStrictEqual, assert.deepStrictEqual).
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/maxmind.test.js'],
  testEnvironment: 'node',
};
