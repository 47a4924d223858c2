// Types of the hotpath Node package.

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
