// Types of require('hotpath/maxmind'), a drop-in for the `maxmind` package.
import type { GeoEnrichment, GeoMetadata } from './index';

/** The `maxmind` package's open() options. */
export interface OpenOpts {
  /** Records kept as JS objects (default 1000000). */
  cache?: { max?: number };
  /** Reload when the file changes (fs.watchFile, as maxmind does). */
  watchForUpdates?: boolean;
  /** The watch does not keep the process alive. */
  watchForUpdatesNonPersistent?: boolean;
  /** Called after each reload. */
  watchForUpdatesHook?: () => void;
}

/** Localised names, by language code ("en", "de", ...). */
export interface Names {
  readonly de?: string;
  readonly en: string;
  readonly es?: string;
  readonly fr?: string;
  readonly ja?: string;
  readonly 'pt-BR'?: string;
  readonly ru?: string;
  readonly 'zh-CN'?: string;
}

export interface CityRecord {
  readonly confidence?: number;
  readonly geoname_id: number;
  readonly names: Names;
}

export interface ContinentRecord {
  readonly code: 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA';
  readonly geoname_id: number;
  readonly names: Names;
}

export interface RegisteredCountryRecord {
  readonly geoname_id: number;
  readonly is_in_european_union?: boolean;
  readonly iso_code: string;
  readonly names: Names;
}

export interface CountryRecord extends RegisteredCountryRecord {
  readonly confidence?: number;
}

export interface LocationRecord {
  readonly accuracy_radius: number;
  readonly average_income?: number;
  readonly latitude: number;
  readonly longitude: number;
  readonly metro_code?: number;
  readonly population_density?: number;
  readonly time_zone?: string;
}

export interface PostalRecord {
  readonly code: string;
  readonly confidence?: number;
}

export interface RepresentedCountryRecord extends RegisteredCountryRecord {
  readonly type: string;
}

export interface SubdivisionsRecord {
  readonly confidence?: number;
  readonly geoname_id: number;
  readonly iso_code: string;
  readonly names: Names;
}

export interface TraitsRecord {
  readonly autonomous_system_number?: number;
  readonly autonomous_system_organization?: string;
  readonly connection_type?: string;
  readonly domain?: string;
  readonly is_anonymous?: boolean;
  readonly is_anonymous_proxy?: boolean;
  readonly is_anonymous_vpn?: boolean;
  readonly is_anycast?: boolean;
  readonly is_hosting_provider?: boolean;
  readonly is_legitimate_proxy?: boolean;
  readonly is_public_proxy?: boolean;
  readonly is_residential_proxy?: boolean;
  readonly is_satellite_provider?: boolean;
  readonly is_tor_exit_node?: boolean;
  readonly isp?: string;
  readonly mobile_country_code?: string;
  readonly mobile_network_code?: string;
  readonly organization?: string;
  readonly static_ip_score?: number;
  readonly user_count?: number;
  readonly user_type?: string;
}

/** A GeoIP2/GeoLite2 Country record. */
export interface CountryResponse {
  readonly continent?: ContinentRecord;
  readonly country?: CountryRecord;
  readonly registered_country?: RegisteredCountryRecord;
  readonly represented_country?: RepresentedCountryRecord;
  readonly traits?: TraitsRecord;
}

/** A GeoIP2/GeoLite2 City record. */
export interface CityResponse extends CountryResponse {
  readonly city?: CityRecord;
  readonly location?: LocationRecord;
  readonly postal?: PostalRecord;
  readonly subdivisions?: SubdivisionsRecord[];
}

/** A GeoLite2 ASN record. */
export interface AsnResponse {
  readonly autonomous_system_number: number;
  readonly autonomous_system_organization: string;
}

/** A GeoIP2 ISP record. */
export interface IspResponse extends AsnResponse {
  readonly isp: string;
  readonly mobile_country_code?: string;
  readonly mobile_network_code?: string;
  readonly organization: string;
}

/** A GeoIP2 Anonymous IP record. */
export interface AnonymousIPResponse {
  readonly is_anonymous?: boolean;
  readonly is_anonymous_vpn?: boolean;
  readonly is_hosting_provider?: boolean;
  readonly is_public_proxy?: boolean;
  readonly is_residential_proxy?: boolean;
  readonly is_tor_exit_node?: boolean;
}

/** A GeoIP2 Connection-Type record. */
export interface ConnectionTypeResponse {
  readonly connection_type: string;
}

/** A GeoIP2 Domain record. */
export interface DomainResponse {
  readonly domain: string;
}

/** Any record of the GeoIP2/GeoLite2 databases. */
export type Response =
  | CountryResponse
  | CityResponse
  | AnonymousIPResponse
  | AsnResponse
  | ConnectionTypeResponse
  | DomainResponse
  | IspResponse;

/** A database reader with the `maxmind` package's Reader API. */
export class Reader<T extends Response = any> {
  /** A database in memory (copied), as mmdb-lib's Reader. */
  constructor(db: Buffer, opts?: { cache?: { max?: number } });
  /** Replace the database with the one in `db` (copied). */
  load(db: Buffer): void;
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
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Opens a .mmdb file. A missing file rejects as fs does (code 'ENOENT', errno, syscall, path);
 *  a damaged one with maxmind's messages ('Cannot parse binary database', the gzip message). */
export function open<T extends Response = any>(path: string, opts?: OpenOpts): Promise<Reader<T>>;
/** Throws maxmind's "changed API" message, as maxmind 5 does. */
export function openSync(): never;
/** Throws maxmind's "changed API" message, as maxmind 5 does. */
export function init(): never;
/** Whether `ip` is a valid IPv4 or IPv6 address. */
export function validate(ip: string): boolean;
/** The module as a default export, like the `maxmind` package's. */
declare const _default: { open: typeof open; openSync: typeof openSync; init: typeof init; validate: typeof validate };
export default _default;
