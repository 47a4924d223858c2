'use strict';
// Every socket read allocates a fresh 64 KiB buffer that is garbage a moment
// later, once its bytes are in the store or forwarded. V8 sees little
// JavaScript allocation meanwhile, so it lets tens of megabytes of such
// buffers pile up before it collects them. When the process runs with
// --expose-gc (start.js does), a young-generation collection after every
// EVERY_BYTES that stream through keeps resident memory near its idle size,
// for a fraction of a millisecond each time. Without the flag this does
// nothing.
const EVERY_BYTES = 1 << 20;

const collect = typeof global.gc === 'function' ? () => global.gc({ type: 'minor' }) : null;
let since = 0;

/**
 * Count the bytes of a stream that is already piped (a 'data' listener
 * added before that would start it flowing too early).
 */
function collectWhileStreaming(stream) {
  if (!collect) return;
  stream.on('data', (chunk) => {
    since += chunk.length;
    if (since >= EVERY_BYTES) {
      since = 0;
      collect();
    }
  });
}

module.exports = { collectWhileStreaming };
