'use strict';

const native = require('./native');
const { abortable, signalOf, disposable } = require('./abort');

const NAME_MAX = 512;

const STATUS = ['granted', 'already_held', 'denied', 'not_member'];
const REQUIRE_MAX = 8;

function name(what, value) {
  if (typeof value !== 'string') throw new TypeError(`limits: ${what} must be a string`);
  // Up to 128 UTF-16 units are at most 512 UTF-8 bytes: no need to count.
  if (value.length !== 0 && value.length <= 128 && !value.includes('\0')) return value;
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > NAME_MAX) throw new RangeError(`limits: ${what} must be 1..${NAME_MAX} bytes`);
  if (value.includes('\0')) throw new RangeError(`limits: ${what} must not contain NUL`);
  return value;
}

function integer(what, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`limits: ${what} must be an integer in ${min}..${max}`);
  }
  return value;
}

function leaseArgs(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('limits: options must be an object {limit, ttlMs}');
  }
  const limit = integer('limit', options.limit, 1, 0xffffffff);
  const ttl = integer('ttlMs', options.ttlMs ?? options.ttl ?? 60000, 1, 2 ** 40);
  return [limit, ttl, requireArg(options.require)];
}

// [{set, member}, ...] as the flat [set, member, ...] the addon reads, or
// undefined for none.
function requireArg(require) {
  if (require === undefined) return undefined;
  if (!Array.isArray(require) || require.length > REQUIRE_MAX) {
    throw new TypeError(`limits: require must be an array of at most ${REQUIRE_MAX} {set, member}`);
  }
  const flat = [];
  for (const r of require) {
    if (r === null || typeof r !== 'object') throw new TypeError('limits: each require entry must be {set, member}');
    flat.push(name('require set', r.set), name('require member', r.member));
  }
  return flat.length ? flat : undefined;
}

function ttlArg(options) {
  const ttl = options && typeof options === 'object' ? (options.ttlMs ?? options.ttl) : options;
  return integer('ttlMs', ttl ?? 60000, 1, 2 ** 40);
}

function rateArgs(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('limits: options must be an object {rate, periodMs, burst, cost}');
  }
  const rate = integer('rate', options.rate, 1, 0xffffffff);
  const period = integer('periodMs', options.periodMs ?? options.period ?? 1000, 1, 2 ** 32);
  const burst = integer('burst', options.burst ?? rate, 1, 0xffffffff);
  const cost = integer('cost', options.cost ?? 1, 0, burst);
  return [rate, period, burst, cost];
}

/**
 * Concurrency leases and GCRA rate limits over one backend:
 * `memory:` (this process), `sqlite:/path/file.db` (every process of this
 * host) or `redis://host:port/db` (many hosts). Every method returns a
 * Promise and takes `{signal}` in its options (an aborted signal rejects
 * with an AbortError; a lease granted after the abort is released); memory
 * and SQLite limiters also have `*Sync` variants (which a Redis limiter
 * refuses on the JS thread: they would block the loop its answer comes
 * through). `using` closes a limiter.
 */
class Limiter {
  /**
   * @param {string} spec
   * @param {{timeoutMs?: number, prefix?: string, sqliteInline?: boolean, localBudget?: number, localHoldMs?: number}} [options]
   */
  constructor(spec, options = {}) {
    if (typeof spec !== 'string') throw new TypeError('limits: spec must be a string');
    const timeoutMs = integer('timeoutMs', options.timeoutMs ?? 200, 1, 600000);
    const prefix = options.prefix ?? 'hp:lim';
    if (typeof prefix !== 'string' || prefix.length === 0 || Buffer.byteLength(prefix) > 128) {
      throw new RangeError('limits: prefix must be a string of 1..128 bytes');
    }
    const localBudget = integer('localBudget', options.localBudget ?? 0, 0, 2 ** 30);
    const localHoldMs = integer('localHoldMs', options.localHoldMs ?? 100, 1, 3600000);
    this._out = new Float64Array(4);
    this._native = new native.Limiter(
      spec,
      timeoutMs,
      prefix,
      Boolean(options.sqliteInline),
      this._out,
      localBudget,
      localHoldMs,
    );
    this.spec = spec;
    // Memory checks are synchronous underneath: their promises settle at
    // once instead of a loop turn later; so do Redis hits decided from a
    // local budget.
    this._memory = this._native.backend() === 'memory';
    this._local = localBudget > 0 && !this._memory;
  }

  /** 'memory', 'sqlite' or 'redis'. */
  get backend() {
    return this._native.backend();
  }

  /**
   * Counters: checks, grants, denials, backend failures and the Redis
   * client's figures (docs/observability.md).
   * @returns {import('..').LimiterStats}
   */
  stats() {
    return this._native.stats();
  }

  /**
   * Take a slot for `resource` unless `subject` already holds `limit`.
   * Re-acquiring a held resource uses no slot and extends its TTL. With
   * `require: [{set, member}, ...]` the acquire happens only if each member
   * is in its set, decided in the same atomic step ('not_member' otherwise,
   * with `missing` the index of the first one missing).
   * @returns {Promise<{status: 'granted'|'already_held'|'denied'|'not_member', ok: boolean, count: number, leaseId: number, holders?: object[], missing?: number}>}
   */
  acquire(subject, resource, options) {
    const [limit, ttl, require] = leaseArgs(options);
    const args = [name('subject', subject), name('resource', resource), limit, ttl, require];
    // A lease granted after the caller gave up is given back.
    const discard = (r) => {
      if (r.status === 'granted') this.release(args[0], args[1]).catch(() => {});
    };
    return this._run(options, () => (this._memory ? this._acquireSync(args) : this._native.acquire(...args)), discard);
  }

