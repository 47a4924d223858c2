// Types of the hotpath Node package.

import { Readable, Writable } from 'stream';

/** Every error hotpath raises; `code` names the C error ('HP_ENOTFOUND'). */
export class HotpathError extends Error {
  readonly code: ErrorCode;
  /** The C library's negative code, e.g. -2 for HP_ENOTFOUND. */
  readonly errno: number;
}

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
  | 'HP_EINTERNAL';

/** The library's version, "MAJOR.MINOR.PATCH". */
export const version: string;
/** Error names and their negative numbers, from the C library's table. */
export const codes: Readonly<Record<ErrorCode, number>>;

/** FarmHash Fingerprint32, identical to the `farmhash` package's (strings hash as UTF-8). */
export function fingerprint32(input: string | Uint8Array): number;
/** Fingerprint32 of many strings in one native call. */
export function fingerprint32Many(inputs: readonly string[]): Uint32Array;

export namespace sticky {
  type Mode = 'modulo' | 'jump';
  function fingerprint32(input: string | Uint8Array): number;
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
  freeMem: number;
  totalMem: number;
  usedMem: number;
  /** usedMem / totalMem, 0..1 */
  memUsage: number;
  /** As os.type(): 'Linux' */
  osType: string;
  /** Seconds since boot */
  upTime: number;
  cpuModel: string;
  numCores: number;
  /** MHz */
  cpuSpeed: number;
  /** MAC of the first non-internal interface, '' when none */
  macA: string;
  /** Percent busy over the sample window (only from sample()) */
  cpuLoad?: number;
}

export namespace host {
  /** Metrics now, without cpuLoad. */
  function snapshot(): HostInfo;
  /** Metrics with cpuLoad measured over windowMs (default 100) on the event loop. */
  function sample(options?: { windowMs?: number }): Promise<HostInfo>;
}

/** What ua.parse returns. Names follow ua-parser-js; unknown fields are undefined. */
export interface UAResult {
  /** 'Chrome', 'Mobile Safari', 'Firefox', 'Edge', 'Samsung Internet', ... */
  browser?: string;
  browserVersion?: string;
  /** 'Blink', 'WebKit', 'Gecko', 'Trident', 'EdgeHTML', 'Presto' */
  engine?: string;
  engineVersion?: string;
  /** 'Windows', 'Mac OS', 'iOS', 'Android', 'Linux', 'Chromium OS', ... */
  os?: string;
  osVersion?: string;
  /** ua-parser-js leaves desktops untyped; here they are 'desktop'. */
  deviceType: 'desktop' | 'mobile' | 'tablet' | 'smarttv' | 'console' | 'wearable' | 'embedded' | 'bot';
  /** 'Apple', 'Samsung', 'Google', ... where known */
  vendor?: string;
  /** 'iPhone', 'SM-G991B', 'Pixel 7', ... where known */
  model?: string;
  /** Crawlers, link-preview fetchers, monitors, HTTP libraries and CLIs. */
  isBot: boolean;
}

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

export interface EventLogOptions {
  /** Write a batch at this many events (default 500). */
  batchEvents?: number;
  /** ... or every this many ms (default 100). */
  batchMs?: number;
  /** Events buffered at most while the file fails; beyond, push throws HP_EUNAVAILABLE (default 1e6). */
  maxPending?: number;
  /** fsync after every batch (default), never, or at most every fsyncMs. */
  fsync?: 'none' | 'batch' | 'interval';
  fsyncMs?: number;
  /** Rotate when the file would grow past this many bytes (0 = never, default). */
  rotateBytes?: number;
  /** Rotated files kept as PATH.1 .. PATH.N (default 5). */
  keepFiles?: number;
}

