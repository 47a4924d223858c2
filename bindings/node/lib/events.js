'use strict';

const native = require('./native');
const { abortable, signalOf, disposable } = require('./abort');

const FSYNC = Object.freeze({
  none: native.EVENTS_FSYNC_NONE,
  batch: native.EVENTS_FSYNC_BATCH,
  interval: native.EVENTS_FSYNC_INTERVAL,
});

function header(headers, name) {
  const v = headers[name];
  if (Array.isArray(v)) return v.join(',');
  return typeof v === 'string' ? v : undefined;
}

/**
 * The client address as the Pushtech tracker chooses it: x-push-ip, else the
 * first entry of x-forwarded-for, else x-real-ip, else the socket address.
 * @param {Record<string, string | string[] | undefined>} headers  node's req.headers (lower-case names)
 * @param {string} [remoteAddress]  req.socket.remoteAddress
 * @returns {string | undefined}
 */
function clientIp(headers, remoteAddress) {
  if (headers === null || typeof headers !== 'object') throw new TypeError('events.clientIp: headers must be an object');
  if (remoteAddress !== undefined && remoteAddress !== null && typeof remoteAddress !== 'string') {
    throw new TypeError('events.clientIp: remoteAddress must be a string');
  }
  return native.eventsClientIp(
    header(headers, 'x-push-ip'),
    header(headers, 'x-forwarded-for'),
    header(headers, 'x-real-ip'),
    remoteAddress ?? undefined,
  );
}

/**
 * The seed's `ip=` value: lower-case hex of the address bytes without
 * leading zero bytes ('::ffff:172.17.0.1' -> 'ffffac110001').
 * Throws HotpathError HP_EINVAL for a string that is not an address.
 * @param {string} ip
 * @returns {string}
 */
function ipHex(ip) {
  if (typeof ip !== 'string') throw new TypeError('events.ipHex: ip must be a string');
  return native.eventsIpHex(ip);
}

function str(event, name) {
  const v = event[name];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new TypeError(`events: ${name} must be a string`);
  return v;
}

function eventArgs(event) {
  if (event === null || typeof event !== 'object') throw new TypeError('events: event must be an object');
  const eventType = str(event, 'eventType');
  if (!eventType) throw new TypeError('events: eventType must be a non-empty string');
  const receivedMs = event.receivedMs ?? Date.now();
  const processedMs = event.processedMs ?? 0;
  if (!Number.isFinite(receivedMs) || !Number.isFinite(processedMs)) {
    throw new TypeError('events: receivedMs and processedMs must be numbers (epoch ms)');
  }
  return [
    eventType,
    str(event, 'query'),
    str(event, 'host'),
    str(event, 'ip'),
    str(event, 'userAgent'),
    str(event, 'country'),
    str(event, 'city'),
    receivedMs,
    processedMs,
  ];
}

/**
 * The consumer message `eventType meta rawQuery` exactly as the seed
 * documents it.
 * @param {import('../index').TrackEvent} event
 * @returns {string}
 */
function format(event) {
  return native.eventsFormat(...eventArgs(event));
}

// An option left out is passed as `def`: 0, which asks the C library for
// its default, unless 0 has a meaning of its own (keepFiles).
function u32(options, name, min, def = 0) {
  const v = options[name];
  if (v === undefined || v === null) return def;
  if (!Number.isInteger(v) || v < min || v > 0xffffffff) {
    throw new RangeError(`events: ${name} must be an integer >= ${min}`);
  }
  return v;
}

const REDIS = Symbol('redis');

function batching(options) {
  return [u32(options, 'batchEvents', 1), u32(options, 'batchMs', 1), u32(options, 'maxPending', 1)];
}

/**
 * A batcher of consumer messages: appends never wait; batches are written
 * every batchEvents events or batchMs milliseconds to a local log file (one
 * message a line, on a writer thread) or, with EventLog.redis(), to a Redis
 * list.
 */
class EventLog {
  /**
   * @param {string} path
   * @param {import('../index').EventLogOptions} [options]
   */
  constructor(path, options = {}) {
    if (path === REDIS) {
      // EventLog.redis(): the native handle is made there.
      return;
    }
    if (typeof path !== 'string' || !path) throw new TypeError('EventLog: path must be a non-empty string');
    if (options === null || typeof options !== 'object') throw new TypeError('EventLog: options must be an object');
    const fsync = options.fsync ?? 'batch';
    if (!(fsync in FSYNC)) throw new RangeError("EventLog: fsync must be 'none', 'batch' or 'interval'");
    const rotateBytes = options.rotateBytes ?? 0;
    if (!Number.isSafeInteger(rotateBytes) || rotateBytes < 0) {
      throw new RangeError('EventLog: rotateBytes must be a non-negative integer');
    }
    this.path = path;
    this._log = new native.EventLog(
      0,
      path,
      ...batching(options),
      FSYNC[fsync],
      u32(options, 'fsyncMs', 1),
      rotateBytes,
      u32(options, 'keepFiles', 0, 5),
    );
  }

  /**
   * A batcher that RPUSHes each batch to a Redis list (the shared Redis
   * client on the event loop, pipelined). While Redis is down, batches wait
   * and are retried; past maxPending, push/append throw HP_EUNAVAILABLE and
   * the event counts as dropped.
   * @param {string} url  redis://[:password@]host[:port][/db]
   * @param {import('../index').RedisEventLogOptions} [options]
   * @returns {EventLog}
   */
  static redis(url, options = {}) {
    if (typeof url !== 'string' || !url) throw new TypeError('EventLog.redis: url must be a non-empty string');
    if (options === null || typeof options !== 'object') throw new TypeError('EventLog.redis: options must be an object');
    const key = options.key ?? 'hotpath:events';
    if (typeof key !== 'string' || !key) throw new TypeError('EventLog.redis: key must be a non-empty string');
    const log = new EventLog(REDIS);
    log.url = url;
    log.key = key;
    log._log = new native.EventLog(
      1,
      url,
      ...batching(options),
      key,
      u32(options, 'maxInflight', 1),
      u32(options, 'connectTimeoutMs', 1),
      u32(options, 'commandTimeoutMs', 1),
    );
    return log;
  }

  /**
   * Append a ready-made message (one line). Throws HotpathError
   * HP_EUNAVAILABLE when maxPending events wait for a failing file.
   * @param {string} message
   */
  push(message) {
    if (typeof message !== 'string' || !message) throw new TypeError('EventLog.push: message must be a non-empty string');
    this._log.push(message);
  }

  /**
   * Format a tracking call as the seed's consumer message and append it.
   * @param {import('../index').TrackEvent} event
   * @returns {number} the message length
   */
  append(event) {
    return this._log.append(...eventArgs(event));
  }

  /**
   * Resolves once everything appended so far is written (and fsynced per
   * policy). `{signal}`: stop waiting (the batches are still written).
   */
  flush(options) {
    return abortable(signalOf(options), () => this._log.flush());
  }

  /** Counters: appended, written, dropped, pending, batches, errors, rotations. */
  stats() {
    return this._log.stats();
  }

  /**
   * Writes what is buffered, closes the file; later calls throw HP_ECLOSED.
   * `{signal}`: stop waiting (the log still closes).
   */
  close(options) {
    return abortable(signalOf(options), () => this._log.close());
  }
}

disposable(EventLog);

module.exports = { clientIp, ipHex, format, EventLog };
