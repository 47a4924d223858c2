'use strict';

const native = require('./native');
const { HotpathError } = require('./errors');
const { AbortError } = require('./abort');
const sticky = require('./sticky');
const host = require('./host');
const ua = require('./ua');
const events = require('./events');
const geo = require('./geo');
const recipes = require('./recipes');
const limits = require('./limits');
const blobs = require('./blobs');
const diagnostics = require('./diagnostics');

module.exports = {
  version: native.version,
  codes: Object.freeze({ ...native.codes }),
  HotpathError,
  AbortError,
  fingerprint32: sticky.fingerprint32,
  fingerprint32Many: sticky.fingerprint32Many,
  sticky,
  host,
  ua,
  events,
  geo,
  GeoReader: geo.GeoReader,
  openGeo: geo.open,
  writeGeoDatabase: geo.writeDatabase,
  Recipes: recipes.Recipes,
  RecipeTable: recipes.RecipeTable,
  recipes,
  limits,
  Limiter: limits.Limiter,
  openLimiter: limits.openLimiter,
  blobs,
  BlobStore: blobs.BlobStore,
  BlobWriteStream: blobs.BlobWriteStream,
  BlobReadStream: blobs.BlobReadStream,
  openBlobs: blobs.open,
  diagnostics,
};