export interface RedisEventLogOptions {
  batchEvents?: number;
  batchMs?: number;
  /** Events buffered at most during an outage; beyond, push throws HP_EUNAVAILABLE (default 1e6). */
  maxPending?: number;
  /** The list (default 'hotpath:events'). */
  key?: string;
  /** Batches pipelined at once (default 16). */
  maxInflight?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

export interface EventLogStats {
  appended: number;
  written: number;
  dropped: number;
  pending: number;
  batches: number;
  errors: number;
  rotations: number;
}

export namespace events {
  /** x-push-ip > first of x-forwarded-for > x-real-ip > remoteAddress. */
  function clientIp(headers: Record<string, string | string[] | undefined>, remoteAddress?: string | null): string | undefined;
  /** The seed's ip= value: '::ffff:172.17.0.1' -> 'ffffac110001'. Throws HP_EINVAL for a non-address. */
  function ipHex(ip: string): string;
  /** The consumer message 'eventType meta rawQuery' of the seed. */
  function format(event: TrackEvent): string;
  /** Appends consumer messages to a local log file in batches, without waiting. */
  class EventLog {
    constructor(path: string, options?: EventLogOptions);
    /** A batcher that RPUSHes batches to a Redis list. */
    static redis(url: string, options?: RedisEventLogOptions): EventLog;
    readonly path?: string;
    readonly url?: string;
    readonly key?: string;
    /** Append a ready-made message (one line). */
    push(message: string): void;
    /** Format and append; returns the message length. */
    append(event: TrackEvent): number;
    /** Resolves once everything appended so far is written. */
    flush(): Promise<void>;
    stats(): EventLogStats;
    /** Writes what is buffered and closes the file. */
    close(): Promise<void>;
  }
}
/** A flat, normalised enrichment (frozen); absent fields are missing. */
export interface GeoEnrichment {
  countryCode?: string;
  countryName?: string;
  continentCode?: string;
  continentName?: string;
  subdivisionCode?: string;
  subdivisionName?: string;
  city?: string;
  postalCode?: string;
  timeZone?: string;
  asOrg?: string;
  isp?: string;
  org?: string;
  latitude?: number;
  longitude?: number;
  accuracyRadius?: number;
  asn?: number;
  prefixLength: number;
}

/** lookupMany's columns, null where a field is absent. */
export type GeoColumns = {
  [K in Exclude<keyof GeoEnrichment, 'prefixLength'>]-?: Array<GeoEnrichment[K] | null>;
};

/** Metadata in the `maxmind` package's shape. */
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
}

export class GeoReader {
  constructor(path: string, opts?: GeoReaderOptions);
  get<T = any>(ip: string): T | null;
  getWithPrefixLength<T = any>(ip: string): [T | null, number];
  lookup(ip: string): GeoEnrichment | null;
  lookupMany(ips: Iterable<string>): GeoColumns;
  readonly metadata: GeoMetadata;
  metadataOf(index?: number): GeoMetadata;
  rawMetadata(index?: number): Record<string, unknown>;
  reload(): void;
  readonly generation: number;
  close(): void;
}

export interface GeoWriterOptions {
  ipVersion?: 4 | 6;
  recordSize?: 0 | 24 | 28 | 32;
  databaseType?: string;
  description?: string;
  languages?: string[];
  buildEpoch?: number;
}

