'use strict';
// require('hotpath/ua-parser-js'): ua-parser-js 1.x's interface over
// hotpath's native parser, whose answers are ua-parser-js 1.x's rules
// (generated into tables), so a service swaps the package name and keeps
// its code. Fields ua-parser-js leaves undefined are undefined here too;
// desktops have no device type, as there. isBot(ua) is isbot's answer.
// Regex extensions (the second argument of ua-parser-js) are not supported.
const ua = require('./ua');

// The ua-parser-js release whose rules the tables hold (checked against the
// installed package by tests/node/ua-tables.test.js).
const VERSION = '1.0.41';
const UA_MAX_LENGTH = 500;

const enumerize = (names) => Object.fromEntries(names.map((n) => [n.toUpperCase(), n]));

const orUndefined = (v) => (v === '' ? undefined : v);

// ua-parser-js's majorize: the digits before the first '.', other
// characters dropped.
function majorOf(version) {
  return typeof version === 'string' ? version.replace(/[^\d.]/g, '').split('.')[0] : undefined;
}

function deviceTypeOf(type) {
  return type === 'desktop' || type === 'bot' ? undefined : type;
}

function UAParser(uastring, extensions) {
  if (typeof uastring === 'object') {
    extensions = uastring;
    uastring = undefined;
  }
  if (extensions !== undefined && extensions !== null) {
    throw new TypeError('hotpath/ua-parser-js: regex extensions are not supported');
  }
  if (!(this instanceof UAParser)) return new UAParser(uastring).getResult();
  this._ua = '';
  this._parsed = null;
  this.setUA(uastring || '');
}

UAParser.prototype._result = function () {
  if (!this._parsed) this._parsed = ua.parse(typeof this._ua === 'string' ? this._ua : String(this._ua));
  return this._parsed;
};

UAParser.prototype.getBrowser = function () {
  const r = this._result();
  const version = orUndefined(r.browserVersion);
  return { name: orUndefined(r.browser), version, major: majorOf(version) };
};

UAParser.prototype.getCPU = function () {
  return { architecture: orUndefined(this._result().cpu) };
};

UAParser.prototype.getDevice = function () {
  const r = this._result();
  return { vendor: orUndefined(r.vendor), model: orUndefined(r.model), type: deviceTypeOf(r.deviceType) };
};

UAParser.prototype.getEngine = function () {
  const r = this._result();
  return { name: orUndefined(r.engine), version: orUndefined(r.engineVersion) };
};

UAParser.prototype.getOS = function () {
  const r = this._result();
  return { name: orUndefined(r.os), version: orUndefined(r.osVersion) };
};

UAParser.prototype.getResult = function () {
  return {
    ua: this.getUA(),
    browser: this.getBrowser(),
    engine: this.getEngine(),
    os: this.getOS(),
    device: this.getDevice(),
    cpu: this.getCPU(),
  };
};

UAParser.prototype.getUA = function () {
  return this._ua;
};

// Like ua-parser-js: a string over 500 characters loses its leading white
// space and is cut to 500.
UAParser.prototype.setUA = function (uastring) {
  this._ua =
    typeof uastring === 'string' && uastring.length > UA_MAX_LENGTH
      ? uastring.replace(/^\s\s*/, '').substring(0, UA_MAX_LENGTH)
      : uastring;
  this._parsed = null;
  return this;
};

/**
 * Whether isbot's patterns flag the string as a bot.
 * @param {string} uastring
 * @returns {boolean}
 */
function isBot(uastring) {
  return ua.parse(typeof uastring === 'string' ? uastring : '').isBot;
}

UAParser.VERSION = VERSION;
UAParser.BROWSER = enumerize(['name', 'version', 'major']);
UAParser.CPU = enumerize(['architecture']);
UAParser.DEVICE = enumerize(['model', 'vendor', 'type', 'console', 'mobile', 'smarttv', 'tablet', 'wearable', 'embedded']);
UAParser.ENGINE = UAParser.OS = enumerize(['name', 'version']);

module.exports = UAParser;
module.exports.UAParser = UAParser;
module.exports.isBot = isBot;
