'use strict';

const native = require('./native');
const { abortable, signalOf, disposable, dispose } = require('./abort');

const OUTCOME = ['none', 'pass', 'fail'];
const DIMENSIONS = ['country', 'region', 'city', 'isp', 'os', 'browser', 'deviceType'];

// Freezes a parsed record and everything in it, once per record version.
function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    for (const k of Object.keys(value)) deepFreeze(value[k]);
    Object.freeze(value);
  }
  return value;
}

function checkKey(key, where) {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new RangeError(`${where}: a numeric key must be a safe integer`);
  } else if (typeof key !== 'string') {
    throw new TypeError(`${where}: a key must be a number or a string`);
  }
}

function nonNegative(value, name, where) {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${where}: ${name} must be a non-negative integer`);
  return value;
}

/** One table of a recipe set; made by {@link Recipes#define}. */
class RecipeTable {
  constructor(set, index, name, keyType) {
    this._set = set;
    this._index = index;
    this.name = name;
    this.keyType = keyType;
    // String(key) -> frozen record, current: the addon empties it (before
    // any JS runs) whenever the table's generation moves, so a hit is one
    // property read. A plain object: V8 keeps integer keys as elements, a
    // faster read than a Map. 12 and '12' name the same record in either
    // key type, so sharing a slot is right.
    this._fresh = Object.create(null);
    // key -> {ver, obj}: the frozen record of version `ver`, reused when a
    // change elsewhere in the table left this record as it was.
    this._cache = new Map();
    this._limit = 1024;
  }

  /**
   * Load (or reload) the table from a JSON array file, plain or gzip. Parses
   * off the event loop; the new table replaces the old one atomically. On
   * failure the old table stays and the promise rejects with a HotpathError
   * whose message names the byte offset and the reason.
   * @param {string} path
   * `options.signal` stops the wait with an AbortError; a parse already
   * running finishes and swaps the table in if it succeeds.
   * @param {{timestamp?: number, wholeInflateMax?: number, signal?: AbortSignal}} [options]
   */
  load(path, options = {}) {
    if (typeof path !== 'string' || path === '') throw new TypeError('load: path must be a non-empty string');
    const timestamp = nonNegative(options.timestamp ?? 0, 'timestamp', 'load');
    const whole = nonNegative(options.wholeInflateMax ?? 0, 'wholeInflateMax', 'load');
    return abortable(signalOf(options), () => this._set._native().load(this._index, path, timestamp, whole));
  }

  /**
   * The record as a deeply frozen object (the same object until the record
   * changes), or null.
   * @param {number | string} key
   */
  get(key) {
    if (typeof key === 'number' || typeof key === 'string') {
      const obj = this._fresh[key];
      if (obj !== undefined) return obj;
    }
    return this._revalidate(key);
  }

  _revalidate(key) {
    checkKey(key, 'get');
    const n = this._set._native();
    const e = this._cache.get(key);
    const ver = n.version(this._index, key);
    if (ver === 0) {
      if (e !== undefined) this._cache.delete(key);
      return null;
    }
    let obj;
    if (e !== undefined && e.ver === ver) {
      obj = e.obj;
    } else {
      // '12' and 12 name the same record of an integer table: share its object.
      const other = typeof key === 'string' && this.keyType === 'int' ? this._cache.get(Number(key)) : undefined;
      obj = other !== undefined && other.ver === ver ? other.obj : deepFreeze(JSON.parse(n.json(this._index, key)));
      if (this._cache.size >= this._limit) this._sweep();
      this._cache.set(key, { ver, obj });
    }
    this._fresh[key] = obj;
    return obj;
  }

  // The addon's word that the table changed: every record revalidates once.
  _changed() {
    this._fresh = Object.create(null);
  }

  // Drops cached records that changed or vanished.
  _sweep() {
    const n = this._set._native();
    this._fresh = Object.create(null);
    for (const [k, e] of this._cache) {
      if (n.version(this._index, k) !== e.ver) this._cache.delete(k);
    }
    this._limit = Math.max(1024, 2 * (this._cache.size + n.size(this._index)));
  }

  /** Whether the key exists. */
  has(key) {
    checkKey(key, 'has');
    return this._set._native().has(this._index, key);
  }

  /** The record's minified JSON text, or null. */
  json(key) {
    checkKey(key, 'json');
    return this._set._native().json(this._index, key);
  }

  /** Number of live records. */
  get size() {
    return this._set._native().size(this._index);
  }

  /** Every live key, in no particular order. */
  keys() {
    return this._set._native().keys(this._index);
  }

  /** [key, record] pairs of the keys present now. */
  *entries() {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== null) yield [k, v];
    }
  }

  *values() {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  /** Counters: size, loads, loadFailures, lastLoadAt, lastLoadMs, items, skipped, duplicates, ... */
  stats() {
    return this._set._native().stats(this._index);
  }

  /**
   * Evaluate the record's compiled rules for a visitor, without
   * materialising the record. null when the key does not exist.
   * @param {number | string} key
   * @param {{country?: string, region?: string, city?: string, isp?: string, os?: string, browser?: string, deviceType?: string}} [context]
   * @returns {{geo: 'none'|'pass'|'fail', target: 'none'|'pass'|'fail', rule: number, redirectTo: string|null} | null}
   */
  match(key, context = {}) {
    checkKey(key, 'match');
    if (context === null || typeof context !== 'object') throw new TypeError('match: context must be an object');
    const c = context;
    const r = this._set._native().match(this._index, key, c.country, c.region, c.city, c.isp, c.os, c.browser, c.deviceType);
    if (r === null) return null;
    return { geo: OUTCOME[r[0]], target: OUTCOME[r[1]], rule: r[2], redirectTo: r[3] };
  }

  /**
   * Reload whenever `path` changes (fs events plus a size/mtime check every
   * intervalMs). `onReload(err, stats)` runs after each attempt; a vanished
   * or broken file gives an error and leaves the old table in service. Like
   * fs.watch, the watch keeps the process alive unless `persistent: false`.
   * @returns {{close(): void}}
   */
  watch(path, options = {}, onReload = () => {}) {
    if (typeof options === 'function') {
      onReload = options;
      options = {};
    }
    if (typeof path !== 'string' || path === '') throw new TypeError('watch: path must be a non-empty string');
    if (typeof onReload !== 'function') throw new TypeError('watch: onReload must be a function');
    // 0 asks for the library's defaults (1000 and 50 ms).
    const interval = nonNegative(options.intervalMs ?? 0, 'intervalMs', 'watch');
    const debounce = nonNegative(options.debounceMs ?? 0, 'debounceMs', 'watch');
    const set = this._set;
    let closed = false;
    const id = set._native().watch(this._index, path, interval, debounce, options.loadNow !== false, (err, stats) => {
      if (err && err.code === 'HP_ECLOSED') return;
      onReload(err, stats);
    }, options.persistent !== false);
    return {
      close() {
        if (closed || set._closed) return;
        closed = true;
        set._native().unwatch(id);
      },
      [dispose]() {
        this.close();
      },
    };
  }
}

/**
 * A set of named recipe tables with live updates.
 *
 *   const recipes = new Recipes();
 *   const offers = recipes.define('offers', { key: 'offerId', jsonFields: ['geoRules'], updateType: 'offer' });
 *   await offers.load('offersRecipe.json.gz');
 *   offers.get(35784);
 */
class Recipes {
  constructor() {
    this._set = new native.RecipeSet();
    this._tables = new Map();
    this._closed = false;
    // Tables by index, for the addon's change calls.
    this._byIndex = [];
    // The addon holds it weakly: kept alive here, with the set.
    this._onChange = (index) => {
      const t = this._byIndex[index];
      if (t !== undefined) t._changed();
    };
    this._set.bindGenerations(this._onChange);
  }

  _native() {
    if (this._closed) {
      const { HotpathError } = require('./errors');
      throw new HotpathError('recipes: the set is closed', 'HP_ECLOSED', native.codes.HP_ECLOSED);
    }
    return this._set;
  }

  /**
   * Add a table.
   * @param {string} name
   * A load past maxJsonBytes of JSON (gzip: inflated; 0: 1 GiB), maxItems items (0: 16,777,216) or
   * with an item over maxItemBytes (0: 16 MiB; also the cap on an update's body) rejects with
   * HP_ELIMIT and keeps the old table.
   * @param {{key: string, keyType?: 'int'|'string', jsonFields?: string[], updateType?: string,
   *          geoRulesField?: string, targetRulesField?: string, maxJsonBytes?: number, maxItems?: number,
   *          maxItemBytes?: number}} options
   * @returns {RecipeTable}
   */
  define(name, options) {
    if (typeof name !== 'string' || name === '') throw new TypeError('define: name must be a non-empty string');
    if (!options || typeof options.key !== 'string' || options.key === '') {
      throw new TypeError('define: options.key must name the key field');
    }
    const keyType = options.keyType ?? 'int';
    if (keyType !== 'int' && keyType !== 'string') throw new RangeError("define: keyType must be 'int' or 'string'");
    const jsonFields = options.jsonFields ?? [];
    if (!Array.isArray(jsonFields) || !jsonFields.every((f) => typeof f === 'string' && f !== '')) {
      throw new TypeError('define: jsonFields must be an array of field names');
    }
    for (const opt of ['updateType', 'geoRulesField', 'targetRulesField']) {
      if (options[opt] !== undefined && typeof options[opt] !== 'string') {
        throw new TypeError(`define: ${opt} must be a string`);
      }
    }
    const caps = ['maxJsonBytes', 'maxItems', 'maxItemBytes'].map((opt) => nonNegative(options[opt] ?? 0, opt, 'define'));
    const index = this._native().define(
      name,
      options.key,
      keyType === 'string',
      jsonFields,
      options.updateType,
      options.geoRulesField,
      options.targetRulesField,
      ...caps,
    );
    const table = new RecipeTable(this, index, name, keyType);
    this._byIndex[index] = table;
    this._tables.set(name, table);
    return table;
  }

  /** The table called `name`, or undefined. */
  table(name) {
    return this._tables.get(name);
  }

  /**
   * Apply a point update {type, id, action: 'updateOrCreate'|'delete',
   * timestamp, body} (an object or its JSON text). Returns 'applied', or
   * 'stale' when the table already holds newer data for that key.
   * @param {object | string} message
   */
  update(message) {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (typeof text !== 'string') throw new TypeError('update: message must be an object or a JSON string');
    return this._native().update(text) === 0 ? 'applied' : 'stale';
  }

  /**
   * Apply every message published on a Redis channel as a point update (the
   * same path as {@link Recipes#update}), so every host and worker
   * subscribed converges on the same data. Reconnects and subscribes again
   * after Redis restarts (messages published meanwhile are lost). While it
   * runs it keeps the process alive; close() stops it.
   * `onMessage(err, result)` runs after each message: result 'applied' or
   * 'stale', or err (a HotpathError) for a message that was rejected.
   * @param {string} url redis://[:password@]host[:port][/db]
   * @param {string} channel
   * A message over maxMessageBytes (0: 1 MiB) reaches onMessage as an HP_ELIMIT error, unparsed.
   * @param {{connectTimeoutMs?: number, reconnectMaxMs?: number, maxMessageBytes?: number}} [options]
   * @param {(err: Error | null, result: 'applied' | 'stale' | null) => void} [onMessage]
   * @returns {{close(): void, stats(): {messages: number, applied: number, stale: number, errors: number, resyncs: number}}}
   */
  subscribe(url, channel, options = {}, onMessage = () => {}) {
    if (typeof options === 'function') {
      onMessage = options;
      options = {};
    }
    if (typeof url !== 'string' || url === '') throw new TypeError('subscribe: url must be a non-empty string');
    if (typeof channel !== 'string' || channel === '') {
      throw new TypeError('subscribe: channel must be a non-empty string');
    }
    if (typeof onMessage !== 'function') throw new TypeError('subscribe: onMessage must be a function');
    const connect = nonNegative(options.connectTimeoutMs ?? 0, 'connectTimeoutMs', 'subscribe');
    const reconnect = nonNegative(options.reconnectMaxMs ?? 0, 'reconnectMaxMs', 'subscribe');
    const maxMessage = nonNegative(options.maxMessageBytes ?? 0, 'maxMessageBytes', 'subscribe');
    const id = this._native().subscribe(url, channel, connect, reconnect, (err, status) => {
      if (err && err.code === 'HP_ECLOSED') return;
      onMessage(err, err ? null : status === 0 ? 'applied' : 'stale');
    }, maxMessage);
    const set = this;
    let closed = false;
    return {
      close() {
        if (closed || set._closed) return;
        closed = true;
        set._native().unsubscribe(id);
      },
      stats() {
        return set._native().subscriptionStats(id);
      },
      [dispose]() {
        this.close();
      },
    };
  }

  /** Stop watches and subscriptions and free the tables. Further calls throw HP_ECLOSED. */
  close() {
    if (this._closed) return;
    this._set.close();
    this._closed = true;
    for (const t of this._tables.values()) {
      t._changed();
      t._cache.clear();
    }
  }
}

const DIMENSION_NAMES = Object.freeze([...DIMENSIONS]);

disposable(Recipes);

module.exports = { Recipes, RecipeTable, DIMENSIONS: DIMENSION_NAMES };
