#!/usr/bin/env node
'use strict';
// Writes realistic sample recipes for the traffic example: offersRecipe.json.gz
// and campaignsRecipe.json.gz, JSON arrays in the shapes co-recipe publishes
// (rule fields as JSON strings). Deterministic for a given --seed.
//
//   node examples/traffic/data/generate.js [--offers 10000] [--campaigns 1000]
//        [--seed 1] [--out examples/traffic/data]
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function args(argv) {
  const out = { offers: 10000, campaigns: 1000, seed: 1, out: __dirname };
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in out)) throw new Error(`generate: unknown option ${argv[i]}`);
    out[key] = key === 'out' ? argv[i + 1] : Number(argv[i + 1]);
  }
  return out;
}

// mulberry32: small, fast, deterministic.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BR', 'MX', 'AU', 'IN', 'JP', 'PL', 'SE', 'TR'];
const REGIONS = { US: ['CA', 'TX', 'NY', 'FL', 'WA'], CA: ['ON', 'QC', 'BC'], GB: ['ENG', 'SCT'], DE: ['BE', 'BY', 'HH'] };
const CITIES = { US: ['Austin', 'New York', 'Seattle', 'Miami', 'Los Angeles'], CA: ['Toronto', 'Montreal'], GB: ['London'] };
const ISPS = ['Comcast', 'AT&T', 'Verizon', 'Charter', 'Vodafone', 'Deutsche Telekom', 'Orange', 'Telefonica', 'BT'];
const OSES = ['iOS', 'Android', 'Windows', 'Mac OS', 'Linux'];
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet', 'Opera'];
const DEVICES = ['mobile', 'desktop', 'tablet'];
const VERTICALS = ['Finance', 'Gaming', 'Dating', 'Nutra', 'Sweepstakes', 'Travel', 'Insurance', 'Education'];
const ADVERTISERS = ['Acme Media', 'Blue Harbor', 'Crestline Digital', 'Dune Labs', 'Evergreen Ads', 'Foxglove', 'Granite'];
const SOURCES = ['facebook', 'google', 'tiktok', 'native', 'push', 'email', 'seo'];

function main() {
  const opt = args(process.argv);
  const r = rng(opt.seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const some = (list, min, max) => {
    const n = min + Math.floor(r() * (max - min + 1));
    const copy = [...list];
    const out = [];
    while (out.length < n && copy.length) out.push(copy.splice(Math.floor(r() * copy.length), 1)[0]);
    return out;
  };
  const day = 86400000;
  const base = Date.UTC(2025, 0, 1);
  const iso = (ms) => new Date(ms).toISOString();

  const offers = [];
  for (let i = 1; i <= opt.offers; i++) {
    const offerId = 30000 + i;
    const advertiser = pick(ADVERTISERS);
    const vertical = pick(VERTICALS);
    const lp = `https://lp.${advertiser.toLowerCase().replace(/[^a-z]+/g, '')}.example/${vertical.toLowerCase()}/${offerId}`;
    // Geo rules: most offers allow-list a few countries, some block a few, some have none.
    const kind = r();
    const geo =
      kind < 0.6
        ? some(COUNTRIES, 1, 5).map((country) => ({ country, include: true }))
        : kind < 0.85
          ? some(COUNTRIES, 1, 3).map((country) => ({ country, include: false }))
          : [];
    const customLp = [];
    for (let k = 0, n = Math.floor(r() * 3); k < n; k++) {
      const dimension = pick(['country', 'os', 'deviceType', 'browser']);
      const value =
        dimension === 'country' ? pick(COUNTRIES) : dimension === 'os' ? pick(OSES) : dimension === 'deviceType' ? pick(DEVICES) : pick(BROWSERS);
      customLp.push({ id: k + 1, dimension, value, lpUrl: `${lp}?variant=${dimension}-${String(value).toLowerCase().replace(/\s+/g, '-')}` });
    }
    const start = base + Math.floor(r() * 300) * day;
    const dated = r() < 0.7;
    // Most windows run for years, so the bundled data stays useful; about one
    // in six is a short campaign that ends within months.
    const days = r() < 0.15 ? 30 + Math.floor(r() * 400) : 3 * 365 + Math.floor(r() * 3 * 365);
    const capped = r() < 0.4;
    offers.push({
      offerId,
      name: `${advertiser} ${vertical} #${i}`,
      status: r() < 0.92 ? 'active' : 'paused',
      advertiserId: 100 + ADVERTISERS.indexOf(advertiser),
      advertiserName: advertiser,
      verticalName: vertical,
      payoutType: r() < 0.7 ? 'CPA' : 'CPC',
      payout: Math.round(r() * 5000) / 100,
      currency: 'USD',
      offerUrl: lp,
      defaultLpUrl: `${lp}?src=default`,
      geoRules: JSON.stringify({ geo }),
      customLpRules: JSON.stringify({ customLPRules: customLp }),
      startEndDateSetting: {
        startEndDate: dated,
        startDate: dated ? iso(start) : null,
        endDate: dated ? iso(start + days * day) : null,
        timezone: 'UTC',
      },
      caps: {
        capEnabled: capped,
        dailyClicks: capped ? 100 * (1 + Math.floor(r() * 50)) : 0,
        monthlyClicks: capped ? 5000 * (1 + Math.floor(r() * 20)) : 0,
        capRedirectUrl: capped ? `${lp}?capped=1` : '',
      },
      createdAt: iso(start - 10 * day),
      updatedAt: iso(start),
    });
  }

  const campaigns = [];
  for (let i = 1; i <= opt.campaigns; i++) {
    const campaignId = i;
    const country = pick(COUNTRIES);
    const rules = [];
    const nRules = Math.floor(r() * 3);
    for (let k = 0; k < nRules; k++) {
      const groups = [];
      for (let g = 0, n = 1 + Math.floor(r() * 2); g < n; g++) {
        const conditions = [];
        for (const dimension of some(['country', 'region', 'city', 'isp', 'os', 'browser', 'deviceType'], 1, 2)) {
          let value;
          if (dimension === 'country') value = r() < 0.5 ? country : some(COUNTRIES, 2, 3);
          else if (dimension === 'region') value = pick(REGIONS[country] || REGIONS.US);
          else if (dimension === 'city') value = pick(CITIES[country] || CITIES.US);
          else if (dimension === 'isp') value = pick(ISPS);
          else if (dimension === 'os') value = pick(OSES);
          else if (dimension === 'browser') value = pick(BROWSERS);
          else value = pick(DEVICES);
          conditions.push({ dimension, value });
        }
        groups.push({ conditions });
      }
      rules.push({ include: k === 0 ? true : r() < 0.5, filterGroups: groups });
    }
    campaigns.push({
      campaignId,
      name: `${pick(SOURCES)}-${country.toLowerCase()}-${i}`,
      status: r() < 0.95 ? 'active' : 'paused',
      affiliateId: 500 + Math.floor(r() * 200),
      trafficSource: pick(SOURCES),
      targetRules: JSON.stringify({ redirectTo: `https://alt.example/c/${campaignId}`, rules }),
      createdAt: iso(base + Math.floor(r() * 300) * day),
    });
  }

  fs.mkdirSync(opt.out, { recursive: true });
  const write = (name, rows) => {
    const file = path.join(opt.out, name);
    fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(rows), { level: 9 }));
    return file;
  };
  const files = [write('offersRecipe.json.gz', offers), write('campaignsRecipe.json.gz', campaigns)];
  for (const f of files) console.log(`${f} ${fs.statSync(f).size} bytes`);
}

main();
