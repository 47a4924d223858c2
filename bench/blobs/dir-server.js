'use strict';
// The SpeedBox file server on plain files in a directory (dir-store.js), the
// baseline bench/blobs compares the hotpath store with over HTTP:
// SPEEDBOX_STORE=dir:/path, the rest as examples/speedbox/server.js.
const { main } = require('../../examples/speedbox/server');
const { DirStore } = require('./dir-store');

main((spec) => {
  if (!spec.startsWith('dir:')) throw new Error(`dir-server: SPEEDBOX_STORE must be dir:/path, got '${spec}'`);
  return new DirStore(spec.slice(4));
});
