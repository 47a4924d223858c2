// An ES module in TypeScript ("module": "nodenext") that imports hotpath the
// way the README shows; tests/node/esm.test.mjs compiles and runs it.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import hotpath, { GeoReader, ua, blobs, type GeoEnrichment } from 'hotpath';
import maxmind, { type CityResponse } from 'hotpath/maxmind';

const db = process.argv[2];
const geo = new GeoReader(db);
const hit: GeoEnrichment | null = geo.lookup('81.2.69.160');
geo.close();

const reader = await maxmind.open<CityResponse>(db);
const city = reader.get('81.2.69.160');
reader.close();

const agent = ua.parse(
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hotpath-ts-blobs-'));
const store = blobs.open(`sqlite:${path.join(dir, 'store.db')}`);
await store.put('a.txt', 'from TypeScript');
const blob = (await store.get('a.txt')).toString();
store.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    version: hotpath.version,
    country: hit?.countryCode,
    maxmindCountry: city?.country?.iso_code,
    os: agent.os,
    blob,
  }),
);
