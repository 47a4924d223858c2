// `import hotpath, { GeoReader } from 'hotpath'`: the CommonJS package
// (lib/index.js), its exports named one by one. Node cannot find these names
// in lib/index.js by itself (its object literal holds member expressions), so
// without this file only the default import would work. tests/node/esm.test.mjs
// checks that this list, index.d.ts and lib/index.js name the same values.
import hotpath from './lib/index.js';

export default hotpath;
export const {
  version,
  codes,
  HotpathError,
  AbortError,
  fingerprint32,
  fingerprint32Many,
  sticky,
  host,
  ua,
  events,
  geo,
  GeoReader,
  openGeo,
  writeGeoDatabase,
  Recipes,
  RecipeTable,
  recipes,
  limits,
  Limiter,
  openLimiter,
  blobs,
  BlobStore,
  BlobWriteStream,
  BlobReadStream,
  openBlobs,
  diagnostics,
} = hotpath;