export namespace geo {
  export { GeoReader };
  function open(path: string, opts?: GeoReaderOptions): Promise<GeoReader>;
  function writeDatabase(path: string, entries: Iterable<[string, unknown]>, opts?: GeoWriterOptions): void;
}
export function openGeo(path: string, opts?: GeoReaderOptions): Promise<GeoReader>;
export function writeGeoDatabase(path: string, entries: Iterable<[string, unknown]>, opts?: GeoWriterOptions): void;
/** Counters of a recipe table. */
export interface RecipeStats {
  size: number;
  loads: number;
  loadFailures: number;
  /** Unix ms of the last successful load, 0 if none */
  lastLoadAt: number;
  lastLoadMs: number;
  /** Unix ms the loaded file is current as of (its mtime unless given) */
  fileTimestamp: number;
  fileBytes: number;
  jsonBytes: number;
  memoryBytes: number;
  items: number;
  skipped: number;
  duplicates: number;
  embeddedErrors: number;
  ruleErrors: number;
  updatesApplied: number;
  updatesStale: number;
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

export type RuleOutcome = 'none' | 'pass' | 'fail';

export interface RecipeMatch {
  /** Offer geo rules: 'pass' allowed, 'fail' blocked, 'none' no rules */
  geo: RuleOutcome;
  /** Campaign target rules: 'pass' the visitor matches, 'fail' not, 'none' no rules */
  target: RuleOutcome;
  /** Index of the target rule that decided, -1 if none */
  rule: number;
  redirectTo: string | null;
}

export interface RecipePointUpdate {
  type: string;
  id: number | string;
  action: 'updateOrCreate' | 'delete';
  /** Unix ms; now when omitted */
  timestamp?: number;
  /** The record as a JSON string (or an object) */
  body?: string | object;
}

export class RecipeTable<T = any> {
  readonly name: string;
  readonly keyType: 'int' | 'string';
  load(path: string, options?: { timestamp?: number; wholeInflateMax?: number }): Promise<RecipeStats>;
  /** A deeply frozen record, the same object until it changes; null when missing. */
  get(key: number | string): Readonly<T> | null;
  has(key: number | string): boolean;
  json(key: number | string): string | null;
  readonly size: number;
  keys(): Array<number | string>;
  entries(): IterableIterator<[number | string, Readonly<T>]>;
  values(): IterableIterator<Readonly<T>>;
  [Symbol.iterator](): IterableIterator<[number | string, Readonly<T>]>;
  stats(): RecipeStats;
  match(key: number | string, context?: RecipeContext): RecipeMatch | null;
  watch(
    path: string,
    options?: { intervalMs?: number; debounceMs?: number; loadNow?: boolean; persistent?: boolean },
    onReload?: (err: HotpathError | null, stats: RecipeStats | null) => void,
  ): { close(): void };
}

/** A set of named recipe tables with live updates. */
export class Recipes {
  constructor();
  define<T = any>(
    name: string,
    options: {
      key: string;
      keyType?: 'int' | 'string';
      jsonFields?: string[];
      updateType?: string;
      geoRulesField?: string;
      targetRulesField?: string;
    },
  ): RecipeTable<T>;
  table<T = any>(name: string): RecipeTable<T> | undefined;
  update(message: RecipePointUpdate | string): 'applied' | 'stale';
  close(): void;
}

export namespace recipes {
  export { Recipes, RecipeTable };
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
}

export interface LeaseInfo {
  resource: string;
  /** Fencing token: grows with every grant to a subject. */
  leaseId: number;
  expiresInMs: number;
}

export interface LeaseResult {
  status: 'granted' | 'already_held' | 'denied';
  /** granted or already_held */
  ok: boolean;
  /** Leases the subject holds after the call. */
  count: number;
  /** 0 when denied. */
  leaseId: number;
  /** The subject's leases, when denied. */
  holders?: LeaseInfo[];
}

export interface LeaseOptions {
  limit: number;
  /** Lease lifetime without a renew (default 60000). `ttl` is an alias. */
  ttlMs?: number;
  ttl?: number;
}

export interface RateOptions {
  /** Hits per period. */
  rate: number;
  /** Default 1000. `period` is an alias. */
  periodMs?: number;
  period?: number;
  /** Most hits at once (default rate). */
  burst?: number;
  /** Hits this call uses (default 1; 0 only reads). */
  cost?: number;
}

export interface RateResult {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
  resetAfterMs: number;
}

export class Limiter {
  constructor(spec: string, options?: LimiterOptions);
  readonly spec: string;
  readonly backend: 'memory' | 'sqlite' | 'redis';
  acquire(subject: string, resource: string, options: LeaseOptions): Promise<LeaseResult>;
  acquireSync(subject: string, resource: string, options: LeaseOptions): LeaseResult;
  release(subject: string, resource: string): Promise<boolean>;
  releaseSync(subject: string, resource: string): boolean;
  renew(subject: string, resource: string, options?: number | { ttlMs?: number; ttl?: number }): Promise<boolean>;
  renewSync(subject: string, resource: string, options?: number | { ttlMs?: number; ttl?: number }): boolean;
  holders(subject: string): Promise<LeaseInfo[]>;
  holdersSync(subject: string): LeaseInfo[];
  hit(key: string, options: RateOptions): Promise<RateResult>;
  hitSync(key: string, options: RateOptions): RateResult;
  setAdd(set: string, member: string): Promise<boolean>;
  setHas(set: string, member: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): void;
}

export namespace limits {
  export { Limiter };
  export function openLimiter(spec: string, options?: LimiterOptions): Limiter;
}

/** 'memory:', 'sqlite:/path/file.db' or 'redis://host:port/db'. */
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
  /** 64 lowercase hex digits of the content. */
  sha256: string;
  /** The user metadata given at write time ({} when none). */
  metadata: unknown;
  /** 0 for the first revision of the filename, 1 for the next, ... */
  revision: number;
}

