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