  /** Synchronous acquire (memory and SQLite; Redis refuses it on the JS thread). */
  acquireSync(subject, resource, options) {
    const [limit, ttl, require] = leaseArgs(options);
    return this._acquireSync([name('subject', subject), name('resource', resource), limit, ttl, require]);
  }

  _acquireSync(args) {
    const holders = this._native.acquireSync(...args);
    const o = this._out;
    const status = STATUS[o[0]];
    if (holders !== undefined) return { status, ok: false, count: o[1], leaseId: o[2], holders };
    if (status === 'not_member') return { status, ok: false, count: o[1], leaseId: o[2], missing: o[3] };
    return { status, ok: true, count: o[1], leaseId: o[2] };
  }

  /** Give a lease back: true if it was held. */
  release(subject, resource, options) {
    const args = [name('subject', subject), name('resource', resource)];
    return this._run(options, () => (this._memory ? this._native.releaseSync(...args) : this._native.release(...args)));
  }

  releaseSync(subject, resource) {
    return this._native.releaseSync(name('subject', subject), name('resource', resource));
  }

  /** Extend a lease to expire `ttlMs` from now: false if it had expired. */
  renew(subject, resource, options) {
    const args = [name('subject', subject), name('resource', resource), ttlArg(options)];
    return this._run(options, () => (this._memory ? this._native.renewSync(...args) : this._native.renew(...args)));
  }

  renewSync(subject, resource, options) {
    return this._native.renewSync(name('subject', subject), name('resource', resource), ttlArg(options));
  }

  /** The subject's live leases, oldest grant first. */
  holders(subject, options) {
    const who = name('subject', subject);
    return this._run(options, () => (this._memory ? this._native.holdersSync(who) : this._native.holders(who)));
  }

  holdersSync(subject) {
    return this._native.holdersSync(name('subject', subject));
  }

  /**
   * One GCRA hit: `rate` per `periodMs`, bursts of `burst` (default rate).
   * @returns {Promise<{allowed: boolean, remaining: number, retryAfterMs: number, resetAfterMs: number}>}
   */
  hit(key, options) {
    const [rate, period, burst, cost] = rateArgs(options);
    const k = name('key', key);
    return this._run(options, () => {
      if (this._memory) return this._hitSync(k, rate, period, burst, cost);
      if (this._local && this._native.hitLocal(k, rate, period, burst, cost)) return this._result();
      return this._native.hit(k, rate, period, burst, cost);
    });
  }

  /**
   * A hit decided here and now, or null when it needs the backend (then
   * use hit()): memory and SQLite always decide; a Redis limiter decides
   * from its local budget's hits in hand (never without a localBudget).
   * @returns {{allowed: boolean, remaining: number, retryAfterMs: number, resetAfterMs: number} | null}
   */
  hitLocal(key, options) {
    const [rate, period, burst, cost] = rateArgs(options);
    return this._native.hitLocal(name('key', key), rate, period, burst, cost) ? this._result() : null;
  }

  /** Synchronous hit (memory and SQLite; Redis refuses it on the JS thread). */
  hitSync(key, options) {
    const [rate, period, burst, cost] = rateArgs(options);
    return this._hitSync(name('key', key), rate, period, burst, cost);
  }

  _hitSync(key, rate, period, burst, cost) {
    this._native.hitSync(key, rate, period, burst, cost);
    return this._result();
  }

  // The numbers a synchronous hit left in `_out`, as a result.
  _result() {
    const o = this._out;
    return { allowed: o[0] === 1, remaining: o[1], retryAfterMs: o[2], resetAfterMs: o[3] };
  }

  /** Add a member to a named set kept in the same backend: true if new. */
  setAdd(set, member, options) {
    const args = [name('set', set), name('member', member)];
    return this._run(options, () => this._native.setAdd(...args));
  }

  /** Whether a member is in a named set. */
  setHas(set, member, options) {
    const args = [name('set', set), name('member', member)];
    return this._run(options, () => this._native.setHas(...args));
  }

  /** Resolves when the backend answers; rejects with HP_EUNAVAILABLE. */
  ping(options) {
    return this._run(options, () => this._native.ping());
  }

  // The promise of `call()` under `options.signal`: an aborted signal
  // rejects with an AbortError; the backend's answer, when it comes, is
  // dropped (or handed to `discard`).
  _run(options, call, discard) {
    const signal = signalOf(options);
    if (signal === undefined) return settled(call);
    return abortable(signal, call, { discard });
  }

  /** Pending calls still settle (Redis ones not yet answered reject with HP_ECLOSED). */
  close() {
    this._native.close();
  }
}

// A promise of what `fn` returns or throws.
function settled(fn) {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Open a limiter.
 * @param {string} spec  'memory:', 'sqlite:/path/file.db' or 'redis://host:port/db'
 * @param {{timeoutMs?: number, prefix?: string, sqliteInline?: boolean, localBudget?: number, localHoldMs?: number}} [options]
 */
function openLimiter(spec, options) {
  return new Limiter(spec, options);
}

disposable(Limiter);

module.exports = { Limiter, openLimiter };
