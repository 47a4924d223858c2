'use strict';

const native = require('./native');
const { HotpathError } = require('./errors');
const sticky = require('./sticky');
const host = require('./host');
const geo = require('./geo');
const recipes = require('./recipes');
const limits = require('./limits');

module.exports = {
  version: native.version,
  codes: Object.freeze({ ...native.codes }),
  HotpathError,
  fingerprint32: sticky.fingerprint32,
  fingerprint32Many: sticky.fingerprint32Many,
  sticky,
  host,
  geo,
  GeoReader: geo.GeoReader,
  openGeo: geo.open,
  writeGeoDatabase: geo.writeDatabase,
  Recipes: recipes.Recipes,
  recipes,
  limits,
  Limiter: limits.Limiter,
  openLimiter: limits.openLimiter,
};
