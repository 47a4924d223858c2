// Types of the hotpath Node package. Hot lookups (geo, ua, recipe get,
// memory limits, fingerprints) are synchronous; anything touching disk or the
// network returns a Promise settled on the event loop. Every failure is a
// HotpathError; argument mistakes throw TypeError or RangeError first.
// Promise calls take `signal` (see Abortable); handles declare
// [Symbol.dispose] / [Symbol.asyncDispose], typed by @types/node 18.18+ or
// TypeScript's esnext.disposable lib.

import { Readable, Writable } from 'stream';

/**
 * Every error hotpath raises; `code` names the C error ('HP_ENOTFOUND'). A
 * failed system call (HP_EIO) looks like an fs error instead: `code` is the
 * system's ('ENOENT', 'EACCES', ...), `errno` libuv's negative number, with
 * `syscall` and `path`; `hpCode` is always hotpath's own code.
 */
export class HotpathError extends Error {
  /** The C error's name, e.g. 'HP_EUNAVAILABLE' (`message` holds the detail), or the system's code. */
  readonly code: ErrorCode | string;
  /** The C library's negative code, e.g. -2 for HP_ENOTFOUND; libuv's negative errno for a system error. */
  readonly errno: number;
  /** hotpath's code, also for a system error ('HP_EIO'). */
  readonly hpCode: ErrorCode;
  /** hotpath's negative code, also for a system error (-4); Python's `number`. */
  readonly number: number;
  /** The C library's text of the failure (hp_last_error()); Python's `detail`. */
  readonly detail: string;
  /** The failed system call ('open', 'read', ...), for a system error. */
  readonly syscall?: string;
  /** The file concerned, for a system error. */
  readonly path?: string;
}

/**
 * The rejection of a call whose `signal` aborted, shaped like node's own:
 * `cause` is the signal's reason.
 */
export class AbortError extends Error {
  readonly name: 'AbortError';
  readonly code: 'ABORT_ERR';
  readonly cause: unknown;
}

/** `signal`: aborting it rejects the call's promise with an AbortError (at once if already aborted). */
export interface Abortable {
  signal?: AbortSignal;
}

/** The C library's error names (docs/errors.md says when each occurs). */
export type ErrorCode =
  | 'HP_EINVAL'
  | 'HP_ENOTFOUND'
  | 'HP_ECORRUPT'
  | 'HP_EIO'
  | 'HP_EUNAVAILABLE'
  | 'HP_ELIMIT'
  | 'HP_ENOMEM'
  | 'HP_ECLOSED'
  | 'HP_ECANCELED'
  | 'HP_EINTERNAL'
  | 'HP_EFAMILY';

/** The library's version, "MAJOR.MINOR.PATCH". */
export const version: string;
/** Error names and their negative numbers, from the C library's table. */
export const codes: Readonly<Record<ErrorCode, number>>;

/** FarmHash Fingerprint32, identical to the `farmhash` package's (strings hash as UTF-8). */
export function fingerprint32(input: string | Uint8Array): number;
/** Fingerprint32 of many strings in one native call. */
export function fingerprint32Many(inputs: readonly string[]): Uint32Array;

/** Worker picking for sticky sessions (docs/sticky.md). */
export namespace sticky {
  /** How pick() maps an address to a worker. */
  type Mode = 'modulo' | 'jump';
  /** The same function as the top-level fingerprint32(). */
  function fingerprint32(input: string | Uint8Array): number;
  /** The same function as the top-level fingerprint32Many(). */
  function fingerprint32Many(inputs: readonly string[]): Uint32Array;
  /**
   * Worker index for a client address: 'modulo' (default) is the Perfload
   * seed's fingerprint32(address) % workers; 'jump' folds IPv4-mapped
   * addresses and uses jump consistent hashing.
   */
  function pick(address: string, workers: number, mode?: Mode): number;
}

/** Host metrics, the Perfload client's payload. */
export interface HostInfo {
  /** Bytes, as os.freemem() */
  freeMem: number;
  /** Bytes, as os.totalmem() */
  totalMem: number;
  /** totalMem - freeMem, bytes */
  usedMem: number;
  /** usedMem / totalMem, 0..1 */
  memUsage: number;
  /** As os.type(): 'Linux' */
  osType: string;
  /** Seconds since boot */
  upTime: number;
  /** As os.cpus()[0].model */
  cpuModel: string;
  /** Logical CPUs */
  numCores: number;
  /** MHz */
  cpuSpeed: number;
  /** MAC of the first non-internal interface, '' when none */
  macA: string;
  /** Percent busy over the sample window (only from sample()) */
  cpuLoad?: number;
}

/** Host metrics (docs/host.md). */
export namespace host {
  /** Metrics now, without cpuLoad. */
  function snapshot(): HostInfo;
  /** Metrics with cpuLoad measured over windowMs (default 100) on the event loop. */
  function sample(options?: { windowMs?: number } & Abortable): Promise<HostInfo>;
}

