'use strict';

const native = require('./native');
const { abortable, signalOf } = require('./abort');

/**
 * The host's metrics now (no cpuLoad: that needs a window).
 * @returns {import('../index').HostInfo}
 */
function snapshot() {
  return native.hostSnapshot();
}

/**
 * The host's metrics with cpuLoad measured over `windowMs` on the event loop
 * (a timer, never a blocking sleep).
 * `options.signal` rejects with an AbortError.
 * @param {{windowMs?: number, signal?: AbortSignal}} [options]
 * @returns {Promise<import('../index').HostInfo>}
 */
function sample(options = {}) {
  const windowMs = options.windowMs ?? 100;
  if (!Number.isInteger(windowMs) || windowMs < 1 || windowMs > 60000) {
    throw new RangeError('sample: windowMs must be an integer in 1..60000');
  }
  return abortable(signalOf(options), () => native.hostSample(windowMs));
}

module.exports = { snapshot, sample };
