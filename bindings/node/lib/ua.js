'use strict';

const native = require('./native');

/**
 * What ua.parse returns; built by the addon with one constructor call.
 * Unknown fields are undefined.
 */
class UAResult {
  constructor(browser, browserVersion, engine, engineVersion, os, osVersion, deviceType, vendor, model, isBot, cpu) {
    this.browser = browser;
    this.browserVersion = browserVersion;
    this.engine = engine;
    this.engineVersion = engineVersion;
    this.os = os;
    this.osVersion = osVersion;
    this.deviceType = deviceType;
    this.vendor = vendor;
    this.model = model;
    this.isBot = isBot;
    this.cpu = cpu;
  }
}
native.uaSetResultClass(UAResult);

/**
 * Parse a User-Agent string. Names are ua-parser-js 1.x's ('Chrome',
 * 'Mobile Safari', 'Mac OS', 'Windows', 'iOS', 'Android'); unknown fields
 * are undefined; deviceType is one of 'desktop', 'mobile', 'tablet',
 * 'smarttv', 'console', 'wearable', 'embedded', 'bot' ('bot' where isbot
 * flags the string); cpu is ua-parser-js's architecture ('amd64', 'arm64'). Each call returns a
 * new object (a plain data class, JSON-serialisable); repeated strings are
 * answered from the native cache.
 * @param {string} userAgent  undefined or null parse as ''.
 * @returns {import('../index').UAResult}
 */
function parse(userAgent) {
  if (typeof userAgent !== 'string') {
    if (userAgent !== undefined && userAgent !== null) throw new TypeError('ua.parse: userAgent must be a string');
    userAgent = '';
  }
  return native.uaParse(userAgent);
}

/**
 * Parse many User-Agent strings in one native call.
 * @param {string[]} userAgents
 * @returns {import('../index').UAResult[]}
 */
function parseMany(userAgents) {
  if (!Array.isArray(userAgents)) throw new TypeError('ua.parseMany: userAgents must be an array of strings');
  for (let i = 0; i < userAgents.length; i++) {
    if (typeof userAgents[i] !== 'string') throw new TypeError(`ua.parseMany: item ${i} is not a string`);
  }
  return native.uaParseMany(userAgents);
}

/**
 * Counters of the native cache of this thread's parser.
 * @returns {{hits: number, misses: number, capacity: number}}
 */
function stats() {
  return native.uaStats();
}

module.exports = { parse, parseMany, stats, UAResult };