/** What ua.parse returns. Names are ua-parser-js 1.x's; unknown fields are undefined. */
export interface UAResult {
  /** 'Chrome', 'Mobile Safari', 'Firefox', 'Edge', 'Samsung Internet', ... */
  browser?: string;
  /** '120.0.0.0' */
  browserVersion?: string;
  /** 'Blink', 'WebKit', 'Gecko', 'Trident', 'EdgeHTML', 'Presto' */
  engine?: string;
  /** '537.36' */
  engineVersion?: string;
  /** 'Windows', 'Mac OS', 'iOS', 'Android', 'Linux', 'Chromium OS', ... */
  os?: string;
  /** '10', '17.1.2', 'XP' */
  osVersion?: string;
  /** ua-parser-js leaves desktops untyped; here they are 'desktop'. */
  deviceType: 'desktop' | 'mobile' | 'tablet' | 'smarttv' | 'console' | 'wearable' | 'embedded' | 'bot';
  /** 'Apple', 'Samsung', 'Google', ... where known */
  vendor?: string;
  /** 'iPhone', 'SM-G991B', 'Pixel 7', ... where known */
  model?: string;
  /** Where isbot's patterns match: crawlers, link-preview fetchers, monitors, HTTP libraries and CLIs. */
  isBot: boolean;
  /** ua-parser-js's cpu.architecture: 'amd64', 'arm64', 'ia32', 'arm', ... where known */
  cpu?: string;
}

/** User-agent parsing (docs/ua.md); synchronous, thread-safe, cached per thread. */
export namespace ua {
  /** Parse a User-Agent string (undefined/null parse as ''); a new object per call. */
  function parse(userAgent: string | undefined | null): UAResult;
  /** Parse many strings in one native call. */
  function parseMany(userAgents: readonly string[]): UAResult[];
  /** Counters of this thread's native cache. */
  function stats(): { hits: number; misses: number; capacity: number };
}

/** One tracking call, as events.format and EventLog.append take it. */
export interface TrackEvent {
  /** The path after /t/, e.g. 'app_open'. Required. */
  eventType: string;
  /** The raw query string without '?'; '' is written as 'e'. */
  query?: string;
  /** The request's Host header. */
  host?: string;
  /** Client address text, e.g. from events.clientIp(); written as hex. */
  ip?: string;
  /** The User-Agent header, written as is. */
  userAgent?: string;
  /** ISO country code from a geo lookup; '' or missing is written 'XX'. */
  country?: string;
  /** City name; '' or missing is written 'XX'. */
  city?: string;
  /** Epoch ms when the request arrived (ts=); default Date.now(). */
  receivedMs?: number;
  /** Epoch ms of processing (klag = processedMs - receivedMs); default now. */
  processedMs?: number;
}

/** Options of new events.EventLog(path). */
export interface EventLogOptions {
  /** Write a batch at this many events (default 500). */
  batchEvents?: number;
  /** ... or every this many ms (default 100). */
  batchMs?: number;
  /** Events buffered at most while the file fails; beyond, push throws HP_EUNAVAILABLE (default 1e6). */
  maxPending?: number;
  /** fsync after every batch (default), never, or at most every fsyncMs. */
  fsync?: 'none' | 'batch' | 'interval';
  /** With fsync 'interval': the longest time between two fsyncs (default 1000). */
  fsyncMs?: number;
  /** Rotate when the file would grow past this many bytes (0 = never, default). */
  rotateBytes?: number;
  /** Rotated files kept as PATH.1 .. PATH.N (default 5). */
  keepFiles?: number;
}

/** Options of events.EventLog.redis(url). */
export interface RedisEventLogOptions {
  /** RPUSH a batch at this many events (default 500). */
  batchEvents?: number;
  /** ... or every this many ms (default 100). */
  batchMs?: number;
  /** Events buffered at most during an outage; beyond, push throws HP_EUNAVAILABLE (default 1e6). */
  maxPending?: number;
  /** The list (default 'hotpath:events'). */
  key?: string;
  /** Batches pipelined at once (default 16). */
  maxInflight?: number;
  /** Longest wait for a connection before a retry (default 500). */
  connectTimeoutMs?: number;
  /** Longest wait for a reply before the batch is retried (default 2000). */
  commandTimeoutMs?: number;
}

/** Counters of an EventLog since it was opened. */
export interface EventLogStats {
  /** Events accepted by push/append. */
  appended: number;
  /** Events written to the file or list. */
  written: number;
  /** Events refused because maxPending was reached. */
  dropped: number;
  /** Events buffered, not yet written. */
  pending: number;
  /** Batches written. */
  batches: number;
  /** Failed writes (each is retried). */
  errors: number;
  /** File rotations. */
  rotations: number;
  /** The Redis client's figures for a Redis list; null for a file. */
  redis: RedisStats | null;
}

