'use strict';

// Node 18 has no Symbol.dispose; its polyfills and TypeScript's downlevel
// `using` look the symbols up under these registry names.
const dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');

/**
 * The rejection of an aborted call, shaped like node's own (fs, timers,
 * events.once): `name` 'AbortError', `code` 'ABORT_ERR', `cause` the
 * signal's reason.
 */
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options = undefined) {
    super(message, options);
    this.name = 'AbortError';
    this.code = 'ABORT_ERR';
  }
}

function abortError(signal) {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/** The `signal` of an options object, checked; undefined when none. */
function signalOf(options) {
  const signal = options === null || typeof options !== 'object' ? undefined : options.signal;
  if (signal === undefined || signal === null) return undefined;
  if (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw new TypeError('options.signal must be an AbortSignal');
  }
  return signal;
}

/**
 * Run `start()` (which returns a promise) under `signal`: a signal already
 * aborted rejects at once without starting; one aborted later rejects with
 * an AbortError and calls `onAbort` (which may cancel the native work).
 * Work that still succeeds after the abort hands its value to `discard`
 * (close a handle, give a lease back) since nobody will see it.
 */
function abortable(signal, start, { onAbort, discard } = {}) {
  if (signal === undefined) return start();
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let aborted = false;
    const abort = () => {
      aborted = true;
      reject(abortError(signal));
      if (onAbort) onAbort();
    };
    signal.addEventListener('abort', abort, { once: true });
    let work;
    try {
      work = Promise.resolve(start());
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        if (aborted && discard) discard(v);
        else resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', abort);
        reject(err);
      },
    );
  });
}

/** Give `Class` `[Symbol.dispose]` (and `[Symbol.asyncDispose]`) calling close(). */
function disposable(Class) {
  Object.defineProperty(Class.prototype, dispose, {
    value: function () {
      this.close();
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(Class.prototype, asyncDispose, {
    value: async function () {
      await this.close();
    },
    writable: true,
    configurable: true,
  });
  return Class;
}

module.exports = { AbortError, abortable, signalOf, disposable, dispose, asyncDispose };