/** A file: a filename (its latest revision unless `revision` says) or an id, e.g. a BlobFile. */
export type BlobRef = string | { id: string };

export interface BlobWriteOptions {
  /** Default 'application/octet-stream'; at most 255 bytes. */
  contentType?: string;
  /** Any JSON-serialisable value, kept with the file (at most 1 MiB as JSON). */
  metadata?: unknown;
  /** Chunk size of this file (default the store's). */
  chunkSize?: number;
  /** Bytes the stream buffers before write() returns false (default 64 KiB). */
  highWaterMark?: number;
}

export interface BlobReadOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive as in fs.createReadStream (default the end of the file). */
  end?: number;
  /** With a filename: -1 the latest (default), -2 the one before; 0 the first, 1 the second. */
  revision?: number;
  /** Bytes the stream buffers ahead (default 64 KiB). */
  highWaterMark?: number;
}

export interface BlobListOptions {
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
  createWriteStream(filename: string, options?: BlobWriteOptions): BlobWriteStream;
  createReadStream(file: BlobRef, options?: BlobReadOptions): BlobReadStream;
  /** Store a whole buffer (or string) as a new file. */
  put(filename: string, data: ArrayBufferView | string, options?: BlobWriteOptions): Promise<BlobFile>;
  /** A whole file or a range of it; rejects with HP_ENOTFOUND. */
  get(file: BlobRef, options?: BlobReadOptions): Promise<Buffer>;
  /** A file's metadata, or null when there is no such file. */
  stat(file: BlobRef, options?: { revision?: number }): Promise<BlobFile | null>;
  exists(file: BlobRef, options?: { revision?: number }): Promise<boolean>;
  /** One page of files ordered by filename then revision; cursor is null on the last page. */
  list(options?: BlobListOptions): Promise<{ files: BlobFile[]; cursor: string | null }>;
  /** Every file, page after page. */
  files(options?: Omit<BlobListOptions, 'cursor'>): AsyncIterableIterator<BlobFile>;
  /** Delete one file ({id}) or every revision of a filename (string): resolves with the count deleted. */
  delete(file: BlobRef): Promise<number>;
  /** Reclaim the chunks of uploads that will never commit: resolves with their count. */
  gc(): Promise<number>;
  /** Streams already open keep working until they end. */
  close(): void;
}

export namespace blobs {
  export { BlobStore, BlobWriteStream, BlobReadStream };
  /** 'sqlite:/path/store.db' or 'redis://host:port/db'. */
  export function open(spec: string, options?: BlobStoreOptions): BlobStore;
  /** `revision` of the latest revision. */
  export const LATEST: -1;
  export const DEFAULT_CHUNK_SIZE: 261120;
}

/** 'sqlite:/path/store.db' or 'redis://host:port/db'. */
export function openBlobs(spec: string, options?: BlobStoreOptions): BlobStore;