/** The tracker's event pipeline (docs/events.md). */
export namespace events {
  /** x-push-ip > first of x-forwarded-for > x-real-ip > remoteAddress. */
  function clientIp(headers: Record<string, string | string[] | undefined>, remoteAddress?: string | null): string | undefined;
  /** The seed's ip= value: '::ffff:172.17.0.1' -> 'ffffac110001'. Throws HP_EINVAL for a non-address. */
  function ipHex(ip: string): string;
  /** The consumer message 'eventType meta rawQuery' of the seed. */
  function format(event: TrackEvent): string;
  /** Appends consumer messages to a local log file in batches, without waiting. */
  class EventLog {
    /** Opens (creates) the file for appending; throws HP_EIO when it cannot. */
    constructor(path: string, options?: EventLogOptions);
    /** A batcher that RPUSHes batches to a Redis list. */
    static redis(url: string, options?: RedisEventLogOptions): EventLog;
    /** The file, for a file log. */
    readonly path?: string;
    /** The Redis URL, for a Redis log. */
    readonly url?: string;
    /** The Redis list, for a Redis log. */
    readonly key?: string;
    /** Append a ready-made message (one line). Throws HP_EUNAVAILABLE past maxPending, HP_ECLOSED after close(). */
    push(message: string): void;
    /** Format and append; returns the message length. */
    append(event: TrackEvent): number;
    /** Resolves once everything appended so far is written. */
    flush(options?: Abortable): Promise<void>;
    /** Counters since the log was opened. */
    stats(): EventLogStats;
    /** Writes what is buffered and closes the file (`signal` stops the wait, not the close). */
    close(options?: Abortable): Promise<void>;
    [Symbol.dispose](): void;
    [Symbol.asyncDispose](): Promise<void>;
  }
}
/** A flat, normalised enrichment (frozen); absent fields are missing. */
export interface GeoEnrichment {
  /** ISO 3166-1 alpha-2, 'GB' */
  countryCode?: string;
  /** English name, 'United Kingdom' */
  countryName?: string;
  /** 'EU' */
  continentCode?: string;
  /** 'Europe' */
  continentName?: string;
  /** First subdivision's ISO code, 'ENG' */
  subdivisionCode?: string;
  /** First subdivision's English name (state1 in DB-IP layouts) */
  subdivisionName?: string;
  /** English city name */
  city?: string;
  postalCode?: string;
  /** IANA time zone, 'Europe/London' */
  timeZone?: string;
  /** autonomous_system_organization */
  asOrg?: string;
  isp?: string;
  org?: string;
  latitude?: number;
  longitude?: number;
  /** Kilometres */
  accuracyRadius?: number;
  /** Autonomous system number */
  asn?: number;
  /** Prefix length of the network that matched in the primary database. */
  prefixLength: number;
}

/** lookupMany's columns, null where a field is absent. */
export type GeoColumns = {
  [K in Exclude<keyof GeoEnrichment, 'prefixLength'>]-?: Array<GeoEnrichment[K] | null>;
};

/** Metadata in the `maxmind` package's shape (fields as in the MaxMind DB spec). */
export interface GeoMetadata {
  binaryFormatMajorVersion: number;
  binaryFormatMinorVersion: number;
  buildEpoch: Date;
  databaseType: string;
  description: Record<string, string>;
  ipVersion: number;
  languages: string[];
  nodeByteSize: number;
  nodeCount: number;
  recordSize: number;
  searchTreeSize: number;
  treeDepth: number;
}

/** Options of new GeoReader(path). */
export interface GeoReaderOptions {
  /** More databases merged by lookup() (e.g. an ISP or ASN file). */
  extraPaths?: string[];
  /** Decoded records kept natively per database (0: 1048576). */
  cacheRecords?: number;
  /** JS objects kept for reuse (default 1000000; all are dropped when full). */
  cache?: { max?: number };
  /** Poll the files and reload on change (0: off). */
  watchIntervalMs?: number;
  /** Width of the IPv4 prefix table built at open, 16..24 (4 << bits bytes per
   *  database); 0 (default): 24 for a search tree of 2^20 nodes or more, else 16. */
  ipv4IndexBits?: number;
  /** Memory of the decoded records kept per database, in bytes (0: 512 MiB). */
  cacheBytes?: number;
  /** Budget of one record: bytes of string and bytes payload, a value reached
   *  through several pointers counting once per reference (0: 4 MiB). A record
   *  over it throws HP_ELIMIT. */
  maxRecordBytes?: number;
  /** Budget of one record: values produced, counted the same way (0: 65536). */
  maxRecordNodes?: number;
}

/**
 * Readers of one or more MaxMind DB files (docs/geo.md), memory-mapped.
 * Lookups are synchronous; an invalid IP string throws HP_EINVAL, an address
 * without a record gives null.
 */
