'use strict';
// Every socket read allocates a fresh 64 KiB buffer that is garbage a moment
// later, once the bytes are in the store or forwarded. V8 sees little
// JavaScript allocation meanwhile, so it lets tens of megabytes of such
// buffers pile up before it collects them. When the process runs with
// --expose-gc (start.js does), a young-generation collection every
// INTERVAL_MS while a body is streaming keeps resident memory near its idle
// size, for well under a millisecond each time. Without the flag this does
// nothing.
const INTERVAL_MS = 25;

let streaming = 0;
let timer = null;
const collect = typeof global.gc === 'function' ? () => global.gc({ type: 'minor' }) : null;

/** Call when a request body starts streaming; call the returned function when it ends. */
function streamingBody() {
  if (!collect) return () => {};
  if (streaming++ === 0) {
    timer = setInterval(collect, INTERVAL_MS);
    timer.unref();
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--streaming === 0) clearInterval(timer);
  };
}

module.exports = { streamingBody };
