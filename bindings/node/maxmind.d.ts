// Types of require('hotpath/maxmind'), a drop-in for the `maxmind` package.
import type { GeoEnrichment, GeoMetadata } from './index';

/** The `maxmind` package's open() options. */
export interface OpenOpts {
  /** Records kept as JS objects (default 1000000). */
  cache?: { max?: number };
  /** Reload when the file changes (checked every second). */
  watchForUpdates?: boolean;
  /** Accepted for compatibility; it changes nothing here. */
  watchForUpdatesNonPersistent?: boolean;
}

/** A database reader with the `maxmind` package's Reader API. */
export class Reader<T = any> {
  /** The record of `ip`, or null; an invalid IP string throws HP_EINVAL (maxmind 5 differs here). */
  get(ip: string): T | null;
  /** [record or null, prefix length]. */
  getWithPrefixLength(ip: string): [T | null, number];
  /** The database's metadata. */
  readonly metadata: GeoMetadata;
  /** hotpath's flat enrichment of `ip` (see GeoReader.lookup), or null. */
  lookup(ip: string): GeoEnrichment | null;
  /** Unmaps the file and stops a watch. */
  close(): void;
}

/** Opens a .mmdb file; rejects with HP_EIO or HP_ECORRUPT. */
export function open<T = any>(path: string, opts?: OpenOpts): Promise<Reader<T>>;
/** Whether `ip` is a valid IPv4 or IPv6 address. */
export function validate(ip: string): boolean;
/** The module as a default export, like the `maxmind` package's. */
declare const _default: { open: typeof open; validate: typeof validate };
export default _default;
