// Types of require('hotpath/maxmind'), a drop-in for the `maxmind` package.
import type { GeoEnrichment, GeoMetadata } from './index';

export interface OpenOpts {
  cache?: { max?: number };
  watchForUpdates?: boolean;
  watchForUpdatesNonPersistent?: boolean;
}

export class Reader<T = any> {
  get(ip: string): T | null;
  getWithPrefixLength(ip: string): [T | null, number];
  readonly metadata: GeoMetadata;
  lookup(ip: string): GeoEnrichment | null;
  close(): void;
}

export function open<T = any>(path: string, opts?: OpenOpts): Promise<Reader<T>>;
export function validate(ip: string): boolean;
declare const _default: { open: typeof open; validate: typeof validate };
export default _default;