export class GeoReader {
  /** Opens and indexes the files; throws HP_EIO (unreadable) or HP_ECORRUPT (not a MaxMind DB). */
  constructor(path: string, opts?: GeoReaderOptions);
  /** The full record of `ip` in the primary database, exactly as the `maxmind` package returns it, or null. */
  get<T = any>(ip: string): T | null;
  /** [record or null, prefix length of the network that matched]. */
  getWithPrefixLength<T = any>(ip: string): [T | null, number];
  /** The flat enrichment of `ip` merged from every database (frozen), or null when none has a record. */
  lookup(ip: string): GeoEnrichment | null;
  /** Enrichments of many addresses as columns in one native call; throws HP_EINVAL naming the first bad item. */
  lookupMany(ips: Iterable<string>): GeoColumns;
  /** Metadata of the primary database. */
  readonly metadata: GeoMetadata;
  /** Metadata of database `index` (0: primary, then extraPaths in order). */
  metadataOf(index?: number): GeoMetadata;
  /** The metadata map of database `index` as stored in the file. */
  rawMetadata(index?: number): Record<string, unknown>;
  /** Re-open every file and swap atomically; on failure throws and the old data stays in service. */
  reload(): void;
  /** Increases by one on every successful reload (starts at 1). */
  readonly generation: number;
  /** Counters: lookups, cache use, reloads (docs/observability.md). */
  stats(): GeoStats;
  /** Unmaps the files; later calls throw HP_ECLOSED. */
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of writeGeoDatabase(). */
export interface GeoWriterOptions {
  /** 6 (default) also places IPv4 networks under ::/96. */
  ipVersion?: 4 | 6;
  /** Bits per search-tree record; 0 (default) picks the smallest that fits. */
  recordSize?: 0 | 24 | 28 | 32;
  /** metadata.database_type (default 'hotpath'). */
  databaseType?: string;
  /** metadata.description.en */
  description?: string;
  /** metadata.languages */
  languages?: string[];
  /** Seconds since the epoch; default now. */
  buildEpoch?: number;
}

/** IP-geo enrichment (docs/geo.md). */
export namespace geo {
  export { GeoReader };
  /** As new GeoReader(path, opts), as a Promise (rejects with the HotpathError). */
  function open(path: string | Buffer, opts?: GeoReaderOptions & Abortable): Promise<GeoReader>;
  /** As the top-level writeGeoDatabase(). */
  function writeDatabase(path: string, entries: Iterable<[string, unknown]>, opts?: GeoWriterOptions): void;
}
/** As new GeoReader(path, opts), as a Promise (rejects with the HotpathError). */
export function openGeo(path: string | Buffer, opts?: GeoReaderOptions & Abortable): Promise<GeoReader>;
/**
 * Writes a MaxMind DB file from [network CIDR, record] pairs (records: JSON-like
 * values), replacing `path` atomically. Throws HP_EINVAL (bad network or value), HP_EIO.
 */
export function writeGeoDatabase(path: string, entries: Iterable<[string, unknown]>, opts?: GeoWriterOptions): void;
/** Counters of a recipe table. */
export interface RecipeStats {
  /** Live records. */
  size: number;
  /** Successful loads. */
  loads: number;
  /** Failed loads (the old table stayed). */
  loadFailures: number;
  /** Unix ms of the last successful load, 0 if none */
  lastLoadAt: number;
  /** Duration of the last load. */
  lastLoadMs: number;
  /** Unix ms the loaded file is current as of (its mtime unless given) */
  fileTimestamp: number;
  /** Size of the last loaded file (compressed if gzip). */
  fileBytes: number;
  /** Its JSON text's size. */
  jsonBytes: number;
  /** Native memory the table holds. */
  memoryBytes: number;
  /** Array items in the last file. */
  items: number;
  /** Items skipped: not an object, no key field, or a key of the wrong type. */
  skipped: number;
  /** Repeated keys (the last item wins). */
  duplicates: number;
  /** jsonFields strings that were not valid JSON (kept as strings). */
  embeddedErrors: number;
  /** Rules that could not be compiled. */
  ruleErrors: number;
  /** Point updates applied. */
  updatesApplied: number;
  /** Point updates ignored as older than the table's data. */
  updatesStale: number;
  /** Point updates kept on top of the file. */
  overlaySize: number;
}

/** The visitor a rule decision is about; values compare without case. */
export interface RecipeContext {
  country?: string;
  region?: string;
  city?: string;
  isp?: string;
  os?: string;
  browser?: string;
  deviceType?: string;
}

/** A rule decision: 'none' when the record has no such rules. */
export type RuleOutcome = 'none' | 'pass' | 'fail';

/** What RecipeTable.match() decides for a visitor. */
export interface RecipeMatch {
  /** Offer geo rules: 'pass' allowed, 'fail' blocked, 'none' no rules */
  geo: RuleOutcome;
  /** Campaign target rules: 'pass' the visitor matches, 'fail' not, 'none' no rules */
  target: RuleOutcome;
  /** Index of the target rule that decided, -1 if none */
  rule: number;
  /** The target rules' redirectTo, or null. */
  redirectTo: string | null;
}

/** A point update in the traffic seed's shape. */
export interface RecipePointUpdate {
  /** The table's updateType (default: its name). */
  type: string;
  /** The record's key. */
  id: number | string;
  action: 'updateOrCreate' | 'delete';
  /** Unix ms; now when omitted */
  timestamp?: number;
  /** The record as a JSON string (or an object) */
  body?: string | object;
}

/** One table of a Recipes set, keyed by one field (docs/recipes.md). */
export class RecipeTable<T = any> {
  readonly name: string;
  readonly keyType: 'int' | 'string';
  /**
   * Load (or reload) from a JSON array file, plain or gzip, off the event loop;
   * the new table replaces the old one atomically. Rejects with HP_EIO (cannot
   * read) or HP_ECORRUPT (byte offset and reason), leaving the old table.
   * `timestamp`: Unix ms the file is current as of (default its mtime).
   */
  load(path: string, options?: { timestamp?: number; wholeInflateMax?: number } & Abortable): Promise<RecipeStats>;
  /** A deeply frozen record, the same object until it changes; null when missing. */
  get(key: number | string): Readonly<T> | null;
  /** Whether the key exists. */
  has(key: number | string): boolean;
  /** The record's minified JSON text, or null. */
  json(key: number | string): string | null;
  /** Number of live records. */
  readonly size: number;
  /** Every live key, in no particular order. */
  keys(): Array<number | string>;
  /** [key, record] pairs of the keys present now. */
  entries(): IterableIterator<[number | string, Readonly<T>]>;
  /** The records present now. */
  values(): IterableIterator<Readonly<T>>;
  /** As entries(). */
  [Symbol.iterator](): IterableIterator<[number | string, Readonly<T>]>;
  /** The table's counters. */
  stats(): RecipeStats;
  /** Evaluate the record's compiled rules for a visitor without materialising it; null when the key is missing. */
  match(key: number | string, context?: RecipeContext): RecipeMatch | null;
  /**
   * Reload whenever `path` changes (fs events plus a size/mtime check every
   * intervalMs). `onReload` runs after each attempt; a vanished or broken file
   * gives an error and the old table stays. Keeps the process alive unless
   * `persistent: false`, like fs.watch.
   */
  watch(
    path: string,
    options?: { intervalMs?: number; debounceMs?: number; loadNow?: boolean; persistent?: boolean },
    onReload?: (err: HotpathError | null, stats: RecipeStats | null) => void,
  ): RecipeWatch;
}

/** A file watch of a recipe table; `using` stops it. */
export interface RecipeWatch {
  /** Stop watching; idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

/** A set of named recipe tables with live updates. */
export class Recipes {
  /** An empty set on the addon's engine (the event loop of this thread). */
  constructor();
  /**
   * Add a table keyed by the top-level field `key`. `jsonFields` are JSON
   * strings parsed once at load; `geoRulesField`/`targetRulesField` name the
   * rule fields match() evaluates. Throws HP_EINVAL for a duplicate name or bad options.
   */
  define<T = any>(
    name: string,
    options: {
      key: string;
      keyType?: 'int' | 'string';
      jsonFields?: string[];
      updateType?: string;
      geoRulesField?: string;
      targetRulesField?: string;
      /** Bytes of JSON one load may parse (gzip: inflated); 0: 1 GiB. Past it: HP_ELIMIT. */
      maxJsonBytes?: number;
      /** Array items of one file; 0: 16,777,216. */
      maxItems?: number;
      /** Bytes of one item, or of an update's body; 0: 16 MiB. */
      maxItemBytes?: number;
    },
  ): RecipeTable<T>;
  /** The table called `name`, or undefined. */
  table<T = any>(name: string): RecipeTable<T> | undefined;
  /**
   * Apply a point update (an object or its JSON text) to the table whose
   * updateType matches; 'stale' when the table holds newer data for that key.
   * Throws HP_EINVAL (bad message) or HP_ECORRUPT (body not a JSON object).
   */
  update(message: RecipePointUpdate | string): 'applied' | 'stale';
  /**
   * Apply every message of a Redis channel as a point update, on the engine
   * loop; resubscribes after Redis restarts. `onMessage` gets each message's
   * result (or its error). Stop it with the subscription's close() or close().
   */
  subscribe(
    url: string,
    channel: string,
    onMessage?: (err: HotpathError | null, result: 'applied' | 'stale' | null) => void,
  ): RecipeSubscription;
  subscribe(
    url: string,
    channel: string,
    /** maxMessageBytes: longer messages reach onMessage as HP_ELIMIT, unparsed (0: 1 MiB). */
    options?: { connectTimeoutMs?: number; reconnectMaxMs?: number; maxMessageBytes?: number },
    onMessage?: (err: HotpathError | null, result: 'applied' | 'stale' | null) => void,
  ): RecipeSubscription;
  /** Stop watches and subscriptions and free the tables; later calls throw HP_ECLOSED. */
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A Redis pub/sub subscription of a recipe set; `using` unsubscribes. */
export interface RecipeSubscription {
  /** Unsubscribe; idempotent. */
  close(): void;
  [Symbol.dispose](): void;
  /** Messages received, applied, ignored as stale, and rejected; resyncs:
   *  reconnects after which every table reloaded its file; the Redis
   *  client's figures. */
  stats(): { messages: number; applied: number; stale: number; errors: number; resyncs: number; redis: RedisStats };
}

/** Recipe tables (docs/recipes.md). */
export namespace recipes {
  export { Recipes, RecipeTable };
  /** The visitor dimensions target rules may test: 'country', 'region', ... */
  const DIMENSIONS: readonly string[];
}

/** Options of openLimiter(). */
export interface LimiterOptions {
  /** Longest wait for the backend before HP_EUNAVAILABLE (default 200). */
  timeoutMs?: number;
  /** Namespace of keys and rows (default 'hp:lim'). */
  prefix?: string;
  /** SQLite: run async checks on the calling thread instead of the libuv thread pool. */
  sqliteInline?: boolean;
  /**
   * Redis rate limits: 0 (default) decides every hit in Redis (GCRA). N > 0: a key
   * counts `rate` hits per fixed window of `periodMs` (server clock); this process
   * leases blocks of up to N of a window's hits with one script call and decides hits
   * from them without a round trip. All processes together never exceed the limit;
   * the cost is early denials while others hold unused hits (docs/limits.md).
   */
  localBudget?: number;
  /** Local budgets: how long unused hits stay in this process before they go back (default 100). */
  localHoldMs?: number;
}

/** One live lease of a subject. */
export interface LeaseInfo {
  resource: string;
  /** Fencing token: grows with every grant to a subject. */
  leaseId: number;
  /** Time left before the lease expires without a renew. */
  expiresInMs: number;
}

/** What acquire() answers; a denial is a result, not an error. */
export interface LeaseResult {
  /**
   * 'already_held': the subject held the resource; no slot was used and its TTL was extended.
   * 'not_member': a membership in `require` was missing; nothing was taken.
   */
  status: 'granted' | 'already_held' | 'denied' | 'not_member';
  /** granted or already_held */
  ok: boolean;
  /** Leases the subject holds after the call. */
  count: number;
  /** 0 when denied. */
  leaseId: number;
  /** The subject's leases, when denied. */
  holders?: LeaseInfo[];
  /** When not_member: the index in `require` of the first membership missing. */
  missing?: number;
}

/** A membership an acquire requires: `member` in the named set `set` (setAdd). */
export interface LeaseRequirement {
  set: string;
  member: string;
}

/** Options of acquire(). */
export interface LeaseOptions extends Abortable {
  /** Leases a subject may hold at once (at least 1). */
  limit: number;
  /** Lease lifetime without a renew (default 60000). `ttl` is an alias. */
  ttlMs?: number;
  /** Alias of ttlMs. */
  ttl?: number;
  /**
   * Memberships checked in the same atomic step as the acquire (at most 8);
   * one missing answers status 'not_member' and takes nothing.
   */
  require?: LeaseRequirement[];
}

/** Options of hit(): a GCRA rate limit. */
export interface RateOptions extends Abortable {
  /** Hits per period. */
  rate: number;
  /** Default 1000. `period` is an alias. */
  periodMs?: number;
  /** Alias of periodMs. */
  period?: number;
  /** Most hits at once (default rate). */
  burst?: number;
  /** Hits this call uses (default 1; 0 only reads). */
  cost?: number;
}

/** What hit() answers; a denial is a result, not an error. */
export interface RateResult {
  allowed: boolean;
  /** Hits still allowed now. */
  remaining: number;
  /** When denied: the wait before this hit would pass; 0 when allowed. */
  retryAfterMs: number;
  /** Until a full burst is available again. */
  resetAfterMs: number;
}

/**
 * Concurrency leases and GCRA rate limits on one backend (docs/limits.md).
 * Every check is atomic. Promises reject with HP_EUNAVAILABLE when the backend
 * does not answer within timeoutMs. *Sync methods work on every backend, but a
 * Redis limiter refuses them on the JS thread (HP_EINVAL, "would block the
 * engine loop": that thread runs the loop the answer comes through).
 */
export class Limiter {
  /** As openLimiter(); throws HP_EINVAL for a bad spec, HP_EIO for an unusable SQLite file. */
  constructor(spec: string, options?: LimiterOptions);
  /** The spec it was opened with. */
  readonly spec: string;
  /** Which backend the spec chose. */
  readonly backend: 'memory' | 'sqlite' | 'redis';
  /** Counters: checks and their outcomes, backend failures (docs/observability.md). */
  stats(): LimiterStats;
  /** Take a slot for `resource` unless `subject` already holds `limit` leases. */
  acquire(subject: string, resource: string, options: LeaseOptions): Promise<LeaseResult>;
  /** Synchronous acquire (memory and SQLite; Redis refuses it on the JS thread). */
  acquireSync(subject: string, resource: string, options: LeaseOptions): LeaseResult;
  /** Give a lease back: true if it was held. */
  release(subject: string, resource: string, options?: Abortable): Promise<boolean>;
  /** Synchronous release (memory and SQLite; Redis refuses it on the JS thread). */
  releaseSync(subject: string, resource: string): boolean;
  /** Extend a lease to expire ttlMs (a number, or the option) from now: false if it had expired. */
  renew(subject: string, resource: string, options?: number | ({ ttlMs?: number; ttl?: number } & Abortable)): Promise<boolean>;
  /** Synchronous renew (memory and SQLite; Redis refuses it on the JS thread). */
  renewSync(subject: string, resource: string, options?: number | { ttlMs?: number; ttl?: number }): boolean;
  /** The subject's live leases, oldest grant first. */
  holders(subject: string, options?: Abortable): Promise<LeaseInfo[]>;
  /** Synchronous holders (memory and SQLite; Redis refuses it on the JS thread). */
  holdersSync(subject: string): LeaseInfo[];
  /** One GCRA hit on `key`; a cost over the burst throws HP_EINVAL. */
  hit(key: string, options: RateOptions): Promise<RateResult>;
  /** Synchronous hit (memory and SQLite; Redis refuses it on the JS thread). */
  hitSync(key: string, options: RateOptions): RateResult;
  /**
   * A hit decided here and now, or null when it needs the backend (then use hit()):
   * memory and SQLite always decide; Redis decides from its localBudget's hits in hand.
   */
  hitLocal(key: string, options: RateOptions): RateResult | null;
  /** Add a member to a named set kept in the same backend: true if it was new. */
  setAdd(set: string, member: string, options?: Abortable): Promise<boolean>;
  /** Whether a member is in a named set. */
  setHas(set: string, member: string, options?: Abortable): Promise<boolean>;
  /** Resolves when the backend answers; rejects with HP_EUNAVAILABLE. */
  ping(options?: Abortable): Promise<void>;
  /** Frees the limiter; Redis calls not yet answered reject with HP_ECLOSED. */
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Concurrency leases and rate limits (docs/limits.md). */
export namespace limits {
  export { Limiter };
  /** As the top-level openLimiter(). */
  export function openLimiter(spec: string, options?: LimiterOptions): Limiter;
}

/** 'memory:', 'sqlite:/path/file.db', 'redis://[[user]:pass@]host:port/db', 'redis+cluster://host:port,...' or 'unix:///path/redis.sock' (docs/redis.md). */
export function openLimiter(spec: string, options?: LimiterOptions): Limiter;

/** Options of blobs.open(). */
export interface BlobStoreOptions {
  /** Default chunk size of new files in bytes (default 261120, at most 16 MiB). */
  chunkSize?: number;
  /** Longest wait for the backend before HP_EUNAVAILABLE (0: 2000 ms). */
  timeoutMs?: number;
  /** Namespace of Redis keys (default 'hp:blobs'). */
  prefix?: string;
  /** Redis: an upload silent for this long counts as crashed (0: 10 minutes). */
  leaseMs?: number;
  /**
   * SQLite: a commit survives a power loss, not only a crash (chunk files
   * and the WAL synced before it returns; docs/blobs.md gives the cost).
   * Default false. A Redis store throws HP_EINVAL.
   */
  durable?: boolean;
}

/** A committed file. */
export interface BlobFile {
  /** 24 lowercase hex digits, unique per file. */
  id: string;
  filename: string;
  /** Bytes. */
  length: number;
  chunkSize: number;
  /** Commit time. */
  uploadDate: Date;
  contentType: string;
  /** 64 lowercase hex digits of the content; null when written with `sha256: false`. */
  sha256: string | null;
  /** The user metadata given at write time ({} when none). */
  metadata: unknown;
  /** 0 for the first revision of the filename, 1 for the next, ... */
  revision: number;
}

/** A file: a filename (its latest revision unless `revision` says) or an id, e.g. a BlobFile. */
export type BlobRef = string | { id: string };

export interface BlobWriteOptions extends Abortable {
  /** Default 'application/octet-stream'; at most 255 bytes. */
  contentType?: string;
  /** Any JSON-serialisable value, kept with the file (at most 1 MiB as JSON). */
  metadata?: unknown;
  /** Chunk size of this file (default the store's). */
  chunkSize?: number;
  /**
   * Compute the file's SHA-256 (default true). One SHA-256 stream runs on
   * one core (about 1.8 GB/s with SHA instructions); false skips it for the
   * fastest large writes. Chunks keep their CRC32C either way.
   */
  sha256?: boolean;
  /**
   * Memory for chunks on their way to the store (default 4 MiB, at least two
   * chunks): deeper keeps hashing and storing busy on fast input; a network
   * upload, slower than the store, needs less.
   */
  bufferBytes?: number;
  /** Bytes the stream buffers before write() returns false (default 64 KiB). */
  highWaterMark?: number;
}

export interface BlobReadOptions extends Abortable {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive as in fs.createReadStream (default the end of the file). */
  end?: number;
  /** With a filename: -1 the latest (default), -2 the one before; 0 the first, 1 the second. */
  revision?: number;
  /** Bytes the stream buffers ahead (default 64 KiB). */
  highWaterMark?: number;
  /**
   * Bytes per read of a read stream: each read fills one Buffer with the
   * whole chunks that fit (default 1 MiB; at least one chunk per Buffer).
   */
  readSize?: number;
}

export interface BlobListOptions extends Abortable {
  /** Only filenames starting with this. */
  prefix?: string;
  /** The `cursor` of the previous page. */
  cursor?: string | null;
  /** Files per page, 1..10000 (default 100). */
  limit?: number;
  /** Only the latest revision of each filename (default: every revision). */
  latestOnly?: boolean;
}

/**
 * A Writable storing a new file. A write's callback runs once the store took
 * the bytes (backpressure), ending commits the file atomically and destroying
 * before that aborts it: nothing of an aborted upload is ever visible.
 */
export class BlobWriteStream extends Writable {
  /** The id the file gets at commit. */
  readonly id: string;
  readonly filename: string;
  /** The committed file, after 'finish'; null before. */
  readonly file: BlobFile | null;
}

/**
 * A Readable of a file or a byte range of it. Emits 'file' (BlobFile) before
 * the first byte; errors with HotpathError HP_ENOTFOUND for a missing file and
 * HP_ECORRUPT (file id and chunk index in the message) for a damaged chunk.
 */
export class BlobReadStream extends Readable {
  /** The file being read, once open; null before. */
  readonly file: BlobFile | null;
}

/** Chunked file storage on SQLite (one host) or Redis (many hosts). */
export class BlobStore {
  constructor(spec: string, options?: BlobStoreOptions);
  readonly spec: string;
  readonly backend: 'sqlite' | 'redis';
  /** Default chunk size of new files in bytes. */
  readonly chunkSize: number;
  /** Counters: bytes in and out, commits, corrupt reads (docs/observability.md). */
  stats(): BlobStoreStats;
  createWriteStream(filename: string, options?: BlobWriteOptions): BlobWriteStream;
  createReadStream(file: BlobRef, options?: BlobReadOptions): BlobReadStream;
  /** Store a whole buffer (or string) as a new file. `data` must not change until the promise settles. */
  put(filename: string, data: ArrayBufferView | string, options?: BlobWriteOptions): Promise<BlobFile>;
  /** A whole file or a range of it; rejects with HP_ENOTFOUND. */
  get(file: BlobRef, options?: BlobReadOptions): Promise<Buffer>;
  /** A file's metadata, or null when there is no such file. */
  stat(file: BlobRef, options?: { revision?: number } & Abortable): Promise<BlobFile | null>;
  exists(file: BlobRef, options?: { revision?: number } & Abortable): Promise<boolean>;
  /** One page of files ordered by filename then revision; cursor is null on the last page. */
  list(options?: BlobListOptions): Promise<{ files: BlobFile[]; cursor: string | null }>;
  /** Every file, page after page. */
  files(options?: Omit<BlobListOptions, 'cursor'>): AsyncIterableIterator<BlobFile>;
  /** Delete one file ({id}) or every revision of a filename (string): resolves with the count deleted. */
  delete(file: BlobRef, options?: Abortable): Promise<number>;
  /** Reclaim the chunks of uploads that will never commit: resolves with their count. */
  gc(options?: Abortable): Promise<number>;
  /** Streams already open keep working until they end. */
  close(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export namespace blobs {
  export { BlobStore, BlobWriteStream, BlobReadStream };
  /** 'sqlite:/path/store.db' or a Redis URL: 'redis://host:port/db', 'redis+cluster://host:port,...', 'unix:///path' (docs/redis.md). */
  export function open(spec: string, options?: BlobStoreOptions): BlobStore;
  /**
   * Give a Buffer's memory back now (its ArrayBuffer is detached: every view
   * of it becomes empty) instead of at a later garbage collection. Only for
   * a Buffer that spans its whole ArrayBuffer and that nothing else still
   * reads; false (and left alone) for a view of part of one.
   */
  export function releaseBuffer(buf: ArrayBufferView): boolean;
  /** `revision` of the latest revision. */
  export const LATEST: -1;
  export const DEFAULT_CHUNK_SIZE: 261120;
}

/** 'sqlite:/path/store.db' or a Redis URL: 'redis://host:port/db', 'redis+cluster://host:port,...', 'unix:///path' (docs/redis.md). */
export function openBlobs(spec: string, options?: BlobStoreOptions): BlobStore;

/** The figures of a handle's Redis client (docs/observability.md). */
export interface RedisStats {
  /** Commands written to the server. */
  commands: number;
  /** Commands waiting for their reply now. */
  inFlight: number;
  /** Connects, replies and keepalive PINGs that did not come in time. */
  timeouts: number;
  /** Established connections that were lost. */
  disconnects: number;
  /** Connections established again after one was lost. */
  reconnects: number;
  /** Connections up now (a cluster has one per master). */
  connected: number;
}

/** GeoReader.stats(). */
export interface GeoStats {
  /** Addresses looked up (get, lookup, lookupMany: each address). */
  lookups: number;
  /** Records served from the decoded-record cache. */
  cacheHits: number;
  /** Records decoded on the call (first use, or a full cache). */
  cacheMisses: number;
  /** Successful reloads (watched or reload()). */
  reloads: number;
  /** Failed reloads; the old data stayed in service. */
  reloadFailures: number;
  generation: number;
  /** Time (ms since the epoch) of the latest reload attempt, or null. */
  lastReloadAt: number | null;
  /** Why the latest reload attempt failed; null when it succeeded or there was none. */
  lastReloadError: { code: ErrorCode; message: string } | null;
}

/** Limiter.stats(). */
export interface LimiterStats {
  /** Acquires and hits that reached the backend. */
  checks: number;
  /** Of them, acquires granted (or already held) and hits allowed. */
  granted: number;
  /** Of them, acquires and hits denied. */
  denied: number;
  /** Calls of any kind the backend failed (HP_EUNAVAILABLE, HP_EIO, ...). */
  storeErrors: number;
  /** The Redis client's figures; null for memory and SQLite. */
  redis: RedisStats | null;
}

/** BlobStore.stats(). */
export interface BlobStoreStats {
  /** Bytes of the files committed. */
  bytesIn: number;
  /** Bytes handed to readers. */
  bytesOut: number;
  /** Files committed. */
  commits: number;
  /** Reads that failed HP_ECORRUPT. */
  corruptReads: number;
  /** The Redis client's figures; null for SQLite. */
  redis: RedisStats | null;
}

/** A message on the diagnostics_channel channels of `diagnostics.channels`. */
export interface HotpathDiagnosticEvent {
  kind: 'reload' | 'reload_failed' | 'redis_disconnect' | 'redis_reconnect' | 'error';
  handle: 'geo' | 'recipes' | 'limiter' | 'blobs' | 'events';
  ok: boolean;
  /** The error code of a failure, else null. */
  code: ErrorCode | null;
  message: string;
  /** The file, Redis address or channel concerned ('' when none). */
  source: string;
  /** A HotpathError for a failure, else null. */
  error: HotpathError | null;
}

/** Background events on diagnostics_channel (docs/observability.md). */
export namespace diagnostics {
  const channels: {
    readonly geoReload: 'hotpath:geo:reload';
    readonly recipesReload: 'hotpath:recipes:reload';
    readonly redisDisconnect: 'hotpath:redis:disconnect';
    readonly redisReconnect: 'hotpath:redis:reconnect';
    readonly error: 'hotpath:error';
  };
}
